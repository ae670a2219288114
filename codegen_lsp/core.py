"""The server object: settings, model, scheduler and cache, and the model lifecycle. Features live in features/."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from lsprotocol import types
from pygls.exceptions import JsonRpcParseError
from pygls.lsp.server import LanguageServer
from pygls.uris import to_fs_path
from pygls.workspace import TextDocument

from . import __version__, notify
from .context import Neighbour
from .engine import CompletionRequest, Suggestion, suggest, suggest_several
from .model_host import ModelHost
from .protocol import CodegenProtocol
from .scheduler import CompletionCache, Scheduler
from .settings import Settings, parse_settings, to_wire

logger = logging.getLogger("codegen_lsp")
PROGRESS_CREATE_TIMEOUT_S = 5.0


class CodegenServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__("codegen-lsp", __version__, protocol_cls=CodegenProtocol,
                         text_document_sync_kind=types.TextDocumentSyncKind.Incremental)
        self.settings = Settings()
        self.host = ModelHost()
        self.scheduler = Scheduler()
        self.cache = CompletionCache()
        self._failures_shown: set[type] = set()  # kinds of generation failure the user was told about

    def report_server_error(self, error: Exception, source) -> None:
        """A message body that is not JSON is answered ParseError (id null, as JSON-RPC says); the rest as pygls
        does (a message to the user)."""
        if isinstance(error, (json.JSONDecodeError, UnicodeDecodeError)):
            logger.warning("unreadable message (%s): answered ParseError", type(error).__name__)
            self.protocol._send_response(None, error=JsonRpcParseError(
                f"the message body is not JSON in UTF-8 ({type(error).__name__})").to_response_error())
            return
        super().report_server_error(error, source)

    # Settings

    def apply_settings(self, raw: Any) -> bool:
        """Take new settings from a wire object (bad keys are reported and keep their defaults).

        Returns whether the model must be reloaded (its path or device changed).
        """
        settings, problems = parse_settings(raw)
        for problem in problems:
            notify.show(self, problem, types.MessageType.Warning)
        must_reload = (settings.model, settings.device) != (self.settings.model, self.settings.device)
        self.settings = settings
        self.cache.forget()
        return must_reload

    def toggle(self) -> bool:
        """Turn inline completion on or off; returns the new state."""
        self.settings = dataclasses.replace(self.settings, enabled=not self.settings.enabled)
        return self.settings.enabled

    # Model lifecycle

    async def reload_model(self) -> None:
        """(Re)load the model on the worker thread, between generations, reporting `$/progress`."""
        token = await self.create_progress("load")
        if token is not None:
            self.work_done_progress.begin(token, types.WorkDoneProgressBegin(title="codegen: loading model"))
        started = time.monotonic()
        await self.scheduler.call(self.host.load, self.settings.model, self.settings.device)
        self.cache.forget()
        self._failures_shown.clear()  # a new model: its failures are news
        if self.host.state == "ready":
            message = f"model ready: {self.host.path} ({time.monotonic() - started:.1f} s)"
            notify.log(self, message)
            if self.host.cuda_fell_back():
                notify.show(self, "CUDA could not start for this model, so it runs on CPU (the server log has "
                                  "onnxruntime's reason): check the CUDA/cuDNN libraries onnxruntime-gpu needs, or "
                                  "set device to cpu", types.MessageType.Warning)
        else:
            message = f"no model: {self.host.error}"
            notify.show(self, message)
        if token is not None:
            self.work_done_progress.end(token, types.WorkDoneProgressEnd(message=message))

    async def create_progress(self, purpose: str) -> str | None:
        """A server-created work-done progress token, or None when the client cannot show progress."""
        window = self.client_capabilities.window
        if window is None or not window.work_done_progress:
            return None
        token = f"codegen-{purpose}-{uuid.uuid4()}"
        try:
            await asyncio.wait_for(self.work_done_progress.create_async(token), PROGRESS_CREATE_TIMEOUT_S)
        except Exception as error:  # progress is a nicety: load the model without it
            notify.log(self, f"progress unavailable ({error!r}); loading without it", types.MessageType.Warning)
            return None
        return token

    async def reload_if_published(self) -> None:
        """Swap to a model published in the model directory or store since it was loaded."""
        if self.host.changed_on_disk():
            notify.log(self, "model directory changed: reloading")
            await self.reload_model()

    def status(self) -> dict:
        """What `codegen.status` answers."""
        return {**self.host.status(), "version": __version__, "enabled": self.settings.enabled,
                "settings": to_wire(self.settings), "stats": dict(self.scheduler.stats)}

    # Documents

    def open_document(self, uri: str) -> TextDocument | None:
        """The document the editor has open at ``uri``, or None. Never a file read from disk: the server only sees
        what the editor sends (pygls' get_text_document would read any path, also outside the workspace)."""
        return self.workspace.text_documents.get(unquote(uri))

    # Completions

    async def suggestions_at(self, feature: str, uri: str, position: types.Position, several: bool = False) -> list[str]:
        """The suggestions to insert at ``position`` (none: nothing to show): one as the user types, alternatives too
        when ``several`` (the user asked). Shared by the completion features."""
        document = self.open_document(uri)
        if document is None or not self.settings.serves(document.language_id or ""):
            return []
        await self.reload_if_published()
        if self.host.state != "ready":
            return []
        text = document.source
        offset = document.offset_at_position(position)
        prefix, suffix = text[:offset], text[offset:]
        use_cache = self.settings.debug.completion_cache
        if use_cache and not several and (cached := self.cache.lookup(uri, prefix, suffix)) is not None:
            self.scheduler.stats["cache_hits"] += 1
            return [cached] if cached else []
        request = CompletionRequest(text, offset, document.language_id or "", self._relative_path(uri),
                                    self._neighbours(document))
        settings = self.settings
        try:
            suggestions = await self.scheduler.run_latest(f"{feature} {uri}", lambda cancelled: self._generate(
                request, settings, cancelled, several))
        except Exception as error:  # a failing model costs this suggestion, never the editor's request
            self._report_generation_failure(error)
            return []
        if suggestions is None:
            return []
        if use_cache:
            self.cache.store(uri, prefix, suffix, (suggestions[0].text if suggestions else None) or "")
        return [suggestion.text for suggestion in suggestions if suggestion.text]

    def _report_generation_failure(self, error: Exception) -> None:
        """Tell the user once per kind of failure (not at every keystroke); always log it."""
        if isinstance(error, MemoryError):
            message = ("out of memory while generating: lower codegen.contextTokens or codegen.maxTokens, or use a "
                       "smaller or int8 model")
        else:
            message = f"the model failed while generating ({type(error).__name__}: {error}): run codegen.reloadModel"
        if type(error) in self._failures_shown:
            notify.log(self, message, types.MessageType.Error)
        else:
            self._failures_shown.add(type(error))
            notify.show(self, message)

    def _generate(self, request: CompletionRequest, settings: Settings, cancelled, several: bool) -> list[Suggestion] | None:
        """Runs on the worker thread: the model may have changed since the request was queued."""
        model = self.host.model
        if model is None:
            return None
        self.scheduler.stats["generations"] += 1
        started = time.monotonic()
        suggestions = suggest_several(model, request, settings, cancelled) if several else [
            suggest(model, request, settings, cancelled)]
        logger.debug("generation: %.0f ms, %d suggestions, prompt %d tokens (%d reused), %s",
                     (time.monotonic() - started) * 1000, len(suggestions), suggestions[0].prompt_tokens,
                     suggestions[0].reused_tokens, suggestions[0].finish_reason)
        return suggestions

    def _relative_path(self, uri: str) -> str | None:
        path = to_fs_path(uri)
        if path is None:
            return None
        root = self.workspace.root_path
        if root and Path(path).is_relative_to(root):
            return Path(path).relative_to(root).as_posix()
        return Path(path).name

    def _neighbours(self, document: TextDocument) -> tuple[Neighbour, ...]:
        """The other open documents of the same language."""
        return tuple(
            Neighbour(self._relative_path(other.uri) or other.uri, other.source)
            for other in self.workspace.text_documents.values()
            if other.uri != document.uri and other.language_id == document.language_id
        )
