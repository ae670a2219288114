"""A storm of 1,000 inline completion requests, typed at editor speed and then as fast as the pipe takes them,
with every third one cancelled: one generation at a time, superseded work dropped, memory flat, and the last
request still gets its full suggestion."""

from __future__ import annotations

import gc
import json
import time

from .conftest import scripted_server
from .figures import record

STORM = 1000
TYPED = 200  # the first requests come at typing speed, the rest back to back
TYPING_INTERVAL_S = 0.03
SUGGESTION = " ".join(f"word{i}" for i in range(12))
TOKEN_DELAY_MS = 10  # a generation takes ~120 ms: longer than a keystroke
RSS_GROWTH_BOUND_MB = 40
REQUEST_CANCELLED = -32800


def test_a_storm_of_inline_requests_keeps_one_generation_and_flat_memory(tmp_path, workspace):
    script = tmp_path / "storm_model.json"
    script.write_text(json.dumps({"rules": [{"after": "", "text": SUGGESTION, "token_delay_ms": TOKEN_DELAY_MS}]}))
    uri = (workspace / "storm.py").as_uri()
    with scripted_server(workspace, {}, script=script) as server:
        server.open(uri, "value = ")
        text = "value = "
        warm = server.wait(server.inline_completion(uri, 0, len(text)))
        assert warm["result"]["items"][0]["insertText"] == SUGGESTION
        gc.collect()
        rss_before = server.rss_bytes()
        sent, cancelled = [], set()
        for index in range(STORM):
            server.notify("textDocument/didChange", {"textDocument": {"uri": uri, "version": index + 2},
                                                     "contentChanges": [{"range": {
                                                         "start": {"line": 0, "character": len(text)},
                                                         "end": {"line": 0, "character": len(text)}}, "text": "x"}]})
            text += "x"
            sent.append(server.inline_completion(uri, 0, len(text)))
            if index % 3 == 1:
                server.cancel(sent[-1])
                cancelled.add(sent[-1])
            if index < TYPED:
                time.sleep(TYPING_INTERVAL_S)
        last_sent = time.monotonic()
        last = server.wait(sent[-1])
        last_latency_ms = (time.monotonic() - last_sent) * 1000
        answers = [server.wait(request_id) for request_id in sent]
        time.sleep(0.5)
        rss_after = server.rss_bytes()
        stats = server.status()["stats"]

        assert last["result"]["items"][0]["insertText"] == SUGGESTION  # the newest context is served in full
        assert all(len(server.responses[json.dumps(request_id)]) == 1 for request_id in sent)
        for request_id, answer in zip(sent, answers):
            if "error" in answer:
                assert request_id in cancelled and answer["error"]["code"] == REQUEST_CANCELLED, answer
        full = sum(bool(a.get("result", {}).get("items")) for a in answers)
        assert stats["generations"] < STORM / 2, stats  # superseded requests waiting in line never ran
        assert stats["superseded"] + stats["cancelled"] >= STORM - full - 1, stats
        growth_mb = (rss_after - rss_before) / 2**20
        assert growth_mb < RSS_GROWTH_BOUND_MB, (rss_before, rss_after)
        assert server.command("codegen.status")["result"]["state"] == "ready"
    record("storm requests", STORM)
    record("storm cancelled by the client", len(cancelled))
    record("storm generations run", stats["generations"])
    record("storm answered with a suggestion", full)
    record("storm RSS before (MB)", round(rss_before / 2**20, 1))
    record("storm RSS after (MB)", round(rss_after / 2**20, 1))
    record("storm last request latency (ms)", round(last_latency_ms))
