"""Code actions "Generate from docstring" and "Translate selection to <language>".

Listing actions never runs the model. "Generate" is computed on codeAction/resolve (or by the command
codegen.generateFromDocstring for clients that cannot resolve edits); "Translate" runs as the command
codegen.translate, which applies its edit itself and then shows the new file. The model runs on the server's
worker thread with cancellable `$/progress`; a result that does not parse is retried with sampling
(`codeActions.retries`) and, if none parses, nothing is applied and the user is told why.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, Callable

from lsprotocol import types
from pygls.uris import from_fs_path, to_fs_path
from pygls.workspace import TextDocument

from .. import docstring, notify, translate
from ..core import CodegenServer
from ..engine import Cancelled, OnToken, Outcome, generate_body, translate_code

GENERATE = "codegen.generateFromDocstring"
TRANSLATE = "codegen.translate"
KIND = types.CodeActionKind.RefactorRewrite
OPTIONS = types.CodeActionOptions(code_action_kinds=[KIND], resolve_provider=True)

PROGRESS_EVERY_TOKENS = 16

# The server side: thin handlers.


def code_actions(server: CodegenServer, params: types.CodeActionParams) -> list[types.CodeAction]:
    """The actions at the cursor or selection, computed without the model."""
    only = params.context.only
    if only and not any(KIND.value.startswith(kind) for kind in only):
        return []
    uri = params.text_document.uri
    document = server.open_document(uri)
    if document is None:
        return []
    language = document.language_id or ""
    start = document.offset_at_position(params.range.start)
    end = document.offset_at_position(params.range.end)
    actions = []
    stub = docstring.find_stub(document.source, language, start) if docstring.supports(language) else None
    if stub is not None:
        actions.append(_generate_action(server, uri, params.range.start, stub.name))
    if end > start:
        for target in translate.targets(language, server.settings.translate.targets):
            title = f"Translate selection to {translate.LANGUAGES[target].name}"
            arguments = [uri, _range_argument(params.range), target]
            command = types.Command(title=title, command=TRANSLATE, arguments=arguments)
            actions.append(types.CodeAction(title=title, kind=KIND, command=command))
    return actions


def _range_argument(selection: types.Range) -> dict:
    return {edge: {"line": position.line, "character": position.character}
            for edge, position in (("start", selection.start), ("end", selection.end))}


def _generate_action(server: CodegenServer, uri: str, position: types.Position, name: str) -> types.CodeAction:
    title = f"Generate from docstring: {name}" if name else "Generate from docstring"
    arguments = [uri, {"line": position.line, "character": position.character}]
    if _client_resolves_edits(server):
        return types.CodeAction(title=title, kind=KIND, data={"command": GENERATE, "arguments": arguments})
    return types.CodeAction(title=title, kind=KIND, command=types.Command(title, GENERATE, arguments))


def _client_resolves_edits(server: CodegenServer) -> bool:
    text_document = server.client_capabilities.text_document
    code_action = text_document.code_action if text_document else None
    support = code_action.resolve_support if code_action else None
    return support is not None and "edit" in support.properties


async def resolve(server: CodegenServer, action: types.CodeAction) -> types.CodeAction:
    """Compute a "Generate" action's edit; the action comes back without one when nothing valid was found."""
    data = action.data if isinstance(action.data, dict) else {}
    if data.get("command") != GENERATE:
        return action
    uri, position = data["arguments"]
    action.edit = await _generate_edit(server, uri, types.Position(**position))
    return action


async def generate_from_docstring(server: CodegenServer, uri: str, position: types.Position) -> bool:
    """The command: generate and apply the body of the documented function at ``position``; whether applied."""
    edit = await _generate_edit(server, uri, position)
    return edit is not None and await _apply(server, edit, "Generate from docstring")


def _open_document(server: CodegenServer, uri: str) -> TextDocument | None:
    """The editor's open document (never a file read from disk), or None: the user is told."""
    document = server.open_document(uri)
    if document is None:
        notify.show(server, f"{uri} is not open in the editor: open it and run the action again")
    return document


