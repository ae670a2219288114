"""The VS Code extension (editors/vscode): offline build (npm ci, tsc, vsce package), its unit tests (node's test
runner), and its contributed settings against the server's own settings and defaults."""

from __future__ import annotations

import json
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from codegen_lsp.settings import Settings, to_wire

EXTENSION = Path(__file__).resolve().parents[2] / "editors" / "vscode"
VSIX = EXTENSION / "codegen-lsp.vsix"
CLIENT_ONLY_SETTINGS = {"server.command", "server.pythonPath", "training.command", "trace.server"}
NPM_TIMEOUT_S = 300


def npm(*args: str) -> str:
    completed = subprocess.run(["npm", *args], cwd=EXTENSION, capture_output=True, text=True, timeout=NPM_TIMEOUT_S,
                               stdin=subprocess.DEVNULL)
    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, f"npm {' '.join(args)} failed:\n{output}"
    return output


@pytest.fixture(scope="module")
def built() -> None:
    """The extension compiled, with its npm dependencies as package-lock.json pins them (npm ci when stale)."""
    if shutil.which("npm") is None:
        pytest.skip("npm is not installed (apt-get install nodejs npm)")
    lock, installed_lock = EXTENSION / "package-lock.json", EXTENSION / "node_modules" / ".package-lock.json"
    if not installed_lock.exists() or installed_lock.stat().st_mtime < lock.stat().st_mtime:
        npm("ci", "--no-audit", "--no-fund")
    npm("run", "build")


def contributed_settings() -> dict:
    properties = json.loads((EXTENSION / "package.json").read_text())["contributes"]["configuration"]["properties"]
    return {key.removeprefix("codegen."): value for key, value in properties.items()}


def wire_value(wire: dict, dotted: str):
    for part in dotted.split("."):
        wire = wire[part]
    return wire


def test_contributed_settings_mirror_the_server_keys_and_defaults():
    wire = to_wire(Settings())
    server_keys = {key for key in contributed_settings() if key not in CLIENT_ONLY_SETTINGS}
    top_level = {key.split(".")[0] for key in server_keys}
    assert top_level == set(wire), "every server setting (and only those) is contributed"
    for key in server_keys:
        default = contributed_settings()[key]["default"]
        assert default == json.loads(json.dumps(wire_value(wire, key))), f"codegen.{key} default"


def test_settings_translation_lists_every_contributed_server_key():
    source = (EXTENSION / "src" / "settings.ts").read_text()
    keys = source.split("SERVER_SETTING_KEYS = [", 1)[1].split("]", 1)[0]
    listed = {key.strip().strip('"') for key in keys.split(",") if key.strip()}
    assert listed == {key for key in contributed_settings() if key not in CLIENT_ONLY_SETTINGS}


def test_unit_tests_pass(built):
    output = npm("run", "unit")
    assert "# fail 0" in output and "# pass " in output, output


def test_packages_a_vsix(built):
    VSIX.unlink(missing_ok=True)
    npm("run", "vsix")
    with zipfile.ZipFile(VSIX) as archive:
        names = set(archive.namelist())
        manifest = json.loads(archive.read("extension/package.json"))
    assert {"extension/out/extension.js", "extension/out/client.js", "extension/out/settings.js"} <= names
    assert "extension/node_modules/vscode-languageclient/package.json" in names
    assert not any(name.startswith(("extension/src/", "extension/out/test/")) for name in names), "no sources, tests"
    assert manifest["main"] == "./out/extension.js"
