"""Blocking model work off the event loop: one worker thread, per-document supersession, a completion cache."""

from __future__ import annotations

import asyncio
import threading
from collections import Counter, deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Callable, TypeVar

T = TypeVar("T")
Cancelled = Callable[[], bool]


@dataclass(frozen=True)
class CachedSuggestion:
    prefix: str  # the document's text before the cursor when the suggestion was made
    suffix: str  # the document's text after the cursor
    text: str  # the suggestion ("" when there was none)


class CompletionCache:
    """Recent suggestions per document.

    A request is answered from the cache when its context is one seen before, or when the user has typed
    the start of a cached suggestion since (type-through): the rest of that suggestion is the answer.
    """

    def __init__(self, entries_per_document: int = 16) -> None:
        self._entries: dict[str, deque[CachedSuggestion]] = {}
        self._size = entries_per_document

    def lookup(self, uri: str, prefix: str, suffix: str) -> str | None:
        """The cached answer for this context ("" when it was empty), or None when nothing cached applies."""
        for entry in reversed(self._entries.get(uri, ())):
            if entry.suffix != suffix or not prefix.startswith(entry.prefix):
                continue
            typed = prefix[len(entry.prefix):]
            if not typed:
                return entry.text
            if entry.text.startswith(typed) and entry.text[len(typed):].strip():
                return entry.text[len(typed):]
        return None

    def store(self, uri: str, prefix: str, suffix: str, text: str) -> None:
        entries = self._entries.setdefault(uri, deque(maxlen=self._size))
        entries.append(CachedSuggestion(prefix, suffix, text))

    def forget(self, uri: str | None = None) -> None:
        """Drop the entries of ``uri`` (a closed document), or all of them (new model or settings)."""
        if uri is None:
            self._entries.clear()
        else:
            self._entries.pop(uri, None)


class Scheduler:
    """Runs model work on one worker thread (the runtime Model is not thread-safe).

    Work submitted under a key (a document URI) supersedes the previous work under that key: the older one
    is cancelled (its model run stops within one token step) and answers None, never a stale result.
    """

    def __init__(self) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="codegen-model")
        self._running: dict[str, threading.Event] = {}
        self.stats: Counter[str] = Counter()

    async def call(self, work: Callable[..., T], *args) -> T:
        """Run ``work(*args)`` on the worker thread, after the work queued before it (e.g. loading a model)."""
        return await asyncio.get_running_loop().run_in_executor(self._executor, work, *args)

    async def run_latest(self, key: str, work: Callable[[Cancelled], T]) -> T | None:
        """Run ``work(cancelled)`` on the worker thread unless newer work for ``key`` or ``$/cancelRequest``
        arrives first; None when superseded or cancelled."""
        previous = self._running.get(key)
        if previous is not None:
            previous.set()
            self.stats["superseded"] += 1
        cancel = threading.Event()
        self._running[key] = cancel
        try:
            result = await self.call(_unless_cancelled, work, cancel)
        except asyncio.CancelledError:
            cancel.set()
            self.stats["cancelled"] += 1
            raise
        finally:
            if self._running.get(key) is cancel:
                del self._running[key]
        return None if cancel.is_set() else result

    def shutdown(self) -> None:
        for cancel in self._running.values():
            cancel.set()
        self._executor.shutdown(wait=False, cancel_futures=True)


def _unless_cancelled(work: Callable[[Cancelled], T], cancel: threading.Event) -> T | None:
    """Skip work that was superseded while it waited in the queue."""
    return None if cancel.is_set() else work(cancel.is_set)
