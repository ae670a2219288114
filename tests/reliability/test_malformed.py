"""Malformed traffic written as raw bytes to a real server's stdin: each gets the JSON-RPC/LSP error the specs
name (or is ignored where they say so), and the next valid request is still served."""

from __future__ import annotations

import json
import time

import pytest

from .conftest import SCRIPTED_MODEL, scripted_server
from .figures import record
from .lsp_process import ServerProcess, frame

PARSE_ERROR, INVALID_REQUEST, METHOD_NOT_FOUND, INVALID_PARAMS = -32700, -32600, -32601, -32602
SERVER_NOT_INITIALIZED = -32002
INVALID_PARAMS = -32602
QUIET_S = 0.5  # how long to listen for an answer that must not come


@pytest.fixture(scope="module")
def shared_server(tmp_path_factory):
    workspace = tmp_path_factory.mktemp("workspace")
    with scripted_server(workspace) as server:
        yield server, workspace


def still_serving(server: ServerProcess) -> None:
    assert server.status()["state"] == "ready"
    assert server.alive()


def null_id_errors(server: ServerProcess) -> list[int]:
    return [answer["error"]["code"] for answer in server.responses.get("null", [])]


def request_bytes(request_id: int, method: str, params) -> bytes:
    return json.dumps({"jsonrpc": "2.0", "id": request_id, "method": method, "params": params}).encode()


@pytest.mark.parametrize("body", [b'{"jsonrpc": "2.0", "id": 1, "method": ', b"\xff\xfe\x00binary", b"[1, 2",
                                  "{\"jsonrpc\": \"2.0\", \"method\": \"caf\u00e9\"".encode("latin-1")])
def test_a_body_that_is_not_json_is_answered_parse_error(shared_server, body):
    server, _ = shared_server
    before = len(null_id_errors(server))
    server.send_bytes(frame(body))
    still_serving(server)
    assert null_id_errors(server)[before:] == [PARSE_ERROR]


def served_again(server: ServerProcess) -> None:
    """The next message is served; when a too long Content-Length swallowed the start of it, the one after it."""
    still_serving(server)


def test_a_content_length_too_short_or_too_long_loses_only_that_message(shared_server):
    server, _ = shared_server
    shutdown = request_bytes(7001, "shutdown", None)
    server.send_bytes(b"Content-Length: 5\r\n\r\n" + shutdown)  # the rest of the body reads as a header line
    served_again(server)
    assert '7001' not in server.responses  # the truncated shutdown was not executed
    body = request_bytes(7002, "workspace/executeCommand", {"command": "codegen.status"})
    server.send_bytes(b"Content-Length: %d\r\n\r\n" % (len(body) + 40) + body + b" " * 40)  # padded: still JSON
    assert server.wait(7002)["result"]["state"] == "ready"
    server.send_bytes(b"Content-Length: %d\r\n\r\n" % (len(body) + 30) + body)  # swallows the next message's start
    swallowed = server.request("workspace/executeCommand", {"command": "codegen.status"})
    still_serving(server)
    assert json.dumps(swallowed) not in server.responses
    assert null_id_errors(server)[-2:] == [PARSE_ERROR, PARSE_ERROR]


@pytest.mark.parametrize("header", [b"Content-Length: banana\r\n\r\n", b"Content-Type: text/plain\r\n\r\n",
                                    b"\r\n\r\n\r\n", b"no header at all\n"])
def test_junk_headers_are_skipped(shared_server, header):
    server, _ = shared_server
    server.send_bytes(header)
    still_serving(server)


def test_unknown_methods_get_method_not_found_and_unknown_notifications_are_ignored(shared_server):
    server, _ = shared_server
    assert server.call("codegen/noSuchRequest", {"x": 1})["error"]["code"] == METHOD_NOT_FOUND
    server.notify("codegen/noSuchNotification", {"x": 1})
    server.notify("$/noSuchProtocolNotification", {})
    still_serving(server)


