"""initialize, initialized, configuration changes and closed documents: the server's state over its life."""

from __future__ import annotations

import asyncio

from lsprotocol import types

from .. import notify
from ..core import CodegenServer
from ..settings import SECTION, mentions_settings

CONFIGURATION_TIMEOUT_S = 5.0


def initialize(server: CodegenServer, params: types.InitializeParams) -> None:
    """Read initializationOptions; the model loads later, in the background (initialize answers at once)."""
    server.apply_settings(params.initialization_options)


async def initialized(server: CodegenServer, params: types.InitializedParams) -> None:
    """Start loading the model in the background, after pulling `workspace/configuration` if the client has it."""
    asyncio.ensure_future(_pull_configuration_and_load(server))


async def _pull_configuration_and_load(server: CodegenServer) -> None:
    await _pull_configuration(server)
    await server.reload_model()


async def _pull_configuration(server: CodegenServer) -> bool:
    """Ask the client for section `codegen`; returns whether the model must be reloaded."""
    workspace = server.client_capabilities.workspace
    if workspace is None or not workspace.configuration:
        return False
    params = types.ConfigurationParams(items=[types.ConfigurationItem(section=SECTION)])
    try:
        answer = await asyncio.wait_for(server.workspace_configuration_async(params), CONFIGURATION_TIMEOUT_S)
    except Exception as error:
        notify.log(server, f"workspace/configuration failed ({error!r}); keeping the current settings",
                   types.MessageType.Warning)
        return False
    if not answer or answer[0] is None:
        return False
    return server.apply_settings(answer[0])


async def did_change_configuration(server: CodegenServer, params: types.DidChangeConfigurationParams) -> None:
    """Settings pushed by the client (section `codegen`), or pulled when it sends none."""
    if mentions_settings(params.settings):
        must_reload = server.apply_settings(params.settings)
    else:
        must_reload = await _pull_configuration(server)
    if must_reload:
        await server.reload_model()


def did_close(server: CodegenServer, params: types.DidCloseTextDocumentParams) -> None:
    server.cache.forget(params.text_document.uri)
