"""Code actions over real stdio: "Generate from docstring" (resolve and command) and "Translate selection",
with a scripted model (tests/e2e/code_actions_model.json) that writes known code."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types
from pygls.uris import from_fs_path
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

from .conftest import SERVER, _environment, status, wait_until_loaded
from .helpers import execute, insert, open_document, position

pytestmark = pytest.mark.asyncio
SCRIPT = Path(__file__).parent / "code_actions_model.json"
ADD = 'import math\n\n\ndef add(a, b):\n    """Add a and b."""\n    pa|ss\n\n\nx = 1\n'
SQUARE = "def square(x):\n    return x * x\n"


async def start_in(client: LanguageClient, editor: str, workspace: Path, options: dict) -> None:
    """initialize with ``workspace`` as the only folder; record the edits the server asks the editor to apply."""
    client.applied_edits = []

    @client.feature(types.WORKSPACE_APPLY_EDIT)
    def apply_edit(params: types.ApplyWorkspaceEditParams) -> types.ApplyWorkspaceEditResult:
        client.applied_edits.append(params.edit)
        return types.ApplyWorkspaceEditResult(applied=True)

    uri = from_fs_path(str(workspace))
    await client.initialize_session(types.InitializeParams(
        capabilities=client_capabilities(editor), initialization_options=options, root_uri=uri,
        workspace_folders=[types.WorkspaceFolder(uri=uri, name="workspace")]))
    await wait_until_loaded(client)


FAKE_MODEL = ClientServerConfig(server_command=SERVER, server_env=_environment(CODEGEN_LSP_FAKE_MODEL=str(SCRIPT)))


@pytest_lsp.fixture(config=FAKE_MODEL)
async def client(lsp_client: LanguageClient, tmp_path):
    """VS Code's capabilities: resolves edits, versioned documentChanges."""
    lsp_client.workspace_path = tmp_path
    await start_in(lsp_client, "visual_studio_code", tmp_path, {"model": str(tmp_path), "codeActions": {"retries": 1}})
    yield
    await lsp_client.shutdown_session()


@pytest_lsp.fixture(config=FAKE_MODEL)
async def neovim(lsp_client: LanguageClient, tmp_path):
    """Neovim's capabilities: resource operations but no declared documentChanges."""
    lsp_client.workspace_path = tmp_path
    await start_in(lsp_client, "neovim", tmp_path, {"model": str(tmp_path)})
    yield
    await lsp_client.shutdown_session()


def open_file(client: LanguageClient, name: str, marked: str, language: str = "python") -> tuple[str, types.Position]:
    uri = from_fs_path(str(client.workspace_path / name))
    return uri, open_document(client, uri, marked, language)


async def actions_at(client, uri: str, start: types.Position, end: types.Position | None = None):
    return await client.text_document_code_action_async(types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(uri=uri), range=types.Range(start=start, end=end or start),
        context=types.CodeActionContext(diagnostics=[])))


def edited(text: str, edit: types.WorkspaceEdit, uri: str) -> str:
    """``text`` after the workspace edit's text edits for ``uri`` (at most one edit, positions in ASCII text)."""
    if edit.document_changes:
        (change,) = edit.document_changes
        assert change.text_document.uri == uri
        edits = change.edits
    else:
        edits = edit.changes[uri]
    (text_edit,) = edits
    lines = text.splitlines(keepends=True)

    def offset(at: types.Position) -> int:
        return sum(len(line) for line in lines[:at.line]) + at.character

    return text[:offset(text_edit.range.start)] + text_edit.new_text + text[offset(text_edit.range.end):]


async def translate(client, uri: str, start: types.Position, language: str) -> bool:
    """Run codegen.translate on SQUARE as a listed action's command would.

    (pytest-lsp's client decodes every listed CodeAction that has a command as a bare Command, losing its
    arguments, so tests build them.)
    """
    end = position(client, SQUARE, len(SQUARE))
    selection = {"start": {"line": start.line, "character": start.character},
                 "end": {"line": end.line, "character": end.character}}
    return await execute(client, "codegen.translate", uri, selection, language)


async def code_action_runs(client) -> int:
    return (await status(client))["stats"].get("code_action_runs", 0)


