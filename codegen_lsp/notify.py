"""The error policy: every problem is logged (window/logMessage); those the user must act on are also shown
once (window/showMessage). Messages are one line naming the problem and the fix."""

from __future__ import annotations

import logging

from lsprotocol import types
from pygls.lsp.server import LanguageServer

logger = logging.getLogger("codegen_lsp")


def log(server: LanguageServer, message: str, kind: types.MessageType = types.MessageType.Info) -> None:
    """Write ``message`` to the client's log and to the server's own log."""
    logger.log(logging.ERROR if kind == types.MessageType.Error else logging.INFO, message)
    server.window_log_message(types.LogMessageParams(type=kind, message=f"codegen: {message}"))


def show(server: LanguageServer, message: str, kind: types.MessageType = types.MessageType.Error) -> None:
    """Show ``message`` to the user and log it."""
    log(server, message, kind)
    server.window_show_message(types.ShowMessageParams(type=kind, message=f"codegen: {message}"))
