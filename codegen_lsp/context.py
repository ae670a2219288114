"""Prompt context around the cursor: prefix, suffix and neighbour snippets cut to a token budget (pure)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Literal, Sequence

from model.prompts import SUFFIX_SHARE, keep_head, truncate_context

CountTokens = Callable[[str], int]
Family = Literal["indent", "brace", "other"]

INDENT_LANGUAGES = frozenset({"python", "cython", "nim"})
BRACE_LANGUAGES = frozenset({
    "c", "cpp", "cuda-cpp", "objective-c", "objective-cpp", "csharp", "java", "kotlin", "scala", "swift", "go",
    "rust", "javascript", "javascriptreact", "typescript", "typescriptreact", "php", "dart", "zig",
})
_HASH_COMMENT_LANGUAGES = frozenset({
    "python", "cython", "nim", "ruby", "shellscript", "bash", "sh", "perl", "r", "yaml", "toml", "makefile",
    "dockerfile", "elixir", "julia", "powershell",
})
_DASH_COMMENT_LANGUAGES = frozenset({"lua", "sql", "haskell", "elm"})
_BLOCK_OPENER = {"indent": ":", "brace": "{", "other": "{"}
_CLOSERS_ONLY = re.compile(r"[\s)\]};,]*")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{2,}")

# Text after the cursor that post-processing reads when the prompt holds none (a model without FIM tokens).
FOLLOWING_TOKENS = 64
# The rest of a line where a model without FIM tokens may still complete: closing brackets, quotes, a colon, spaces.
_LINE_END_ONLY = re.compile(r"[\s)\]}'\"`:;,]*")
SNIPPET_LINES = 16
QUERY_LINES = 30


def language_family(language_id: str) -> Family:
    if language_id in INDENT_LANGUAGES:
        return "indent"
    if language_id in BRACE_LANGUAGES:
        return "brace"
    return "other"


def comment_marker(language_id: str) -> str:
    if language_id in _HASH_COMMENT_LANGUAGES:
        return "#"
    if language_id in _DASH_COMMENT_LANGUAGES:
        return "--"
    return "//"


def indent_width(line: str) -> int:
    """Columns of leading whitespace (tabs count 4)."""
    expanded = line.expandtabs(4)
    return len(expanded) - len(expanded.lstrip(" "))


def _brackets_balanced(line: str) -> bool:
    depth = 0
    for char in line:
        depth += (char in "([{") - (char in ")]}")
    return depth <= 0


def block_opener_line(
    language_id: str, line_before_cursor: str, line_after_cursor: str, previous_lines: Sequence[str]
) -> str | None:
    """The line that opens a new block at the cursor, or None when the suggestion should be a single line.

    Multi-line when the cursor ends a line that opens a block (``:`` in Python, ``{`` in C-like languages;
    only closing brackets may follow the cursor) or sits on an empty line right after such a line.
    """
    if not _CLOSERS_ONLY.fullmatch(line_after_cursor):
        return None
    family = language_family(language_id)
    opener = _BLOCK_OPENER[family]

    def opens_block(line: str) -> bool:
        code = line.rstrip()
        return code.endswith(opener) and (family != "indent" or _brackets_balanced(code))

    if opens_block(line_before_cursor):
        return line_before_cursor
    if line_before_cursor.strip():
        return None
    previous = next((line for line in reversed(previous_lines) if line.strip()), None)
    if previous is not None and opens_block(previous) and indent_width(line_before_cursor) > indent_width(previous):
        return previous
    return None


def detect_indent_unit(text: str) -> str:
    """The document's indentation unit: a tab, or the most common step of space indentation (default 4)."""
    tabbed = spaced = 0
    steps: dict[int, int] = {}
    previous = 0
    for line in text.splitlines():
        if not line.strip():
            continue
        if line.startswith("\t"):
            tabbed += 1
            continue
        width = len(line) - len(line.lstrip(" "))
        if width:
            spaced += 1
        if width > previous:
            steps[width - previous] = steps.get(width - previous, 0) + 1
        previous = width
    if tabbed > spaced:
        return "\t"
    return " " * (max(steps, key=steps.get) if steps else 4)


def completes_line_end(line_after_cursor: str) -> bool:
    """Whether only closers, quotes, a colon or whitespace follow the cursor on its line: where a prefix-only prompt
    can complete (what Copilot does without fill-in-the-middle)."""
    return bool(_LINE_END_ONLY.fullmatch(line_after_cursor))


def identifiers(text: str) -> frozenset[str]:
    return frozenset(_IDENTIFIER.findall(text))


@dataclass(frozen=True)
class Neighbour:
    """Another open document of the same language."""

    path: str
    text: str


@dataclass(frozen=True)
class Snippet:
    path: str
    text: str
    score: float


def best_snippets(query: str, neighbours: Sequence[Neighbour], budget: int, count_tokens: CountTokens) -> list[Snippet]:
    """Windows of neighbour documents that share the most identifiers with ``query`` (Jaccard), within ``budget``."""
    wanted = identifiers(query)
    if not wanted or budget <= 0:
        return []
    candidates: list[Snippet] = []
    for neighbour in neighbours:
        lines = neighbour.text.splitlines(keepends=True)
        best: Snippet | None = None
        for start in range(0, max(len(lines) - SNIPPET_LINES, 0) + 1, SNIPPET_LINES // 2):
            window = "".join(lines[start:start + SNIPPET_LINES])
            found = identifiers(window)
            score = len(wanted & found) / len(wanted | found) if found else 0.0
            if score > 0 and (best is None or score > best.score):
                best = Snippet(neighbour.path, window, score)
        if best is not None:
            candidates.append(best)
    chosen: list[Snippet] = []
    for snippet in sorted(candidates, key=lambda s: (-s.score, s.path)):
        cost = count_tokens(snippet.text) + 8
        if cost <= budget:
            chosen.append(snippet)
            budget -= cost
    return chosen


def format_snippets(snippets: Sequence[Snippet], language_id: str) -> str:
    """Snippets as comments, to go before the document's prefix."""
    marker = comment_marker(language_id)
    parts = []
    for snippet in snippets:
        body = "".join(f"{marker} {line}" if line.strip() else f"{marker}\n" for line in snippet.text.splitlines(True))
        parts.append(f"{marker} Compare this snippet from {snippet.path}:\n{body.rstrip()}\n")
    return "".join(parts)


@dataclass(frozen=True)
class CompletionContext:
    """What the model sees and how its answer is shaped."""

    prefix: str  # neighbour snippets + the document's text before the cursor, cut to budget
    suffix: str  # the document's text after the cursor, cut to budget (without FIM: only for post-processing)
    multiline: bool
    base_indent: int  # indentation (columns) of the line that opens the block; a multi-line answer ends below it
    indent_unit: str  # the document's indentation unit ("\t" or spaces)
    line_suffix: str  # the rest of the cursor's line
    family: Family


def build_context(
    text: str,
    offset: int,
    language_id: str,
    budget: int,
    count_tokens: CountTokens,
    allow_multiline: bool = True,
    neighbours: Sequence[Neighbour] = (),
    suffix_in_prompt: bool = True,
) -> CompletionContext:
    """The prompt context for a completion at character ``offset`` of ``text``; without ``suffix_in_prompt`` (a model
    without FIM tokens) the prefix has the whole budget and the suffix is only read by post-processing."""
    before, after = text[:offset], text[offset:]
    line_start = before.rfind("\n") + 1
    line_before = before[line_start:]
    line_after = after.split("\n", 1)[0]
    previous_lines = before[:line_start].splitlines()[-QUERY_LINES:]
    opener = block_opener_line(language_id, line_before, line_after, previous_lines) if allow_multiline else None

    prefix, suffix = truncate_context(before, after, budget, count_tokens, SUFFIX_SHARE if suffix_in_prompt else 0.0)
    if prefix == before and neighbours:
        # Lines above the cursor's line choose the snippets, so that typing on one line keeps the prompt stable.
        room = budget - count_tokens(prefix) - count_tokens(suffix)
        prefix = format_snippets(best_snippets("".join(previous_lines), neighbours, room, count_tokens), language_id) + prefix
    if not suffix_in_prompt:
        suffix = keep_head(after, FOLLOWING_TOKENS, count_tokens)
    return CompletionContext(
        prefix=prefix,
        suffix=suffix,
        multiline=opener is not None,
        base_indent=indent_width(opener) if opener is not None else indent_width(line_before),
        indent_unit=detect_indent_unit(text[:20_000]),
        line_suffix=line_after,
        family=language_family(language_id),
    )
