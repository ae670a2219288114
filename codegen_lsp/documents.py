"""Documents as the LSP defines them, where pygls' TextDocument differs.

- Lines end only at \\r\\n, \\r or \\n. pygls splits with str.splitlines, which also breaks at form feeds, \\x0b,
  \\x1c-\\x1e, \\x85, \\u2028 and \\u2029: in a file holding one of those, every position after it meant another
  place to the server than to the editor, and incremental edits corrupted the server's copy.
- A character past the end of a line means the line's end (pygls took one character before it on a last line
  without a line end, and overwrote the client's Position object while doing so).
- A line past the end of the document means the document's end.
- An offset at the end of the document is a position on its last line (pygls answered a line past it, and raised
  on an empty document).
"""

from __future__ import annotations

import re
from typing import Sequence

from lsprotocol import types
from pygls.workspace import PositionCodec, TextDocument, Workspace
from pygls.workspace.position_codec import ServerTextPosition

_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+")
_LINE_END = re.compile(r"(?:\r\n|\r|\n)$")


def lsp_lines(text: str) -> tuple[str, ...]:
    """The lines of ``text`` with their line ends, split only where the LSP ends a line."""
    return tuple(_LINE.findall(text))


class LspPositionCodec(PositionCodec):
    def position_from_client_units(self, lines: Sequence[str], position: types.Position) -> ServerTextPosition:
        """``position`` (client code units) as a line and a code point column, clamped as the spec says."""
        if position.line >= len(lines):
            return ServerTextPosition(len(lines), 0)
        content = _LINE_END.sub("", lines[position.line])
        units = column = 0
        for char in content:
            if units >= position.character:
                break
            units += self.impl.code_units_for_char(char)
            column += 1
        return ServerTextPosition(position.line, column)


class LspTextDocument(TextDocument):
    @property
    def lines(self) -> Sequence[str]:
        return lsp_lines(self.source)

    def server_position_at_offset(self, offset: int) -> ServerTextPosition:
        """The line and code point column of ``offset`` (an index into the source), clamped to the document."""
        remaining = max(0, offset)
        lines = self.lines
        for lineno, line in enumerate(lines):
            content_length = len(_LINE_END.sub("", line))
            if remaining <= content_length:
                return ServerTextPosition(lineno, remaining)
            if remaining < len(line):  # inside a \r\n pair: the line's end
                return ServerTextPosition(lineno, content_length)
            remaining -= len(line)
        if lines and not _LINE_END.search(lines[-1]):
            return ServerTextPosition(len(lines) - 1, len(lines[-1]))
        return ServerTextPosition(len(lines), 0)


class LspWorkspace(Workspace):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._position_codec = LspPositionCodec(encoding=self._position_encoding)

    def _create_text_document(self, doc_uri: str, source: str | None = None, version: int | None = None,
                              language_id: str | None = None) -> TextDocument:
        return LspTextDocument(doc_uri, source=source, version=version, language_id=language_id,
                               sync_kind=self._sync_kind, position_codec=self._position_codec)
