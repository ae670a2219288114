"""The Emacs (eglot) and Vim (ALE) configs in editors/ as real clients: batch Emacs and Ex-mode Vim start the real
server with the tiny model, check the settings reached it, and get the model's suggestion through the client's own
completion path. Debian packages: emacs + elpa-eglot, vim + vim-ale (scripts/install-test-editors.sh --apt)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).parent
EDITORS = HERE.parents[1] / "editors"
ALE = Path("/usr/share/vim-ale")
EGLOT = Path("/usr/share/emacs/site-lisp/elpa-src")
RUN_TIMEOUT_S = 60
TEST_FILE = 'def add(a, b):\n    """Return the sum of a and b."""\n    return a + b\n'


def require(binary: str, package_folder: Path, glob: str, package: str) -> str:
    path = shutil.which(binary)
    if path is None or not any(package_folder.glob(glob)):
        pytest.skip(f"{binary} or Debian's {package} is not installed: scripts/install-test-editors.sh --apt")
    return path


def project(tmp_path: Path) -> dict[str, str]:
    """A git project with one Python file, and the environment every client test gets."""
    root = tmp_path / "project"
    root.mkdir()
    (root / "main.py").write_text(TEST_FILE)
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    return {"HOME": str(tmp_path), "TMPDIR": str(tmp_path), "CODEGEN_TEST_PYTHON": sys.executable,
            "CODEGEN_TEST_FILE": str(root / "main.py")}


def run(command: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(command, env={**os.environ, **env}, capture_output=True, text=True, timeout=RUN_TIMEOUT_S,
                          stdin=subprocess.DEVNULL)


def test_emacs_eglot_config(tmp_path, tiny_model):
    emacs = require("emacs", EGLOT, "eglot-*", "elpa-eglot")
    env = {**project(tmp_path), "CODEGEN_TEST_MODEL": str(tiny_model),
           "CODEGEN_TEST_CONFIG": str(EDITORS / "emacs" / "codegen-lsp.el")}
    completed = run([emacs, "--batch", "-l", str(HERE / "emacs_test.el")], env)
    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, output
    assert "ok - completion-at-point offers the model's suggestion" in output


def test_vim_ale_config(tmp_path, tiny_model):
    vim = require("vim", ALE, "plugin/ale.vim", "vim-ale")
    results = tmp_path / "results.txt"
    env = {**project(tmp_path), "CODEGEN_TEST_MODEL": str(tiny_model), "CODEGEN_TEST_ALE": str(ALE),
           "CODEGEN_TEST_CONFIG": str(EDITORS / "vim" / "codegen_lsp.vim"), "CODEGEN_TEST_OUTPUT": str(results)}
    completed = run([vim, "-N", "-u", "NONE", "-i", "NONE", "-es", "-S", str(HERE / "vim_test.vim")], env)
    output = results.read_text() if results.exists() else completed.stdout + completed.stderr
    assert completed.returncode == 0, output
    assert "ok - ALE completion offers the model's suggestion" in output
