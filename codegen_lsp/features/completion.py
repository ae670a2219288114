"""textDocument/completion: the suggestion as a completion item whose textEdit inserts it at the cursor."""

from __future__ import annotations

from lsprotocol import types

from ..core import CodegenServer

OPTIONS = types.CompletionOptions(resolve_provider=False)
LABEL_CHARS = 80


def word_start(line_before_cursor: str) -> int:
    """How many characters of the identifier being typed precede the cursor (clients filter items on them)."""
    count = 0
    for char in reversed(line_before_cursor):
        if not (char.isalnum() or char == "_"):
            break
        count += 1
    return count


async def completion(server: CodegenServer, params: types.CompletionParams) -> types.CompletionList:
    uri, position = params.text_document.uri, params.position
    texts = await server.suggestions_at("completion", uri, position)
    if not texts:
        return types.CompletionList(is_incomplete=True, items=[])
    text = texts[0]
    document = server.open_document(uri)
    if document is None:  # closed while the suggestion was made
        return types.CompletionList(is_incomplete=True, items=[])
    offset = document.offset_at_position(position)
    source = document.source
    typed = word_start(source[source.rfind("\n", 0, offset) + 1:offset])
    start = document.client_position_at_offset(offset - typed)
    new_text = source[offset - typed:offset] + text
    item = types.CompletionItem(
        label=new_text.strip().split("\n", 1)[0][:LABEL_CHARS],
        kind=types.CompletionItemKind.Text,
        detail="codegen",
        documentation=types.MarkupContent(kind=types.MarkupKind.PlainText, value=new_text),
        filter_text=new_text,
        insert_text_format=types.InsertTextFormat.PlainText,
        text_edit=types.TextEdit(range=types.Range(start=start, end=position), new_text=new_text),
    )
    return types.CompletionList(is_incomplete=True, items=[item])
