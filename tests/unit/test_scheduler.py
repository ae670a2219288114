"""Scheduler (supersession, cancellation) and the completion cache (exact hits, type-through)."""

import asyncio
import threading

from codegen_lsp.scheduler import CompletionCache, Scheduler


def test_cache_exact_context_hit():
    cache = CompletionCache()
    cache.store("a", "x = ", "\n", "compute()")
    assert cache.lookup("a", "x = ", "\n") == "compute()"
    assert cache.lookup("b", "x = ", "\n") is None


def test_cache_type_through_answers_the_rest_of_the_suggestion():
    cache = CompletionCache()
    cache.store("a", "x = ", "\n", "compute(items)")
    assert cache.lookup("a", "x = com", "\n") == "pute(items)"
    assert cache.lookup("a", "x = compute(items", "\n") == ")"


def test_cache_misses_when_the_typed_text_departs_or_the_suffix_changed():
    cache = CompletionCache()
    cache.store("a", "x = ", "\n", "compute(items)")
    assert cache.lookup("a", "x = cal", "\n") is None
    assert cache.lookup("a", "x = com", ")\n") is None
    assert cache.lookup("a", "x = compute(items)", "\n") is None  # fully typed: nothing left to suggest


def test_cache_remembers_empty_answers_for_the_same_context_only():
    cache = CompletionCache()
    cache.store("a", "x = ", "\n", "")
    assert cache.lookup("a", "x = ", "\n") == ""
    assert cache.lookup("a", "x = 1", "\n") is None


def test_cache_forget():
    cache = CompletionCache()
    cache.store("a", "p", "s", "t")
    cache.store("b", "p", "s", "t")
    cache.forget("a")
    assert cache.lookup("a", "p", "s") is None and cache.lookup("b", "p", "s") == "t"
    cache.forget()
    assert cache.lookup("b", "p", "s") is None


def test_newer_work_for_a_document_supersedes_the_older():
    async def scenario():
        scheduler = Scheduler()
        started, stopped = threading.Event(), threading.Event()

        def slow(cancelled):
            started.set()
            while not cancelled():
                threading.Event().wait(0.005)
            stopped.set()
            return "stale"

        older = asyncio.ensure_future(scheduler.run_latest("doc", slow))
        await asyncio.get_running_loop().run_in_executor(None, started.wait, 5)
        newer = await scheduler.run_latest("doc", lambda cancelled: "fresh")
        assert await older is None and stopped.is_set()
        assert newer == "fresh"
        assert scheduler.stats["superseded"] == 1
        scheduler.shutdown()

    asyncio.run(scenario())


def test_other_documents_do_not_supersede():
    async def scenario():
        scheduler = Scheduler()
        results = await asyncio.gather(scheduler.run_latest("a", lambda c: 1), scheduler.run_latest("b", lambda c: 2))
        assert results == [1, 2]
        scheduler.shutdown()

    asyncio.run(scenario())


def test_cancelling_the_request_stops_the_work():
    async def scenario():
        scheduler = Scheduler()
        started, stopped = threading.Event(), threading.Event()

        def slow(cancelled):
            started.set()
            while not cancelled():
                threading.Event().wait(0.005)
            stopped.set()

        task = asyncio.ensure_future(scheduler.run_latest("doc", slow))
        await asyncio.get_running_loop().run_in_executor(None, started.wait, 5)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        assert task.cancelled()
        assert await asyncio.get_running_loop().run_in_executor(None, stopped.wait, 5)
        assert scheduler.stats["cancelled"] == 1
        scheduler.shutdown()

    asyncio.run(scenario())


def test_work_superseded_while_queued_never_runs():
    async def scenario():
        scheduler = Scheduler()
        ran = []
        gate = threading.Event()
        blocker = asyncio.ensure_future(scheduler.call(gate.wait, 5))
        queued = asyncio.ensure_future(scheduler.run_latest("doc", lambda c: ran.append("old")))
        await asyncio.sleep(0)
        newer = asyncio.ensure_future(scheduler.run_latest("doc", lambda c: ran.append("new") or "new"))
        await asyncio.sleep(0)
        gate.set()
        await blocker
        assert await queued is None and await newer == "new"
        assert ran == ["new"]
        scheduler.shutdown()

    asyncio.run(scenario())
