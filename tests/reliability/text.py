"""The client side of document sync: LSP lines (only \\r\\n, \\r and \\n end a line) and UTF-16 positions."""

from __future__ import annotations

import re

LINE_END = re.compile(r"\r\n|\r|\n")


def position_at(text: str, offset: int) -> dict:
    """The LSP position (UTF-16 code units) of character ``offset``."""
    line_start, line = 0, 0
    for match in LINE_END.finditer(text, 0, offset):
        if match.end() > offset:  # inside a \r\n: not a position a client sends
            break
        line_start, line = match.end(), line + 1
    return {"line": line, "character": len(text[line_start:offset].encode("utf-16-le")) // 2}


def line_count(text: str) -> int:
    return len(LINE_END.findall(text)) + 1


def line_end_offset(text: str, line: int) -> int:
    """Character offset of the end of ``line``'s content (before its line end)."""
    starts = [0] + [match.end() for match in LINE_END.finditer(text)]
    match = LINE_END.search(text, starts[line])
    return match.start() if match else len(text)


def snap(text: str, offset: int) -> int:
    """``offset`` moved off the middle of a \\r\\n pair."""
    return offset - 1 if 0 < offset < len(text) and text[offset - 1:offset + 1] == "\r\n" else offset
