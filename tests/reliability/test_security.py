"""Security: loopback-only TCP, no network use at all, nothing read or written outside the workspace folders, no
document text in logs unless `debug.logDocuments` asks for it."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time

import psutil

from .conftest import SCRIPTED_MODEL, scripted_server
from .lsp_process import REPO_ROOT, ServerProcess

# Installed as sitecustomize in the server process: every network-related audit event is appended to a file.
NETWORK_AUDIT_HOOK = '''
import json, os, sys
_EVENTS = {"socket.connect", "socket.getaddrinfo", "socket.gethostbyname", "socket.gethostbyaddr", "socket.sendto",
           "socket.sendmsg", "socket.bind", "urllib.Request", "http.client.connect", "ftplib.connect", "smtplib.connect"}
_LOG = os.environ["NETWORK_AUDIT_LOG"]

def _hook(event, args):
    if event in _EVENTS:
        family = getattr(args[0], "family", None) if args else None
        if family is not None and int(family) == 1:  # AF_UNIX: a local pipe, not the network
            return
        with open(_LOG, "a") as log:
            log.write(json.dumps([event, repr(args[1:])[:200]]) + "\\n")

sys.addaudithook(_hook)
'''


def free_loopback_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_tcp_mode_listens_on_loopback_only():
    port = free_loopback_port()
    process = subprocess.Popen([sys.executable, "-m", "codegen_lsp", "--tcp", "--port", str(port)], cwd=REPO_ROOT,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while not (listening := [c for c in psutil.Process(process.pid).net_connections("inet")
                                 if c.status == psutil.CONN_LISTEN]):
            assert process.poll() is None and time.monotonic() < deadline, process.stderr.read().decode()[-2000:]
            time.sleep(0.1)
        assert {(c.laddr.ip, c.laddr.port) for c in listening} == {("127.0.0.1", port)}
    finally:
        process.kill()
        process.wait()


def test_no_network_access_while_loading_and_completing_with_the_real_runtime(tmp_path, tiny_model):
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(NETWORK_AUDIT_HOOK)
    audit_log = tmp_path / "network.log"
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    uri = (workspace / "example.py").as_uri()
    with ServerProcess(env={"PYTHONPATH": str(site), "NETWORK_AUDIT_LOG": str(audit_log)}) as server:
        assert server.initialize({"model": str(tiny_model), "maxTokens": 4}, workspace)
        assert server.status()["state"] == "ready"
        server.open(uri, "def fibonacci(n):\n    ")
        response = server.wait(server.inline_completion(uri, 1, 4))
        assert "result" in response
        assert server.call("textDocument/codeAction", {
            "textDocument": {"uri": uri}, "range": {"start": {"line": 0, "character": 0},
                                                     "end": {"line": 1, "character": 4}},
            "context": {"diagnostics": []}})["result"]
        assert server.command("codegen.reloadModel")["result"]["state"] == "ready"
    assert audit_log.parent.is_dir()
    events = audit_log.read_text().splitlines() if audit_log.exists() else []
    assert events == []


def test_unopened_documents_are_never_read_from_disk(tmp_path, workspace):
    secret = tmp_path / "outside" / "secret.py"
    secret.parent.mkdir()
    secret.write_text("password = ")  # the scripted model completes "= " whenever it sees it
    traversal = workspace.as_uri() + "/../outside/secret.py"
    with scripted_server(workspace) as server:
        for uri in (secret.as_uri(), traversal):
            inline = server.wait(server.inline_completion(uri, 0, 11))
            assert inline.get("result") in (None, {"items": []}), inline
            completion = server.call("textDocument/completion", {
                "textDocument": {"uri": uri}, "position": {"line": 0, "character": 11}})
            assert "password" not in json.dumps(completion)
            actions = server.call("textDocument/codeAction", {
                "textDocument": {"uri": uri}, "range": {"start": {"line": 0, "character": 0},
                                                         "end": {"line": 0, "character": 11}},
                "context": {"diagnostics": []}})
            assert actions.get("result") in (None, []), actions
            debug = server.command("codegen.debugDocument", uri)
            assert "password" not in json.dumps(debug)
            for command, arguments in (("codegen.generateFromDocstring", [uri, {"line": 0, "character": 0}]),
                                       ("codegen.translate", [uri, {"start": {"line": 0, "character": 0},
                                                                    "end": {"line": 0, "character": 11}}, "go"])):
                assert server.command(command, *arguments).get("result") in (None, False)
        assert server.alive()
        assert not any(r["method"] == "workspace/applyEdit" for r in server.client_requests)


def test_translation_never_writes_outside_the_workspace_folders(tmp_path, workspace):
    capabilities = {"general": {"positionEncodings": ["utf-16"]},
                    "workspace": {"workspaceEdit": {"documentChanges": True,
                                                    "resourceOperations": ["create", "rename", "delete"]}}}
    outside = workspace.as_uri() + "/../escape.py"
    server = ServerProcess(env={"CODEGEN_LSP_FAKE_MODEL": str(SCRIPTED_MODEL)})
    with server:
        server.initialize({"model": str(workspace)}, workspace, capabilities)
        server.open(outside, "def add(a, b):\n    return a + b\n")
        selection = {"start": {"line": 0, "character": 0}, "end": {"line": 2, "character": 0}}
        assert server.command("codegen.translate", outside, selection, "go").get("result") is False
        shown = [n["params"]["message"] for n in server.notifications if n["method"] == "window/showMessage"]
        assert any("outside the workspace" in message for message in shown), shown
        assert not any(r["method"] == "workspace/applyEdit" for r in server.client_requests)
        assert not (tmp_path / "escape.go").exists()


SENTINEL = "zq_sentinel_document_text_94813"


def test_logs_never_contain_document_text_without_the_debug_setting(workspace):
    uri = (workspace / "private.py").as_uri()
    with scripted_server(workspace, options={}, args=("--log-level", "DEBUG")) as server:
        server.open(uri, f"{SENTINEL} = 1\nvalue = ")
        server.notify("textDocument/didChange", {"textDocument": {"uri": uri, "version": 2}, "contentChanges": [
            {"range": {"start": {"line": 1, "character": 8}, "end": {"line": 1, "character": 8}},
             "text": f"{SENTINEL}("}]})
        answer = server.wait(server.inline_completion(uri, 1, 8 + len(SENTINEL) + 1))
        assert answer["result"]["items"], answer  # a real suggestion was made (and could have been logged)
        server.call("textDocument/completion", {"textDocument": {"uri": uri}, "position": {"line": 1, "character": 3}})
        server.call("textDocument/codeAction", {"textDocument": {"uri": uri}, "range": {
            "start": {"line": 0, "character": 0}, "end": {"line": 1, "character": 3}}, "context": {"diagnostics": []}})
        assert server.command("codegen.debugDocument", uri)["error"]["code"] == -32602  # refused: the setting is off
        server.notify("textDocument/unknownNotification", {"text": SENTINEL})
        server.call("textDocument/unknownRequest", {"text": SENTINEL})
        server.notify("textDocument/didOpen", {"textDocument": {"uri": 5, "text": SENTINEL}})  # malformed
        server.status()
    logged = server.stderr_text() + json.dumps([n for n in server.notifications if n["method"] != "$/progress"])
    assert "generation:" in logged or "Sending data" in logged  # the debug log was really on
    assert SENTINEL not in logged
