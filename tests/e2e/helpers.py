"""Editor-side helpers for the end-to-end tests: documents, positions in the negotiated encoding, requests."""

from __future__ import annotations

from lsprotocol import types
from pytest_lsp import LanguageClient

CURSOR = "|"


def position(client: LanguageClient, text: str, offset: int) -> types.Position:
    """The LSP position of character ``offset`` in the units the server negotiated (utf-8/16/32)."""
    line = text.count("\n", 0, offset)
    before = text[text.rfind("\n", 0, offset) + 1:offset]
    encoding = getattr(client, "position_encoding", "utf-16")
    if encoding == "utf-8":
        units = len(before.encode("utf-8"))
    elif encoding == "utf-32":
        units = len(before)
    else:
        units = len(before.encode("utf-16-le")) // 2
    return types.Position(line=line, character=units)


def open_document(client: LanguageClient, uri: str, marked: str, language: str = "python") -> types.Position:
    """Open a document written with "|" at the cursor; returns the cursor's position."""
    offset = marked.index(CURSOR)
    text = marked.replace(CURSOR, "", 1)
    client.text_document_did_open(types.DidOpenTextDocumentParams(
        text_document=types.TextDocumentItem(uri=uri, language_id=language, version=1, text=text)))
    return position(client, text, offset)


def insert(client: LanguageClient, uri: str, version: int, at: types.Position, text: str) -> None:
    """An incremental change inserting ``text`` at ``at``."""
    client.text_document_did_change(types.DidChangeTextDocumentParams(
        text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
        content_changes=[types.TextDocumentContentChangePartial(range=types.Range(start=at, end=at), text=text)]))


def inline_params(uri: str, at: types.Position, invoked: bool = False) -> types.InlineCompletionParams:
    kind = types.InlineCompletionTriggerKind.Invoked if invoked else types.InlineCompletionTriggerKind.Automatic
    return types.InlineCompletionParams(text_document=types.TextDocumentIdentifier(uri=uri), position=at,
                                        context=types.InlineCompletionContext(trigger_kind=kind))


async def inline_texts(client: LanguageClient, uri: str, at: types.Position, invoked: bool = False) -> list[str]:
    """The inline suggestions at ``at`` (``invoked``: the user asked, alternatives included), checking that each is
    anchored at the cursor."""
    result = await client.text_document_inline_completion_async(inline_params(uri, at, invoked))
    items = result.items if isinstance(result, types.InlineCompletionList) else (result or [])
    for item in items:
        assert item.range == types.Range(start=at, end=at)
    return [item.insert_text for item in items]


async def execute(client: LanguageClient, command: str, *arguments):
    return await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command=command, arguments=list(arguments) or None))
