"""The one place where LSP features are registered: each is a thin function delegating to features/<feature>.py."""

from __future__ import annotations

from lsprotocol import types

from .core import CodegenServer
from .features import code_actions, commands, completion, inline_completion, lifecycle


def create_server() -> CodegenServer:
    server = CodegenServer()

    @server.feature(types.INITIALIZE)
    def on_initialize(ls: CodegenServer, params: types.InitializeParams):
        return lifecycle.initialize(ls, params)

    @server.feature(types.INITIALIZED)
    async def on_initialized(ls: CodegenServer, params: types.InitializedParams):
        return await lifecycle.initialized(ls, params)

    @server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
    async def on_did_change_configuration(ls: CodegenServer, params: types.DidChangeConfigurationParams):
        return await lifecycle.did_change_configuration(ls, params)

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def on_did_close(ls: CodegenServer, params: types.DidCloseTextDocumentParams):
        return lifecycle.did_close(ls, params)

    @server.feature(types.TEXT_DOCUMENT_INLINE_COMPLETION, inline_completion.OPTIONS)
    async def on_inline_completion(ls: CodegenServer, params: types.InlineCompletionParams):
        return await inline_completion.inline_completion(ls, params)

    @server.feature(types.TEXT_DOCUMENT_COMPLETION, completion.OPTIONS)
    async def on_completion(ls: CodegenServer, params: types.CompletionParams):
        return await completion.completion(ls, params)

    @server.feature(types.TEXT_DOCUMENT_CODE_ACTION, code_actions.OPTIONS)
    def on_code_action(ls: CodegenServer, params: types.CodeActionParams):
        return code_actions.code_actions(ls, params)

    @server.feature(types.CODE_ACTION_RESOLVE)
    async def on_code_action_resolve(ls: CodegenServer, params: types.CodeAction):
        return await code_actions.resolve(ls, params)

    @server.command(code_actions.GENERATE)
    async def on_generate_from_docstring(ls: CodegenServer, uri: str, position: types.Position):
        return await code_actions.generate_from_docstring(ls, uri, position)

    @server.command(code_actions.TRANSLATE)
    async def on_translate(ls: CodegenServer, uri: str, selection: types.Range, language: str):
        return await code_actions.translate_selection(ls, uri, selection, language)

    @server.command(commands.RELOAD_MODEL)
    async def on_reload_model(ls: CodegenServer, *args):
        return await commands.reload_model(ls, *args)

    @server.command(commands.STATUS)
    def on_status(ls: CodegenServer, *args):
        return commands.status(ls, *args)

    @server.command(commands.TOGGLE)
    def on_toggle(ls: CodegenServer, *args):
        return commands.toggle(ls, *args)

    @server.command(commands.DEBUG_DOCUMENT)
    def on_debug_document(ls: CodegenServer, uri: str):
        return commands.debug_document(ls, uri)

    return server
