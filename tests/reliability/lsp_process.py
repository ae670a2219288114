"""A raw LSP client over a real server process's stdio: frames bytes itself, so tests can also send garbage.

Every message the server writes is recorded: responses by request id (to check that each request gets exactly
one), notifications in order. Requests the server sends to the client are answered at once (configuration:
none, progress tokens: accepted, edits: applied), as an editor would.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import psutil

REPO_ROOT = Path(__file__).resolve().parents[2]
SERVER = [sys.executable, "-m", "codegen_lsp"]
RESPONSE_TIMEOUT_S = 60.0
READY_TIMEOUT_S = 120.0
# Server -> client requests and what an accommodating editor answers.
CLIENT_ANSWERS = {
    "workspace/configuration": [None],
    "window/workDoneProgress/create": None,
    "workspace/applyEdit": {"applied": True},
    "window/showDocument": {"success": True},
    "client/registerCapability": None,
}


def frame(message: dict | bytes) -> bytes:
    """A message with its Content-Length header (bytes are framed as they are)."""
    body = message if isinstance(message, bytes) else json.dumps(message).encode("utf-8")
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


class ServerProcess:
    """`python -m codegen_lsp` on pipes, with a reader thread collecting what it writes."""

    def __init__(self, env: dict[str, str] | None = None, args: tuple[str, ...] = ()) -> None:
        environment = {key: value for key, value in os.environ.items() if key != "CODEGEN_LSP_FAKE_MODEL"}
        self.process = subprocess.Popen([*SERVER, *args], cwd=REPO_ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, env={**environment, **(env or {})})
        self.responses: dict[str, list[dict]] = defaultdict(list)  # by the JSON of the id ("null" for none)
        self.notifications: list[dict] = []
        self.client_requests: list[dict] = []
        self.stderr = bytearray()
        self._ids = itertools.count(1)
        self._changed = threading.Condition()
        self._write_lock = threading.Lock()
        threading.Thread(target=self._read_stdout, daemon=True).start()
        threading.Thread(target=self._read_stderr, daemon=True).start()

    # Writing

    def send_bytes(self, data: bytes) -> None:
        with self._write_lock:
            self.process.stdin.write(data)
            self.process.stdin.flush()

    def send(self, message: dict) -> None:
        self.send_bytes(frame({"jsonrpc": "2.0", **message}))

    def notify(self, method: str, params: Any = None) -> None:
        self.send({"method": method, "params": params})

    def request(self, method: str, params: Any = None) -> int:
        """Send a request without waiting; returns its id."""
        request_id = next(self._ids)
        self.send({"id": request_id, "method": method, "params": params})
        return request_id

    def cancel(self, request_id: int) -> None:
        self.notify("$/cancelRequest", {"id": request_id})

    def open(self, uri: str, text: str, language: str = "python", version: int = 1) -> None:
        self.notify("textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": language, "version": version,
                                                              "text": text}})

    def inline_completion(self, uri: str, line: int, character: int) -> int:
        """Send textDocument/inlineCompletion (automatic trigger) without waiting; returns its id."""
        return self.request("textDocument/inlineCompletion", {
            "textDocument": {"uri": uri}, "position": {"line": line, "character": character},
            "context": {"triggerKind": 2}})

    # Reading

    def wait(self, request_id: Any, timeout: float = RESPONSE_TIMEOUT_S) -> dict:
        """The (first) response to ``request_id``; AssertionError when none comes or the server died."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not self.responses.get(json.dumps(request_id)):
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self.process.poll() is not None:
                    raise AssertionError(f"no response to request {request_id} (server exit code "
                                         f"{self.process.poll()}); stderr tail: {self.stderr_text()[-2000:]}")
                self._changed.wait(min(remaining, 0.5))
            return self.responses[json.dumps(request_id)][0]

    def call(self, method: str, params: Any = None, timeout: float = RESPONSE_TIMEOUT_S) -> dict:
        """Send a request and wait for its response (the whole JSON-RPC message)."""
        return self.wait(self.request(method, params), timeout)

    def result(self, method: str, params: Any = None) -> Any:
        """The result of a request that must succeed."""
        response = self.call(method, params)
        assert "error" not in response, response
        return response["result"]

    def command(self, command: str, *arguments: Any) -> dict:
        return self.call("workspace/executeCommand", {"command": command, "arguments": list(arguments)})

    def stderr_text(self) -> str:
        return self.stderr.decode("utf-8", "replace")

    def _read_stdout(self) -> None:
        stream = self.process.stdout
        while True:
            length = None
            while (line := stream.readline()) not in (b"\r\n", b""):
                name, _, value = line.decode("ascii").partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value)
            if not line or length is None:
                return
            self._received(json.loads(stream.read(length)))

    def _received(self, message: dict) -> None:
        if "method" in message and "id" in message:
            self.client_requests.append(message)
            self.send({"id": message["id"], "result": CLIENT_ANSWERS.get(message["method"])})
            return
        with self._changed:
            if "method" in message:
                self.notifications.append(message)
            else:
                self.responses[json.dumps(message.get("id"))].append(message)
            self._changed.notify_all()

    def _read_stderr(self) -> None:
        while chunk := self.process.stderr.read1(65536):
            self.stderr += chunk

    # Life

    def initialize(self, options: dict, workspace: Path | None = None, capabilities: dict | None = None) -> dict:
        """initialize + initialized with ``options`` as initializationOptions; waits until the model is loaded."""
        root = workspace.as_uri() if workspace else None
        folders = [{"uri": root, "name": "workspace"}] if root else None
        result = self.result("initialize", {
            "processId": os.getpid(), "rootUri": root, "workspaceFolders": folders,
            "capabilities": capabilities or {"general": {"positionEncodings": ["utf-16"]}},
            "initializationOptions": options})
        self.notify("initialized", {})
        self.wait_until_loaded()
        return result

    def wait_until_loaded(self) -> dict:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while (status := self.status())["state"] in ("idle", "loading"):
            assert time.monotonic() < deadline, f"model still {status['state']} after {READY_TIMEOUT_S} s"
            time.sleep(0.05)
        return status

    def status(self) -> dict:
        return self.command("codegen.status")["result"]

    def alive(self) -> bool:
        return self.process.poll() is None

    def rss_bytes(self) -> int:
        return psutil.Process(self.process.pid).memory_info().rss

    def stop(self) -> int:
        """shutdown + exit (killing it if it does not go); returns the exit code."""
        if self.alive():
            try:
                self.call("shutdown", timeout=10)
                self.notify("exit")
                return self.process.wait(timeout=10)
            except (AssertionError, OSError, subprocess.TimeoutExpired):
                pass
        self.process.kill()
        return self.process.wait()

    def __enter__(self) -> "ServerProcess":
        return self

    def __exit__(self, *_) -> None:
        self.stop()
