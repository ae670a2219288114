"""pygls' LSP protocol, made to answer every request as the JSON-RPC and LSP specs say.

pygls left these requests without any response (a client waits for them forever):
- a request before `initialize`: now error -32002 (ServerNotInitialized); notifications then are dropped;
- a request whose params do not fit the method's types: now -32602 (InvalidParams) with the request's id;
- a request whose id is neither a number nor a string: now -32600 (InvalidRequest).
Bodies that are not JSON get -32700 (ParseError): see CodegenServer.report_server_error. After a wrong
Content-Length, reading resumes at the next header (ResyncingInput).
It also puts an LspWorkspace (documents with the LSP's line rules) in place of pygls' Workspace.
"""

from __future__ import annotations

import logging
from typing import Any, BinaryIO

from lsprotocol import types
from pygls.exceptions import (JsonRpcException, JsonRpcInvalidParams, JsonRpcInvalidRequest,
                              JsonRpcServerNotInitialized)
from pygls.protocol import LanguageServerProtocol, lsp_method

from .documents import LspWorkspace

logger = logging.getLogger("codegen_lsp")
INVALID_ID = JsonRpcInvalidRequest("a request id must be a number or a string")
ANSWERED = object()  # a message that was answered with an error while it was read: nothing more to do


class CodegenProtocol(LanguageServerProtocol):
    initialized = False

    @lsp_method(types.INITIALIZE)
    def lsp_initialize(self, params: types.InitializeParams):
        result = yield from super().lsp_initialize(params)
        workspace = self._workspace
        self._workspace = LspWorkspace(workspace.root_uri, workspace._sync_kind, list(workspace.folders.values()),
                                       workspace.position_encoding)
        self.initialized = True
        return result

    def structure_message(self, data: dict[str, Any]):
        """A request that cannot be read as its method's params is answered InvalidParams at once."""
        try:
            return super().structure_message(data)
        except JsonRpcException:
            if "jsonrpc" not in data or "method" not in data or "id" not in data:
                raise  # not a request: nobody waits for an answer (pygls logs it)
            if not _valid_id(data["id"]):
                self._send_response(None, error=INVALID_ID.to_response_error())
                return ANSWERED
            logger.warning("invalid params for %s (request %s): answered InvalidParams", data["method"], data["id"])
            self._send_response(data["id"], error=JsonRpcInvalidParams(
                f"invalid params for {data['method']}: they do not match the LSP types").to_response_error())
            return ANSWERED

    def handle_message(self, message: Any) -> None:
        if message is ANSWERED:
            return
        method, request_id = getattr(message, "method", None), getattr(message, "id", None)
        is_request = method is not None and hasattr(message, "id")
        if is_request and not _valid_id(request_id):
            self._send_response(None, error=INVALID_ID.to_response_error())
            return
        if not self.initialized and method not in (types.INITIALIZE, types.EXIT):
            if is_request:
                self._send_response(request_id, error=JsonRpcServerNotInitialized(
                    f"{method} before initialize: send initialize first").to_response_error())
            return
        super().handle_message(message)


def _valid_id(request_id: Any) -> bool:
    return isinstance(request_id, (int, str)) and not isinstance(request_id, bool)


class ResyncingInput:
    """The server's stdin. After a wrong Content-Length the rest of a message (no line end) and the next header
    arrive as one line, which pygls skips, losing that next message too; here such a line starts at its last
    `Content-Length:`, so the framing recovers at once."""

    HEADER = b"Content-Length:"

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream

    def readline(self) -> bytes:
        line = self._stream.readline()
        start = line.rfind(self.HEADER)
        if start > 0:
            logger.warning("skipped %d bytes of a broken message before a header", start)
            return line[start:]
        return line

    def read(self, size: int) -> bytes:
        return self._stream.read(size)
