"""Inline completion and completion items over real stdio, with Neovim's and VS Code's capabilities."""

import asyncio

import pytest
from lsprotocol import types

from .conftest import status
from .helpers import execute, inline_params, inline_texts, insert, open_document, position

pytestmark = pytest.mark.asyncio
URI = "file:///workspace/example.py"


async def test_inline_completion_inserts_at_the_cursor(client):
    at = open_document(client, URI, "total = |\n")
    assert await inline_texts(client, URI, at) == ["compute_total(items)"]


async def test_positions_count_in_the_negotiated_encoding(client):
    at = open_document(client, URI, 's = "ü😀"; total = |\n')
    assert await inline_texts(client, URI, at) == ["compute_total(items)"]


async def test_completion_item_text_edit_replaces_the_typed_word(client):
    text = "total = \n"
    at = open_document(client, URI, "total = |\n")
    assert await inline_texts(client, URI, at) == ["compute_total(items)"]
    insert(client, URI, 2, at, "comp")
    text = "total = comp\n"
    after = position(client, text, len("total = comp"))
    result = await client.text_document_completion_async(
        types.CompletionParams(text_document=types.TextDocumentIdentifier(uri=URI), position=after))
    (item,) = result.items
    assert item.text_edit.new_text == "compute_total(items)"
    assert item.text_edit.range == types.Range(start=at, end=after)


async def test_type_through_is_served_from_the_cache_without_the_model(client):
    at = open_document(client, URI, "total = |\n")
    assert await inline_texts(client, URI, at) == ["compute_total(items)"]
    text = "total = "
    for version, char in enumerate("compute", start=2):
        insert(client, URI, version, position(client, text, len(text)), char)
        text += char
        remaining = "compute_total(items)"[len(text) - len("total = "):]
        assert await inline_texts(client, URI, position(client, text, len(text))) == [remaining]
    stats = (await status(client))["stats"]
    assert stats["generations"] == 1 and stats["cache_hits"] == len("compute")


@pytest.mark.parametrize(("language", "document", "expected"), [
    ("python", "def add(a, b):|\n", "\n    return a + b"),
    ("javascript", "function add(a, b) {|", "\n  return a + b;\n}"),
    ("javascript", "function add(a, b) {|\n}\n", "\n  return a + b;"),  # auto-closed brace: not doubled
    ("python", 'print(|)\n', '"hello world"'),  # the closing parenthesis after the cursor is not doubled
])
async def test_multi_line_blocks_and_suffix_overlap(client, language, document, expected):
    at = open_document(client, "file:///workspace/example." + language, document, language)
    assert await inline_texts(client, "file:///workspace/example." + language, at) == [expected]


async def test_whitespace_only_output_gives_no_suggestion(client):
    at = open_document(client, URI, "x = |\n")
    assert await inline_texts(client, URI, at) == []


async def test_superseded_request_answers_empty_and_never_stale(client):
    slow_at = open_document(client, URI, "slow_function(|\n")
    slow = asyncio.ensure_future(client.text_document_inline_completion_async(inline_params(URI, slow_at)))
    await asyncio.sleep(0.5)  # the slow generation is running
    insert(client, URI, 2, types.Position(line=1, character=0), "total = ")
    assert await inline_texts(client, URI, types.Position(line=1, character=8)) == ["compute_total(items)"]
    assert list((await slow).items) == []
    assert (await status(client))["stats"]["superseded"] == 1


async def test_cancel_request_stops_the_generation(client):
    at = open_document(client, URI, "slow_function(|\n")
    pending = asyncio.ensure_future(client.protocol.send_request_async(
        types.TEXT_DOCUMENT_INLINE_COMPLETION, inline_params(URI, at), msg_id="slow-request"))
    await asyncio.sleep(0.5)
    client.protocol.notify(types.CANCEL_REQUEST, types.CancelParams(id="slow-request"))
    with pytest.raises(Exception, match="cancel"):
        await pending
    # The worker is free again long before the 40 slow tokens (8 s) would have finished.
    other = open_document(client, "file:///workspace/other.py", "total = |\n")
    assert await asyncio.wait_for(inline_texts(client, "file:///workspace/other.py", other), 4) == \
        ["compute_total(items)"]
    assert (await status(client))["stats"]["cancelled"] == 1


async def test_settings_changes_apply(client):
    at = open_document(client, URI, "def add(a, b):|\n")
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(
        settings={"codegen": {"enabled": False}}))
    assert await inline_texts(client, URI, at) == []
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(
        settings={"codegen": {"multiline": False}}))
    assert await inline_texts(client, URI, at) == []  # the block's body starts on the next line
    client.set_configuration({"enabledLanguages": ["python"]}, section="codegen")
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings=None))  # pull
    while (await status(client))["settings"]["enabledLanguages"] != ["python"]:
        await asyncio.sleep(0.05)
    assert await inline_texts(client, URI, at) == ["\n    return a + b"]
    go_at = open_document(client, "file:///workspace/main.go", "total = |\n", "go")
    assert await inline_texts(client, "file:///workspace/main.go", go_at) == []


async def test_invalid_settings_are_reported_and_defaults_used(client):
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(
        settings={"codegen": {"maxTokens": "lots", "device": "quantum"}}))
    at = open_document(client, URI, "total = |\n")
    assert await inline_texts(client, URI, at) == ["compute_total(items)"]
    shown = [message.message for message in client.messages]
    assert any("codegen.maxTokens" in message for message in shown)
    assert any("codegen.device" in message for message in shown)


async def test_toggle_turns_suggestions_off_and_on(client):
    at = open_document(client, URI, "total = |\n")
    assert await execute(client, "codegen.toggle") == {"enabled": False}
    assert await inline_texts(client, URI, at) == []
    assert await execute(client, "codegen.toggle") == {"enabled": True}
    assert await inline_texts(client, URI, at) == ["compute_total(items)"]


async def test_incremental_edits_keep_the_servers_text_equal_to_the_clients(client):
    text = "def f():\n    return 1\n"
    open_document(client, URI, "|" + text)
    edits = [(0, "# ü😀 header\n"), (len("# ü😀 header\n") + 4, "_renamed"), (None, "print('é')\n"),
             (len("# ü"), "→"), (3, "\n\n")]
    for version, (offset, inserted) in enumerate(edits, start=2):
        offset = len(text) if offset is None else offset
        insert(client, URI, version, position(client, text, offset), inserted)
        text = text[:offset] + inserted + text[offset:]
    deleted = types.Range(start=position(client, text, 2), end=position(client, text, 9))
    client.text_document_did_change(types.DidChangeTextDocumentParams(
        text_document=types.VersionedTextDocumentIdentifier(uri=URI, version=len(edits) + 2),
        content_changes=[types.TextDocumentContentChangePartial(range=deleted, text="")]))
    text = text[:2] + text[9:]
    assert (await execute(client, "codegen.debugDocument", URI))["text"] == text