async def _generate_edit(server: CodegenServer, uri: str, position: types.Position) -> types.WorkspaceEdit | None:
    document = _open_document(server, uri)
    if document is None:
        return None
    text, language = document.source, document.language_id or ""
    stub = docstring.find_stub(text, language, document.offset_at_position(position))
    if stub is None:
        notify.show(server, "no documented function without a body here: put the cursor in a function whose "
                            "body is only a docstring and a placeholder", types.MessageType.Warning)
        return None
    settings, version = server.settings, document.version
    path = server._relative_path(uri)
    outcome = await _run_model(server, f"codegen: generating {stub.name or 'the body'}", uri,
                               lambda model, cancelled, on_token: generate_body(
                                   model, text, language, stub, settings.code_actions.retries, cancelled, on_token,
                                   path, settings.context_tokens))
    if outcome is None or _changed_meanwhile(server, document, version):
        return None
    start, end = document.client_position_at_offset(stub.body_start), document.client_position_at_offset(stub.body_end)
    return _document_edit(server, document, start, end, stub.replacement(outcome))


async def translate_selection(server: CodegenServer, uri: str, selection: types.Range, language: str) -> bool:
    """The command: translate the selection to ``language`` and put it where `translate.output` says."""
    if language not in translate.LANGUAGES:
        notify.show(server, f"cannot translate to {language!r}: use one of {', '.join(translate.LANGUAGES)}")
        return False
    document = _open_document(server, uri)
    if document is None:
        return False
    start, end = document.offset_at_position(selection.start), document.offset_at_position(selection.end)
    code = document.source[start:end]
    if not code.strip():
        notify.show(server, "nothing to translate: select some code first", types.MessageType.Warning)
        return False
    output = server.settings.translate.output
    new_file = _new_file_target(server, uri, language) if output == "newFile" else None
    if output == "newFile" and new_file is None:
        return False
    retries, version = server.settings.code_actions.retries, document.version
    source_language = document.language_id or ""
    outcome = await _run_model(server, f"codegen: translating to {translate.LANGUAGES[language].name}", uri,
                               lambda model, cancelled, on_token: translate_code(
                                   model, code, source_language, language, retries, cancelled, on_token))
    if outcome is None:
        return False
    if new_file is not None:
        return await _create_file(server, new_file, outcome + "\n")
    if _changed_meanwhile(server, document, version):
        return False
    at, until, new_text = translate.placement(document.source, start, end, outcome, output)
    edit = _document_edit(server, document, document.client_position_at_offset(at),
                          document.client_position_at_offset(until), new_text)
    return await _apply(server, edit, f"Translate to {translate.LANGUAGES[language].name}")


async def _run_model(server: CodegenServer, title: str, uri: str,
                     work: Callable[[Any, Cancelled, OnToken], Outcome]) -> str | None:
    """Run ``work(model, cancelled, on_token)`` on the worker thread with cancellable progress; the valid code,
    or None (cancelled, superseded, no model, or nothing parsed: the user is told)."""
    await server.reload_if_published()
    if server.host.state != "ready":
        notify.show(server, f"no model loaded ({server.host.error or server.host.state}): check the `model` setting "
                            "and run codegen.reloadModel")
        return None
    token = await server.create_progress("action")
    user_cancel = server.work_done_progress.tokens.get(token) if token else None
    if token is not None:
        server.work_done_progress.begin(token, types.WorkDoneProgressBegin(title=title, cancellable=True))
    loop = asyncio.get_running_loop()
    tokens_written = 0

    def on_token(_: str) -> None:  # worker thread
        nonlocal tokens_written
        tokens_written += 1
        if token is not None and tokens_written % PROGRESS_EVERY_TOKENS == 0:
            report = types.WorkDoneProgressReport(message=f"{tokens_written} tokens")
            loop.call_soon_threadsafe(server.work_done_progress.report, token, report)

    def run(cancelled: Cancelled) -> Outcome | None:
        model = server.host.model
        if model is None:
            return None
        server.scheduler.stats["code_action_runs"] += 1
        stop = _either(cancelled, user_cancel.cancelled if user_cancel else None)
        try:
            return work(model, stop, on_token)
        except Exception as error:  # a model failure is reported, never a crash
            return Outcome(None, 1, f"the model failed: {error!r}")

    outcome = None
    try:
        outcome = await server.scheduler.run_latest(f"code action {uri}", run)
    finally:
        if token is not None:
            message = "cancelled" if outcome is None or outcome.problem == "cancelled" else "done"
            server.work_done_progress.end(token, types.WorkDoneProgressEnd(message=message))
    if outcome is None or outcome.problem == "cancelled":
        notify.log(server, f"{title}: cancelled; nothing was changed")
        return None
    if outcome.code is None:
        tries = f" after {outcome.attempts} attempts" if outcome.attempts > 1 else ""
        notify.show(server, f"{title.removeprefix('codegen: ')}: no valid code{tries} ({outcome.problem}); nothing "
                            "was changed: try again, or raise codeActions.retries")
        return None
    if outcome.problem:
        notify.log(server, f"{title}: {outcome.problem}")
    return outcome.code


