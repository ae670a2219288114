"""codegen_lsp.documents: LSP line ends and position clamping (the server's document sync rests on them)."""

import pytest
from lsprotocol import types

from codegen_lsp.documents import LspWorkspace, lsp_lines

URI = "file:///workspace/a.py"


@pytest.mark.parametrize("text, lines", [
    ("", ()),
    ("x\n", ("x\n",)),
    ("a\r\nb\rc\nd", ("a\r\n", "b\r", "c\n", "d")),
    ("page\x0cbreak\u2028same\x85line\x0b", ("page\x0cbreak\u2028same\x85line\x0b",)),
])
def test_lines_end_only_at_lsp_line_ends(text, lines):
    assert lsp_lines(text) == lines


def document(text: str):
    workspace = LspWorkspace(None)
    workspace.put_text_document(types.TextDocumentItem(uri=URI, language_id="python", version=1, text=text))
    return workspace, workspace.get_text_document(URI)


@pytest.mark.parametrize("text, line, character, offset", [
    ("def f(", 0, 1000, 6),  # past the end of a last line without a line end: the line's end
    ("ab\r\ncd", 0, 9, 2),  # past the end of a line: before its line end
    ("\x0ca😀b", 0, 4, 3),  # a form feed is not a line end; UTF-16 units
    ("ab\n", 7, 3, 3),  # past the last line: the document's end
    ("", 0, 5, 0),
])
def test_positions_map_to_offsets_as_the_spec_says(text, line, character, offset):
    position = types.Position(line=line, character=character)
    assert document(text)[1].offset_at_position(position) == offset
    assert position == types.Position(line=line, character=character)  # the request's own position is kept


def test_incremental_edits_across_unusual_characters_keep_the_client_text():
    workspace, doc = document("\x0ca\u2028b\r\nc")
    change = types.TextDocumentContentChangePartial(
        range=types.Range(start=types.Position(line=0, character=1), end=types.Position(line=1, character=1)), text="Z")
    workspace.update_text_document(types.VersionedTextDocumentIdentifier(uri=URI, version=2), change)
    assert workspace.get_text_document(URI).source == "\x0cZ"


@pytest.mark.parametrize("text, offset, line, character", [
    ("", 0, 0, 0),  # an empty document (pygls raised UnboundLocalError)
    ("def f(", 6, 0, 6),  # the end of a last line without a line end stays on that line
    ("ab\n", 3, 1, 0),  # after the last line end: the empty line after it
    ("ab\r\ncd", 3, 0, 2),  # between \r and \n: the line's end
    ("a😀b\n", 2, 0, 3),  # UTF-16 units
    ("ab", 99, 0, 2),  # past the end: the document's end
])
def test_offsets_map_to_positions_inside_the_document(text, offset, line, character):
    assert document(text)[1].client_position_at_offset(offset) == types.Position(line=line, character=character)
