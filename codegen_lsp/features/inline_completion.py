"""textDocument/inlineCompletion: ghost text at the cursor."""

from __future__ import annotations

from lsprotocol import types

from ..core import CodegenServer

OPTIONS = types.InlineCompletionOptions()


async def inline_completion(server: CodegenServer, params: types.InlineCompletionParams) -> types.InlineCompletionList:
    """One suggestion as the user types; alternatives too when the user asked for them (an invoked trigger: a key to
    suggest, or cycling in the editor)."""
    asked = params.context is not None and params.context.trigger_kind == types.InlineCompletionTriggerKind.Invoked
    texts = await server.suggestions_at("inline", params.text_document.uri, params.position, several=asked)
    at_cursor = types.Range(start=params.position, end=params.position)
    return types.InlineCompletionList(items=[types.InlineCompletionItem(insert_text=text, range=at_cursor)
                                             for text in texts])
