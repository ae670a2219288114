"""Hypothesis over a real server process: random editing sessions (incremental and whole-document changes with
multi-byte and astral Unicode, every LSP line end and characters Python alone treats as line breaks), requests at
random and out-of-range positions, cancellations, closes and re-opens, sent as fast as an editor can.

Invariants: the server stays up and never answers a valid request with an error (a cancelled one may get
RequestCancelled); its copy of each document equals the client's; every request gets exactly one response; an
inline suggestion is the one for that request's own context (or empty when superseded), and the last request
of a burst gets its suggestion.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from codegen_lsp.engine import CompletionRequest, suggest
from codegen_lsp.fake_model import ScriptedModel
from codegen_lsp.settings import parse_settings

from .conftest import SCRIPTED_MODEL, scripted_server
from .figures import record
from .text import line_count, line_end_offset, position_at, snap

REQUEST_CANCELLED = -32800
# No cache (every answer is a fresh generation, so it can be predicted) and a generous time budget (a slow,
# shared CPU must not truncate generations).
OPTIONS = {"debug": {"logDocuments": True, "completionCache": False}, "timeBudgetMs": 60_000}
PIECES = ["a", "x", " ", "    ", "(", "= ", "é", "中", "😀", "👩‍💻", "\n", "\r\n", "\r", "\t", "\x0c", "\u2028",
          "\x85", "\x0b", "def f(", "total = ", ")"]
text_strategy = st.lists(st.sampled_from(PIECES), max_size=12).map("".join)
fraction = st.floats(0, 1)
request = st.tuples(st.just("request"), st.sampled_from(["inline", "inline", "completion", "codeAction"]), fraction,
                    fraction, st.sampled_from(["in range", "in range", "in range", "past the line", "past the document"]))
operation = st.one_of(  # hypothesis favours the first: requests, which are half of what an editor sends
    request,
    st.tuples(st.just("edit"), fraction, fraction, text_strategy),
    st.tuples(st.just("edits"), st.lists(st.tuples(fraction, fraction, text_strategy), min_size=2, max_size=4)),
    st.tuples(st.just("replace"), text_strategy),
    st.tuples(st.just("cancel")),
    st.tuples(st.just("reopen")),
)


class FuzzedDocument:
    """One document as the client sees it, and the requests sent about it with what each must be answered."""

    def __init__(self, server, uri: str, text: str) -> None:
        self.server, self.uri, self.text, self.version = server, uri, text, 1
        self.inline: list[tuple[int, list[str] | None]] = []  # (id, expected texts or None: any result)
        self.other: list[int] = []
        self.cancelled: set[int] = set()
        server.open(uri, text)

    def change(self, edits: list[tuple[float, float, str]]) -> None:
        """One didChange with several incremental edits, each applied to the text the previous one left."""
        changes = []
        for start_fraction, end_fraction, new_text in edits:
            start, end = sorted(snap(self.text, int(f * len(self.text))) for f in (start_fraction, end_fraction))
            changes.append({"range": {"start": position_at(self.text, start), "end": position_at(self.text, end)},
                            "text": new_text})
            self.text = self.text[:start] + new_text + self.text[end:]
        self._did_change(changes)

    def replace(self, text: str) -> None:
        self.text = text
        self._did_change([{"text": text}])

    def _did_change(self, changes: list[dict]) -> None:
        self.version += 1
        self.server.notify("textDocument/didChange", {"textDocument": {"uri": self.uri, "version": self.version},
                                                      "contentChanges": changes})

    def request(self, kind: str, at: float, until: float, where: str, expected_at) -> None:
        start = snap(self.text, int(at * len(self.text)))
        position = position_at(self.text, start)
        expected = expected_at(self.text, start)
        if where == "past the line":  # the spec: a character past the line's end means the line's end
            expected = expected_at(self.text, line_end_offset(self.text, position["line"]))
            position["character"] += 1000
        elif where == "past the document":
            position, expected = {"line": line_count(self.text) + 5, "character": 3}, None
        if kind == "inline":
            self.inline.append((self.server.inline_completion(self.uri, **position), expected))
        elif kind == "completion":
            self.other.append(self.server.request("textDocument/completion", {
                "textDocument": {"uri": self.uri}, "position": position}))
        else:
            end = position_at(self.text, snap(self.text, int(max(at, until) * len(self.text))))
            self.other.append(self.server.request("textDocument/codeAction", {
                "textDocument": {"uri": self.uri}, "range": {"start": position, "end": end},
                "context": {"diagnostics": []}}))

    def cancel_last(self) -> None:
        if self.inline:
            self.cancelled.add(self.inline[-1][0])
            self.server.cancel(self.inline[-1][0])

    def reopen(self) -> None:
        self.server.notify("textDocument/didClose", {"textDocument": {"uri": self.uri}})
        self.version = 1
        self.server.open(self.uri, self.text)

    def check(self) -> None:
        """Wait for every answer and check it, then compare the server's copy of the text with the client's."""
        last_inline = self.inline[-1][0] if self.inline else None
        for request_id, expected in self.inline:
            response = self.server.wait(request_id)
            if request_id in self.cancelled and response.get("error", {}).get("code") == REQUEST_CANCELLED:
                continue
            assert "error" not in response, response
            texts = [item["insertText"] for item in response["result"]["items"] if item["insertText"]]
            if expected is not None:
                if request_id == last_inline and request_id not in self.cancelled:
                    assert texts == expected, (self.text, response)
                else:
                    assert texts in ([], expected), (self.text, response)  # empty when superseded, never stale
        for request_id in self.other:
            response = self.server.wait(request_id)
            assert "error" not in response, response
        copy = self.server.command("codegen.debugDocument", self.uri)
        assert copy.get("result") == {"text": self.text}, (repr(self.text), copy)


def expectation(workspace: Path):
    """`expected(text, offset)`: the suggestion texts the server must give there, computed with the same model
    script and pipeline in this process."""
    model = ScriptedModel.from_file(SCRIPTED_MODEL)
    server_settings = parse_settings(OPTIONS)[0]

    def expected(text: str, offset: int) -> list[str]:
        request = CompletionRequest(text, offset, "python", "fuzzed.py")
        suggestion = suggest(model, request, server_settings, lambda: False).text
        return [suggestion] if suggestion else []

    return expected


def test_random_editing_sessions_keep_the_server_in_sync_and_answering(workspace):
    counts = {"requests": 0, "changes": 0, "examples": 0}
    expected_at = expectation(workspace)
    with scripted_server(workspace, OPTIONS) as server:

        @settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
        @given(initial=text_strategy, operations=st.lists(operation, min_size=5, max_size=25))
        def session(initial, operations):
            counts["examples"] += 1
            document = FuzzedDocument(server, (workspace / "fuzzed.py").as_uri(), initial)
            for name, *arguments in operations:
                if name == "edit":
                    document.change([tuple(arguments)])
                elif name == "edits":
                    document.change(arguments[0])
                elif name == "replace":
                    document.replace(arguments[0])
                elif name == "request":
                    document.request(*arguments, expected_at)
                elif name == "cancel":
                    document.cancel_last()
                else:
                    document.reopen()
            counts["changes"] += sum(name in ("edit", "edits", "replace") for name, *_ in operations)
            document.check()
            counts["requests"] += len(document.inline) + len(document.other) + 1
            server.notify("textDocument/didClose", {"textDocument": {"uri": document.uri}})

        session()
        time.sleep(0.5)  # a late duplicate answer would arrive now
        assert server.alive()
        duplicated = {request_id: len(answers) for request_id, answers in server.responses.items() if len(answers) != 1}
        assert duplicated == {}
        internal_errors = [r for answers in server.responses.values() for r in answers
                           if r.get("error", {}).get("code") not in (None, REQUEST_CANCELLED)]
        assert internal_errors == [], json.dumps(internal_errors)[:2000]
    record("fuzz examples", counts["examples"])
    record("fuzz requests", counts["requests"])
    record("fuzz document changes", counts["changes"])