def _changed_meanwhile(server: CodegenServer, document: TextDocument, version: int | None) -> bool:
    """Whether the document was edited while the model worked (the user is told; nothing is applied)."""
    if document.version == version:
        return False
    notify.show(server, "the document changed while the model was working; nothing was changed: run the action "
                        "again", types.MessageType.Warning)
    return True


def _either(first: Cancelled, second: Cancelled | None) -> Cancelled:
    return first if second is None else (lambda: first() or second())


def _document_edit(server: CodegenServer, document: TextDocument, start: types.Position, end: types.Position,
                   new_text: str) -> types.WorkspaceEdit:
    """One text edit, tied to the document's version when the client supports versioned edits."""
    edit = types.TextEdit(range=types.Range(start=start, end=end), new_text=new_text)
    if not _workspace_edit_capabilities(server).document_changes:
        return types.WorkspaceEdit(changes={document.uri: [edit]})
    identifier = types.OptionalVersionedTextDocumentIdentifier(uri=document.uri, version=document.version)
    return types.WorkspaceEdit(document_changes=[types.TextDocumentEdit(text_document=identifier, edits=[edit])])


def _workspace_edit_capabilities(server: CodegenServer) -> types.WorkspaceEditClientCapabilities:
    workspace = server.client_capabilities.workspace
    return (workspace.workspace_edit if workspace else None) or types.WorkspaceEditClientCapabilities()


def _new_file_target(server: CodegenServer, uri: str, language: str) -> Path | None:
    """The new file for a translation of ``uri`` (beside it, inside a workspace folder), or None: user told why."""
    # Resource operations only exist in documentChanges (Neovim declares them without documentChanges).
    if types.ResourceOperationKind.Create not in (_workspace_edit_capabilities(server).resource_operations or ()):
        notify.show(server, "this editor cannot create files from a server edit: set codegen.translate.output to "
                            "\"replace\" or \"below\"")
        return None
    path = to_fs_path(uri) if uri.startswith("file:") else None
    if path is None:
        notify.show(server, "save the file first (or set codegen.translate.output to \"replace\" or \"below\"): "
                            "the translation is written beside it")
        return None
    source = Path(path)
    if not _inside_workspace(server, source):
        notify.show(server, f"{source} is outside the workspace folders: the translation is only written inside "
                            "them; open its folder or set codegen.translate.output to \"replace\" or \"below\"")
        return None
    open_paths = {to_fs_path(other) for other in server.workspace.text_documents}
    return translate.target_path(source, translate.LANGUAGES[language].extension,
                                 lambda candidate: candidate.exists() or str(candidate) in open_paths)


def _inside_workspace(server: CodegenServer, path: Path) -> bool:
    roots = [to_fs_path(folder.uri) for folder in server.workspace.folders.values()] or [server.workspace.root_path]
    return any(root and path.resolve().is_relative_to(Path(root).resolve()) for root in roots)


async def _create_file(server: CodegenServer, path: Path, text: str) -> bool:
    uri = from_fs_path(str(path))
    start = types.Position(line=0, character=0)
    edit = types.WorkspaceEdit(document_changes=[
        types.CreateFile(uri=uri, options=types.CreateFileOptions(overwrite=False, ignore_if_exists=False)),
        types.TextDocumentEdit(text_document=types.OptionalVersionedTextDocumentIdentifier(uri=uri, version=None),
                               edits=[types.TextEdit(range=types.Range(start=start, end=start), new_text=text)]),
    ])
    if not await _apply(server, edit, f"Create {path.name}"):
        return False
    window = server.client_capabilities.window
    if window is not None and window.show_document is not None and window.show_document.support:
        await server.window_show_document_async(types.ShowDocumentParams(uri=uri, take_focus=True))
    else:
        notify.show(server, f"translation written to {path}", types.MessageType.Info)
    return True


async def _apply(server: CodegenServer, edit: types.WorkspaceEdit, label: str) -> bool:
    result = await server.workspace_apply_edit_async(types.ApplyWorkspaceEditParams(edit=edit, label=label))
    if not result.applied:
        reason = result.failure_reason or "no reason given"
        notify.show(server, f"{label}: the editor did not apply the edit ({reason}); the document may have changed "
                            "meanwhile: run the action again")
    return result.applied
