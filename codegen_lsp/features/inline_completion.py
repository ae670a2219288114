"""textDocument/inlineCompletion: ghost text at the cursor."""

from __future__ import annotations

from lsprotocol import types

from ..core import CodegenServer

OPTIONS = types.InlineCompletionOptions()


async def inline_completion(server: CodegenServer, params: types.InlineCompletionParams) -> types.InlineCompletionList:
    text = await server.suggestion_at("inline", params.text_document.uri, params.position)
    if text is None:
        return types.InlineCompletionList(items=[])
    at_cursor = types.Range(start=params.position, end=params.position)
    return types.InlineCompletionList(items=[types.InlineCompletionItem(insert_text=text, range=at_cursor)])
