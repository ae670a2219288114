"""Model lifecycle over real stdio: background load with $/progress, missing model, reload, the real runtime."""

import asyncio

import pytest
from lsprotocol import types

from .conftest import status
from .helpers import execute, inline_texts, open_document

pytestmark = pytest.mark.asyncio
URI = "file:///workspace/example.py"


async def test_model_load_reports_progress(client):
    reports = [value for values in client.progress_reports.values() for value in values]
    assert isinstance(reports[0], types.WorkDoneProgressBegin) and isinstance(reports[-1], types.WorkDoneProgressEnd)
    assert (await status(client))["state"] == "ready"


async def test_missing_model_shows_one_message_and_answers_empty(missing_model_client):
    client = missing_model_client
    at = open_document(client, URI, "total = |\n")
    assert await inline_texts(client, URI, at) == []
    result = await client.text_document_completion_async(
        types.CompletionParams(text_document=types.TextDocumentIdentifier(uri=URI), position=at))
    assert list(result.items) == []
    errors = [m.message for m in client.messages if m.type == types.MessageType.Error]
    assert len(errors) == 1 and "no-such-model" in errors[0] and "codegen-train export" in errors[0]
    answer = await status(client)
    assert answer["state"] == "failed" and "no-such-model" in answer["error"]


async def test_reload_command_and_directory_watch_swap_the_model(client, tmp_path):
    assert (await execute(client, "codegen.reloadModel"))["state"] == "ready"
    (tmp_path / "manifest.json").write_text("{}")  # a newly published model
    await asyncio.sleep(1.1)  # the directory is polled at most once a second, between requests
    at = open_document(client, URI, "total = |\n")
    assert await inline_texts(client, URI, at) == ["compute_total(items)"]
    assert any("model directory changed" in m.message for m in client.log_messages)


async def test_tiny_model_answers_at_the_cursor(tiny_model_client):
    client = tiny_model_client
    assert (await status(client))["state"] == "ready"
    at = open_document(client, URI, "def add(a, b):\n    return |\n")
    texts = await inline_texts(client, URI, at)  # random weights: any text, but never blank and at the cursor
    assert all(text.strip() and "\n" not in text for text in texts)
    assert (await status(client))["stats"]["generations"] == 1


async def test_asking_for_suggestions_gives_the_usual_one_first_then_distinct_alternatives(tiny_model_client):
    client = tiny_model_client
    at = open_document(client, URI, "import os\n\n\ndef read(path):\n    with open(|\n")
    typed = await inline_texts(client, URI, at)  # as the user types: one suggestion
    asked = await inline_texts(client, URI, at, invoked=True)  # the user asks (a key, or cycling): alternatives
    assert len(typed) == 1 and asked[0] == typed[0]
    assert len(asked) > 1 and len(set(asked)) == len(asked)  # sampled, without duplicates
