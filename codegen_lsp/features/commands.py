"""workspace/executeCommand: codegen.reloadModel, codegen.status, codegen.toggle, codegen.debugDocument."""

from __future__ import annotations

from pygls.exceptions import JsonRpcInvalidParams

from ..core import CodegenServer

RELOAD_MODEL = "codegen.reloadModel"
STATUS = "codegen.status"
TOGGLE = "codegen.toggle"
DEBUG_DOCUMENT = "codegen.debugDocument"


async def reload_model(server: CodegenServer, *_) -> dict:
    await server.reload_model()
    return server.status()


def status(server: CodegenServer, *_) -> dict:
    return server.status()


def toggle(server: CodegenServer, *_) -> dict:
    return {"enabled": server.toggle()}


def debug_document(server: CodegenServer, uri: str) -> dict:
    """The server's copy of a document (to check sync); only with the `debug.logDocuments` setting on."""
    if not server.settings.debug.log_documents:
        raise JsonRpcInvalidParams("codegen.debugDocument needs the setting codegen.debug.logDocuments = true")
    document = server.open_document(uri)
    if document is None:
        raise JsonRpcInvalidParams(f"{uri} is not open in the editor: codegen.debugDocument only shows open documents")
    return {"text": document.source}