async def test_generate_is_listed_without_the_model_and_resolved_to_the_body(client):
    uri, at = open_file(client, "calc.py", ADD)
    actions = await actions_at(client, uri, at)
    assert [action.title for action in actions] == ["Generate from docstring: add"]
    assert actions[0].edit is None and actions[0].kind == types.CodeActionKind.RefactorRewrite
    assert await code_action_runs(client) == 0

    resolved = await client.code_action_resolve_async(actions[0])
    text = ADD.replace("|", "")
    assert edited(text, resolved.edit, uri) == text.replace("    pass\n", "    return a + b\n")
    assert await code_action_runs(client) == 1
    (token,) = [token for token in client.progress_reports if str(token).startswith("codegen-action-")]
    kinds = [type(report).__name__ for report in client.progress_reports[token]]
    assert kinds[0] == "WorkDoneProgressBegin" and kinds[-1] == "WorkDoneProgressEnd"
    assert client.progress_reports[token][0].cancellable


async def test_generate_command_applies_a_brace_language_body(client):
    text = "/** Doubles x. */\nfunction double(x) {\n}\n"
    uri, at = open_file(client, "double.js", text.replace("(x) {", "(x) {|"), "javascript")
    assert await execute(client, "codegen.generateFromDocstring", uri, at) is True
    (edit,) = client.applied_edits
    assert edited(text, edit, uri) == "/** Doubles x. */\nfunction double(x) {\n    return 2 * x;\n}\n"


async def test_unparsable_generation_applies_nothing_and_says_why(client):
    marked = 'def broken(x):\n    """Break things."""\n    pa|ss\n'
    uri, at = open_file(client, "broken.py", marked)
    (action,) = await actions_at(client, uri, at)
    resolved = await client.code_action_resolve_async(action)
    assert resolved.edit is None
    assert await code_action_runs(client) == 1
    (message,) = client.messages
    assert message.type == types.MessageType.Error
    assert "no valid code after 2 attempts" in message.message and "nothing was changed" in message.message


async def test_cancelling_the_progress_stops_generation_and_applies_nothing(client):
    uri, at = open_file(client, "slow.py", 'def slow():\n    """Take your time."""\n    pa|ss\n')
    (action,) = await actions_at(client, uri, at)
    resolving = asyncio.ensure_future(client.code_action_resolve_async(action))

    async def progress_token():
        while not (tokens := [t for t in client.progress_reports if str(t).startswith("codegen-action-")]):
            await asyncio.sleep(0.02)
        return tokens[0]

    token = await asyncio.wait_for(progress_token(), 10)
    client.window_work_done_progress_cancel(types.WorkDoneProgressCancelParams(token=token))
    resolved = await asyncio.wait_for(resolving, 10)
    assert resolved.edit is None and client.messages == []
    assert client.progress_reports[token][-1].message == "cancelled"


async def test_an_edit_during_generation_applies_nothing(client):
    uri, at = open_file(client, "slow.py", 'def slow():\n    """Take your time."""\n    pa|ss\n')
    (action,) = await actions_at(client, uri, at)
    resolving = asyncio.ensure_future(client.code_action_resolve_async(action))
    while await code_action_runs(client) == 0:
        await asyncio.sleep(0.05)
    insert(client, uri, 2, types.Position(line=0, character=0), "import os\n")
    resolved = await asyncio.wait_for(resolving, 20)
    assert resolved.edit is None
    assert "changed while the model was working" in client.messages[-1].message


async def test_commands_refuse_documents_that_are_not_open(client):
    path = client.workspace_path / "closed.py"
    path.write_text(SQUARE)
    assert await translate(client, from_fs_path(str(path)), types.Position(line=0, character=0), "go") is False
    assert await code_action_runs(client) == 0
    assert "is not open in the editor" in client.messages[-1].message


async def test_no_generate_action_outside_a_stub_and_only_refactor_kinds(client):
    uri, at = open_file(client, "plain.py", "x = |1\n")
    assert list(await actions_at(client, uri, at)) == []
    uri, at = open_file(client, "calc.py", ADD)
    only_quickfix = await client.text_document_code_action_async(types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(uri=uri), range=types.Range(start=at, end=at),
        context=types.CodeActionContext(diagnostics=[], only=[types.CodeActionKind.QuickFix])))
    assert list(only_quickfix) == []


