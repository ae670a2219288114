;;; emacs_test.el --- editors/emacs/codegen-lsp.el end to end in batch Emacs with eglot  -*- lexical-binding: t; -*-
;; Environment: CODEGEN_TEST_CONFIG (the .el), CODEGEN_TEST_PYTHON, CODEGEN_TEST_MODEL, CODEGEN_TEST_FILE.
;; Prints "ok - ..." lines; exits 0 on success, 1 on failure.

(defun codegen-test-check (condition what)
  (unless condition
    (princ (format "FAILED: %s\n" what))
    (kill-emacs 1))
  (princ (format "ok - %s\n" what)))

(defun codegen-test-wait (what predicate)
  "Poll PREDICATE until it returns non-nil (returned) or fail after 30 s."
  (let ((deadline (+ (float-time) 30)) value)
    (while (and (not (setq value (funcall predicate))) (< (float-time) deadline))
      (accept-process-output nil 0.05))
    (codegen-test-check value what)
    value))

(condition-case error
    (progn
      (setq codegen-lsp-command (list (getenv "CODEGEN_TEST_PYTHON") "-m" "codegen_lsp"))
      (setq codegen-lsp-settings (list :model (getenv "CODEGEN_TEST_MODEL") :device "cpu" :maxTokens 8))
      (load (getenv "CODEGEN_TEST_CONFIG"))
      (find-file (getenv "CODEGEN_TEST_FILE"))
      (codegen-test-check (eq major-mode 'python-mode) "the file opens in python-mode")
      (apply #'eglot (eglot--guess-contact))
      (codegen-test-wait "eglot connects to codegen-lsp" #'eglot-current-server)
      (codegen-test-wait "the model to load"
                         (lambda () (member (plist-get (codegen-lsp-execute "codegen.status") :state)
                                            '("ready" "failed"))))
      (let ((status (codegen-lsp-execute "codegen.status")))
        (codegen-test-check (equal (plist-get status :state) "ready") "the server loads the model")
        (codegen-test-check (equal (plist-get status :model) (getenv "CODEGEN_TEST_MODEL"))
                            "the settings reach the server (model path)"))
      (goto-char (point-max))
      (insert "\ndef mul(x, y):\n    return ")
      (let* ((capf (eglot-completion-at-point))
             (candidates (and capf (all-completions "" (nth 2 capf)))))
        (codegen-test-check (and candidates (> (length (car candidates)) 0))
                            "completion-at-point offers the model's suggestion"))
      (kill-emacs 0))
  (error (princ (format "FAILED: %S\n" error)) (kill-emacs 1)))
