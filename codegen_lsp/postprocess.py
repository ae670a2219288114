"""Shape raw model output into a suggestion: stop rules, suffix overlap, brackets, repetition, indentation (pure)."""

from __future__ import annotations

import re

from .context import CompletionContext, indent_width

_OPEN_TO_CLOSE = {"(": ")", "[": "]", "{": "}"}
_CLOSERS = frozenset(_OPEN_TO_CLOSE.values())
# A unit of 1..40 characters repeated at least 4 times at the end of the text.
_REPEATED_TAIL = re.compile(r"(.{1,40}?)\1{3,}$", re.DOTALL)
MIN_REPEATED_CHARS = 16
MAX_REPEATED_LINE_BLOCK = 4
SPACES_PER_TAB = 4


def _cut_block(text: str, context: CompletionContext) -> str:
    """Cut a multi-line answer where its block ends: a line at or left of the opener's indentation.

    For brace languages the closing line (``}``) is kept; for indentation languages it is dropped.
    """
    brace_family = context.family != "indent"
    lines = text.split("\n")
    depth = 0
    for index, line in enumerate(lines):
        if brace_family:
            depth += sum(line.count(o) - line.count(c) for o, c in _OPEN_TO_CLOSE.items())
            if depth < 0:
                return "\n".join(lines[: index + 1])
        complete = index < len(lines) - 1 or not brace_family  # brace closers may still be typed on this line
        if index > 0 and line.strip() and complete and indent_width(line) <= context.base_indent:
            if brace_family and line.lstrip()[:1] in _CLOSERS:
                return "\n".join(lines[: index + 1])
            return "\n".join(lines[:index])
    return text


def _cut_repetition(text: str) -> str:
    """Drop a repetition loop: a block of up to MAX_REPEATED_LINE_BLOCK lines repeated 3 times, or a
    repeated run of characters of MIN_REPEATED_CHARS or more at the end; one occurrence is kept."""
    lines = text.split("\n")
    for size in range(1, MAX_REPEATED_LINE_BLOCK + 1):
        for start in range(0, len(lines) - 3 * size + 1):
            block = lines[start:start + size]
            if any(line.strip() for line in block) and block == lines[start + size:start + 2 * size] \
                    == lines[start + 2 * size:start + 3 * size]:
                return "\n".join(lines[:start + size])
    match = _REPEATED_TAIL.search(text)
    if match and len(match.group(0)) >= MIN_REPEATED_CHARS:
        return text[: match.start() + len(match.group(1))]
    return text


def cut_at_following_line(text: str, suffix: str) -> str:
    """Cut a multi-line answer before the first of its lines that is the document's next non-blank line after the
    cursor's (the model writing on into what is already there)."""
    following = next((line.strip() for line in suffix.split("\n")[1:] if line.strip()), None)
    if following is None or "\n" not in text:
        return text
    lines = text.split("\n")
    for index, line in enumerate(lines[1:], 1):
        if line.strip() == following:
            return "\n".join(lines[:index])
    return text


def truncate(text: str, context: CompletionContext) -> str:
    """Apply the stop rules to generated text: one line unless multi-line, block end, the document's next line,
    repetition loops."""
    if not context.multiline:
        text = text.split("\n", 1)[0]
    else:
        text = cut_at_following_line(_cut_block(text, context), context.suffix)
    return _cut_repetition(text)


def should_stop(text: str, context: CompletionContext) -> bool:
    """Generation can stop: the stop rules already cut something off ``text``."""
    return truncate(text, context) != text


def trim_suffix_overlap(text: str, suffix: str) -> str:
    """Drop the end of ``text`` that repeats the start of the text after the cursor (an editor's auto-closed
    ``)`` or ``}``, or the rest of the line the model rewrote).

    The repeated part must be punctuation only or reach the end of a suffix line, so that a completion
    ending in ``a`` is not cut because the suffix happens to start with ``a``.
    """
    body = text.rstrip()
    for size in range(min(len(body), len(suffix)), 0, -1):
        head = suffix[:size]
        reaches_line_end = size == len(suffix) or suffix[size] == "\n"
        punctuation_only = not any(char.isalnum() or char == "_" for char in head)
        if head.strip() and body.endswith(head) and (reaches_line_end or punctuation_only):
            return body[:-size]
    return text


def drop_duplicate_closers(text: str, line_suffix: str) -> str:
    """Drop closing brackets at the end of ``text`` that close nothing in it when the cursor's line already
    supplies them (e.g. ``foo(a`` + ``b))`` with ``)`` after the cursor)."""
    depth = {closer: 0 for closer in _CLOSERS}
    for char in text:
        if char in _OPEN_TO_CLOSE:
            depth[_OPEN_TO_CLOSE[char]] += 1
        elif char in _CLOSERS:
            depth[char] -= 1
    supplied = line_suffix.lstrip()
    body = text.rstrip()
    while body and body[-1] in _CLOSERS and depth[body[-1]] < 0 and supplied.startswith(body[-1]):
        depth[body[-1]] += 1
        supplied = supplied[1:].lstrip()
        body = body[:-1].rstrip()
    return body if body != text.rstrip() else text


def match_indentation(text: str, indent_unit: str) -> str:
    """Rewrite the leading whitespace of continuation lines in the document's style when the model used the
    other one (tabs vs spaces; a tab counts SPACES_PER_TAB columns)."""
    lines = text.split("\n")
    wrong = " " if indent_unit == "\t" else "\t"
    if not any(line.startswith(wrong) for line in lines[1:]):
        return text
    converted = [lines[0]]
    for line in lines[1:]:
        body = line.lstrip(" \t")
        columns = len(line[: len(line) - len(body)].expandtabs(SPACES_PER_TAB))
        levels, extra = divmod(columns, SPACES_PER_TAB)
        converted.append(indent_unit * levels + " " * extra + body if line.strip() else "")
    return "\n".join(converted)


def finalize(text: str, context: CompletionContext) -> str | None:
    """The suggestion to show for generated ``text``, or None when nothing useful remains."""
    text = truncate(text, context)
    text = trim_suffix_overlap(text, context.suffix)
    text = drop_duplicate_closers(text, context.line_suffix)
    text = match_indentation(text, context.indent_unit).rstrip()
    return text if text.strip() else None
