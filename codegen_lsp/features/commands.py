"""workspace/executeCommand: codegen.reloadModel, codegen.status, codegen.toggle."""

from __future__ import annotations

from ..core import CodegenServer

RELOAD_MODEL = "codegen.reloadModel"
STATUS = "codegen.status"
TOGGLE = "codegen.toggle"


async def reload_model(server: CodegenServer, *_) -> dict:
    await server.reload_model()
    return server.status()


def status(server: CodegenServer, *_) -> dict:
    return server.status()


def toggle(server: CodegenServer, *_) -> dict:
    return {"enabled": server.toggle()}
