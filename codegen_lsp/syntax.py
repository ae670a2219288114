"""Does code parse? tree-sitter grammars per LSP languageId (ERROR/MISSING nodes), `ast` for Python (pure)."""

from __future__ import annotations

import ast
import functools

import tree_sitter_language_pack
from tree_sitter import Node, Parser, Tree

# LSP languageId -> tree-sitter-language-pack grammar name.
GRAMMARS = {
    "python": "python",
    "javascript": "javascript",
    "javascriptreact": "javascript",
    "typescript": "typescript",
    "typescriptreact": "tsx",
    "java": "java",
    "go": "go",
    "rust": "rust",
    "c": "c",
    "cpp": "cpp",
}
MAX_PROBLEMS = 3


def supports(language_id: str) -> bool:
    return language_id in GRAMMARS


@functools.cache
def _parser(grammar: str) -> Parser:
    return tree_sitter_language_pack.get_parser(grammar)


def parse(text: str, language_id: str) -> Tree:
    """The tree-sitter tree of ``text`` (byte offsets are into its UTF-8 encoding). KeyError for an unknown language."""
    return _parser(GRAMMARS[language_id]).parse(text.encode("utf-8"))


def _byte_offset(text: str, offset: int) -> int:
    return len(text[:offset].encode("utf-8"))


def _describe(node: Node) -> str:
    line = node.start_point[0] + 1
    if node.is_missing:
        return f"line {line}: missing `{node.type}`"
    snippet = node.text.decode("utf-8", "replace").split("\n", 1)[0][:30]
    return f"line {line}: unexpected `{snippet}`"


def _error_nodes(node: Node, start: int, end: int) -> list[Node]:
    """ERROR and MISSING nodes of ``node``'s subtree that overlap the byte range [start, end) (a MISSING node,
    empty, counts at ``end`` too)."""
    if not node.has_error or node.end_byte < start or node.start_byte > end:
        return []
    if node.is_error or node.is_missing:
        empty = node.start_byte == node.end_byte
        return [node] if empty or (node.start_byte < end and node.end_byte > start) else []
    return [found for child in node.children for found in _error_nodes(child, start, end)]


def problems(text: str, language_id: str, region: tuple[int, int] | None = None) -> list[str]:
    """Why ``text`` does not parse, one line each (at most MAX_PROBLEMS); empty when it parses.

    Only problems overlapping ``region`` (character offsets; default: all of ``text``) count, so that problems
    elsewhere in a file being edited are not blamed on the changed code: tree-sitter errors, and for Python first
    ``ast.parse`` of the whole text (when its error lies outside the region, tree-sitter judges the region).
    """
    start, end = region if region is not None else (0, len(text))
    if language_id == "python":
        try:
            ast.parse(text)
        except SyntaxError as error:
            first_line, last_line = text.count("\n", 0, start) + 1, text.count("\n", 0, end) + 1
            if region is None or error.lineno is None or first_line <= error.lineno <= last_line:
                return [f"line {error.lineno}: {error.msg}"]
        except ValueError as error:  # e.g. a NUL character
            return [str(error)]
        else:
            return []
    root = parse(text, language_id).root_node
    return [_describe(node) for node in _error_nodes(root, _byte_offset(text, start), _byte_offset(text, end))][
        :MAX_PROBLEMS
    ]
