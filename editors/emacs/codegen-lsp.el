;;; codegen-lsp.el --- codegen-lsp (local code completion) through eglot  -*- lexical-binding: t; -*-

;; Completion from your local model (completion-at-point, e.g. M-TAB or company/corfu), its code actions
;; (M-x eglot-code-actions) and commands.  Set the two variables, then load this file:
;;   (setq codegen-lsp-command '("/path/to/venv/bin/codegen-lsp"))
;;   (setq codegen-lsp-settings '(:model "~/models/mine" :device "auto"))
;;   (load "/path/to/codegen-lsp/editors/emacs/codegen-lsp.el")
;; then M-x eglot in a Python (or other listed mode) buffer, or (add-hook 'python-mode-hook #'eglot-ensure).

;;; Code:

(require 'eglot)

(defvar codegen-lsp-command '("codegen-lsp")
  "The server command, a list.")

(defvar codegen-lsp-settings '()
  "Server settings: a plist of the `codegen' section keys, e.g. (:model \"~/m\" :maxTokens 32).
Sent as initializationOptions and answered to workspace/configuration.")

(defvar codegen-lsp-modes
  '(python-mode js-mode typescript-mode java-mode go-mode rust-mode c-mode c++-mode)
  "The major modes served by codegen-lsp.")

(defun codegen-lsp--contact (&rest _)
  "The eglot contact: the command with the settings as initializationOptions."
  (append codegen-lsp-command (list :initializationOptions (or codegen-lsp-settings eglot--{}))))

(add-to-list 'eglot-server-programs (cons codegen-lsp-modes #'codegen-lsp--contact))
(setq-default eglot-workspace-configuration
              (plist-put (copy-sequence (default-value 'eglot-workspace-configuration))
                         :codegen codegen-lsp-settings))

(defun codegen-lsp-execute (command)
  "Run server COMMAND (e.g. \"codegen.status\") and return its answer."
  (jsonrpc-request (eglot--current-server-or-lose) :workspace/executeCommand (list :command command)))

(defun codegen-lsp-status ()
  "Show the server's state, model and device."
  (interactive)
  (let ((status (codegen-lsp-execute "codegen.status")))
    (message "codegen: %s, model %s, device %s"
             (plist-get status :state) (plist-get status :model) (plist-get status :device))))

(defun codegen-lsp-toggle ()
  "Turn completion on or off."
  (interactive)
  (message "codegen: completion %s"
           (if (eq (plist-get (codegen-lsp-execute "codegen.toggle") :enabled) t) "on" "off")))

(defun codegen-lsp-reload-model ()
  "Reload the model (after fine-tuning, or a change of the model setting)."
  (interactive)
  (codegen-lsp-execute "codegen.reloadModel")
  (codegen-lsp-status))

(provide 'codegen-lsp)
;;; codegen-lsp.el ends here