@pytest.mark.parametrize("method, params", [
    ("textDocument/inlineCompletion", {"textDocument": {"uri": 5}, "position": "abc"}),
    ("textDocument/inlineCompletion", {"textDocument": {"uri": "file:///a.py"}, "position": {"line": -1}}),
    ("textDocument/completion", None),
    ("textDocument/completion", [1, 2, 3]),
    ("textDocument/codeAction", {"textDocument": {"uri": "file:///a.py"}, "range": {}}),
    ("workspace/executeCommand", {"command": 42}),
    ("workspace/executeCommand", {"command": "codegen.translate", "arguments": ["only one"]}),
    ("workspace/executeCommand", {"command": "codegen.noSuchCommand"}),
])
def test_params_of_the_wrong_types_get_invalid_params(shared_server, method, params):
    server, _ = shared_server
    assert server.call(method, params)["error"]["code"] == INVALID_PARAMS
    still_serving(server)


def test_notifications_with_wrong_params_are_ignored(shared_server):
    server, _ = shared_server
    for params in ({"textDocument": {"uri": 7}}, None, {"textDocument": {"uri": "file:///never-opened.py",
                                                                         "version": 2},
                                                        "contentChanges": [{"text": "x"}]}):
        server.notify("textDocument/didOpen", params)
        server.notify("textDocument/didChange", params)
        server.notify("textDocument/didClose", params)
    still_serving(server)


@pytest.mark.parametrize("request_id", [[1], {"a": 1}, None, True])
def test_a_request_id_that_is_not_a_number_or_string_gets_invalid_request(shared_server, request_id):
    server, _ = shared_server
    before = len(null_id_errors(server))
    server.send({"id": request_id, "method": "workspace/executeCommand", "params": {"command": "codegen.status"}})
    still_serving(server)
    assert null_id_errors(server)[before:] == [INVALID_REQUEST]


def test_huge_documents_long_lines_and_binary_content_are_served(shared_server):
    server, workspace = shared_server
    cases = {
        "huge.py": "x = 1\n" * (10_000_000 // 6) + "total = ",  # 10 MB
        "long_line.py": "values = [" + "1, " * 300_000 + "(",  # one 900 kB line
        "binary.py": "\x00\x01\x02\ufffe\ud800 = " + bytes(range(32)).decode("latin-1") + "total = ",
    }
    for name, text in cases.items():
        uri = (workspace / name).as_uri()
        server.open(uri, text)
        lines = text.split("\n")
        answer = server.wait(server.inline_completion(uri, len(lines) - 1, len(lines[-1].encode("utf-16-le")) // 2))
        assert "error" not in answer, answer
        assert server.command("codegen.debugDocument", uri)["result"]["text"] == text
        server.notify("textDocument/didClose", {"textDocument": {"uri": uri}})
    still_serving(server)
    record("largest document (MB)", round(len(cases["huge.py"]) / 1e6, 1))


def test_requests_before_initialize_get_server_not_initialized(workspace):
    with ServerProcess(env={"CODEGEN_LSP_FAKE_MODEL": str(SCRIPTED_MODEL)}) as server:
        early = server.inline_completion("file:///a.py", 0, 0)
        status = server.request("workspace/executeCommand", {"command": "codegen.status"})
        server.open((workspace / "early.py").as_uri(), "opened too early")  # dropped, as the spec says
        assert server.wait(early)["error"]["code"] == SERVER_NOT_INITIALIZED
        assert server.wait(status)["error"]["code"] == SERVER_NOT_INITIALIZED
        server.initialize({"model": str(workspace), "debug": {"logDocuments": True}}, workspace)
        assert server.command("codegen.debugDocument", (workspace / "early.py").as_uri())["error"]["code"] == INVALID_PARAMS
        still_serving(server)
        time.sleep(QUIET_S)
        assert all(len(answers) == 1 for answers in server.responses.values())