async def test_selection_lists_one_translation_per_target_but_its_own_language(client):
    uri, start = open_file(client, "util.py", "|" + SQUARE)
    end = position(client, SQUARE, len(SQUARE))
    titles = [action.title for action in await actions_at(client, uri, start, end)]
    assert titles == [f"Translate selection to {name}" for name in
                      ("JavaScript", "TypeScript", "Java", "C++", "Go", "Rust")]
    assert await code_action_runs(client) == 0


async def test_translate_to_a_new_file_beside_the_source_without_overwriting(client):
    (client.workspace_path / "util.js").write_text("// someone's file\n")
    uri, start = open_file(client, "util.py", "|" + SQUARE)
    assert await translate(client, uri, start, "javascript") is True
    (edit,) = client.applied_edits
    create, insert = edit.document_changes
    target = from_fs_path(str(client.workspace_path / "util_2.js"))
    assert isinstance(create, types.CreateFile) and create.uri == target and not create.options.overwrite
    assert insert.text_document.uri == target
    assert insert.edits[0].new_text == "function square(x) {\n  return x * x;\n}\n"
    assert [shown.uri for shown in client.shown_documents] == [target]
    assert (client.workspace_path / "util.js").read_text() == "// someone's file\n"


@pytest.mark.parametrize("output, expected", [
    ("replace", "function square(x) {\n  return x * x;\n}\n"),
    ("below", SQUARE.rstrip("\n") + "\n\nfunction square(x) {\n  return x * x;\n}\n"),
])
async def test_translate_replace_and_below(client, output, expected):
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(
        settings={"codegen": {"model": str(client.workspace_path), "translate": {"output": output}}}))
    await status(client)  # the configuration is applied before this answer
    uri, start = open_file(client, "util.py", "|" + SQUARE)
    assert await translate(client, uri, start, "javascript") is True
    (edit,) = client.applied_edits
    assert edited(SQUARE, edit, uri) == expected


async def test_unparsable_translation_applies_nothing(client):
    uri, start = open_file(client, "util.py", "|" + SQUARE)
    assert await translate(client, uri, start, "go") is False
    assert client.applied_edits == [] and client.shown_documents == []
    (message,) = client.messages
    assert "translating to Go: no valid code after 2 attempts" in message.message


async def test_translate_refuses_files_outside_the_workspace(client, tmp_path_factory):
    outside = tmp_path_factory.mktemp("elsewhere") / "util.py"
    uri = from_fs_path(str(outside))
    start = open_document(client, uri, "|" + SQUARE)
    assert await translate(client, uri, start, "javascript") is False
    assert client.applied_edits == [] and await code_action_runs(client) == 0
    assert "outside the workspace folders" in client.messages[0].message


async def test_neovim_gets_plain_changes_and_new_files(neovim):
    client = neovim
    uri, at = open_file(client, "calc.py", ADD)
    (action,) = await actions_at(client, uri, at)
    resolved = await client.code_action_resolve_async(action)
    text = ADD.replace("|", "")
    assert list(resolved.edit.changes) == [uri]
    assert edited(text, resolved.edit, uri) == text.replace("    pass\n", "    return a + b\n")
    uri, start = open_file(client, "util.py", "|" + SQUARE)
    assert await translate(client, uri, start, "javascript") is True
    assert [shown.uri for shown in client.shown_documents] == [from_fs_path(str(client.workspace_path / "util.js"))]


@pytest_lsp.fixture(config=ClientServerConfig(server_command=SERVER, server_env=_environment()))
async def tiny_client(lsp_client: LanguageClient, tiny_model, tmp_path):
    await start_in(lsp_client, "visual_studio_code", tmp_path, {"model": str(tiny_model), "codeActions": {"retries": 1}})
    lsp_client.workspace_path = tmp_path
    yield
    await lsp_client.shutdown_session()


async def test_real_tiny_model_goes_through_the_whole_path(tiny_client):
    client = tiny_client
    assert (await status(client))["state"] == "ready"
    uri, at = open_file(client, "calc.py", ADD)
    (action,) = await actions_at(client, uri, at)
    resolved = await client.code_action_resolve_async(action)
    assert await code_action_runs(client) == 1
    if resolved.edit is None:  # random weights: nonsense that does not parse is reported, nothing applied
        assert "no valid code" in client.messages[-1].message
    else:
        import ast

        ast.parse(edited(ADD.replace("|", ""), resolved.edit, uri))
