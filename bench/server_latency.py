"""Keystroke-to-suggestion latency of the real server over stdio, driven like an editor.

Opens a real source file (the stdlib's textwrap.py, ~5,000 tokens), types a function into it one character at
a time and asks for an inline completion after every keystroke, waiting for each answer. Prints p50/p95
latency and the cache hit rate, then the same with the completion cache off and with both the cache and the
runtime's KV prefix reuse off (ratios against the full server).

    python bench/server_latency.py [--model DIR] [--file PATH] [--max-tokens N]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import textwrap
import time
from pathlib import Path

from lsprotocol import types
from pygls.lsp.client import LanguageClient

TYPED = "def wrap_all(texts, width=70):\n    return [fill(text, width=width) for text in texts]\n"
INSERT_BEFORE = 'if __name__ == "__main__":'
URI = "file:///bench/textwrap.py"
CONFIGURATIONS = {
    "full server": {},
    "no completion cache": {"completionCache": False},
    "no cache, no prefix reuse": {"completionCache": False, "prefixReuse": False},
}


def position(text: str, offset: int) -> types.Position:
    """Position of ``offset`` in UTF-16 units (the default encoding; the benchmark text is ASCII)."""
    line = text.count("\n", 0, offset)
    return types.Position(line=line, character=offset - (text.rfind("\n", 0, offset) + 1))


async def command(client: LanguageClient, name: str) -> dict:
    return await client.workspace_execute_command_async(types.ExecuteCommandParams(command=name))


async def inline(client: LanguageClient, at: types.Position) -> list[str]:
    result = await client.text_document_inline_completion_async(types.InlineCompletionParams(
        text_document=types.TextDocumentIdentifier(uri=URI), position=at,
        context=types.InlineCompletionContext(trigger_kind=types.InlineCompletionTriggerKind.Automatic)))
    return [item.insert_text for item in (result.items if result else [])]


async def run(source: str, options: dict) -> dict:
    """Type TYPED into ``source`` under ``options``; latencies (ms), cache hits, model runs, first answer."""
    client = LanguageClient("server-latency-bench", "1")
    client.feature(types.WINDOW_LOG_MESSAGE)(lambda params: None)
    client.feature(types.WINDOW_SHOW_MESSAGE)(lambda params: print(f"  server: {params.message}"))
    await client.start_io(sys.executable, "-m", "codegen_lsp")
    await client.initialize_async(types.InitializeParams(capabilities=types.ClientCapabilities(),
                                                         initialization_options=options))
    client.initialized(types.InitializedParams())
    while (status := await command(client, "codegen.status"))["state"] in ("idle", "loading"):
        await asyncio.sleep(0.1)
    if status["state"] != "ready":
        raise SystemExit(f"model not usable: {status['error']}")
    client.text_document_did_open(types.DidOpenTextDocumentParams(types.TextDocumentItem(
        uri=URI, language_id="python", version=1, text=source)))
    text, offset = source, source.index(INSERT_BEFORE)
    started = time.perf_counter()
    first = await inline(client, position(text, offset))
    cold_ms = (time.perf_counter() - started) * 1000
    latencies = []
    for version, char in enumerate(TYPED, start=2):
        at = position(text, offset)
        client.text_document_did_change(types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=URI, version=version),
            content_changes=[types.TextDocumentContentChangePartial(range=types.Range(start=at, end=at), text=char)]))
        text, offset = text[:offset] + char + text[offset:], offset + 1
        started = time.perf_counter()
        await inline(client, position(text, offset))
        latencies.append((time.perf_counter() - started) * 1000)
    stats = (await command(client, "codegen.status"))["stats"]
    await client.shutdown_async(None)
    client.exit(None)
    await client.stop()
    return {"latencies": latencies, "cache_hits": stats.get("cache_hits", 0), "cold_ms": cold_ms,
            "generations": stats.get("generations", 0), "first": first}


def percentile(values: list[float], share: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[round(share * 100) - 1]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="", help="model directory or store (default: the server's default)")
    parser.add_argument("--file", type=Path, default=Path(textwrap.__file__), help="file to type into")
    parser.add_argument("--max-tokens", type=int, default=16)
    args = parser.parse_args()
    source = args.file.read_text(encoding="utf-8")
    if INSERT_BEFORE not in source:
        raise SystemExit(f"{args.file} has no line {INSERT_BEFORE!r} to type before")
    print(f"file {args.file} ({len(source)} chars), typing {len(TYPED)} keystrokes, maxTokens {args.max_tokens}")
    rows = []
    for name, debug in CONFIGURATIONS.items():
        result = await run(source, {"model": args.model, "maxTokens": args.max_tokens, "debug": debug})
        rows.append((name, result))
        print(f"  {name}: first suggestion {result['first']!r} in {result['cold_ms']:.0f} ms", flush=True)
    base_p50 = percentile(rows[0][1]["latencies"], 0.5)
    print(f"\n| configuration | p50 ms | p95 ms | cache hit rate | model runs | p50 vs full server |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name, result in rows:
        latencies = result["latencies"]
        p50, p95 = percentile(latencies, 0.5), percentile(latencies, 0.95)
        print(f"| {name} | {p50:.1f} | {p95:.1f} | {result['cache_hits'] / len(latencies):.0%} | "
              f"{result['generations']} | {p50 / base_p50:.2f}x |")


if __name__ == "__main__":
    asyncio.run(main())
