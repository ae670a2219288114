"""Functions whose body is only documentation and a placeholder, and where a generated body goes (pure).

Python: a docstring as the body's first statement, then only `pass`, `...`, `raise NotImplementedError` or
comments. Brace languages: a doc comment right above the function (JSDoc/Javadoc/Doxygen `/** */`, Go `//`,
Rust `///`) and a body holding only comments, a language's "not written yet" statement, or nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tree_sitter import Node

from . import syntax
from .context import detect_indent_unit

_COMMENTS = frozenset({"comment", "line_comment", "block_comment"})
_SKIPPED_BEFORE_FUNCTION = frozenset({"attribute_item", "decorator"})  # between a doc comment and its function
_COMMENT_CONTINUATION = re.compile(r"(?m)^[ \t]*\*.*$")  # " * text" lines of /** */ (not indentation)
_JS_FUNCTIONS = frozenset({
    "function_declaration", "generator_function_declaration", "method_definition", "function_expression",
    "arrow_function", "function",
})
_JS_WRAPPERS = frozenset({"export_statement", "lexical_declaration", "variable_declaration", "variable_declarator"})


@dataclass(frozen=True)
class _Rules:
    functions: frozenset[str]  # node types of functions with a `body` field
    wrappers: frozenset[str]  # node types that hold a function and carry its doc comment (export, template...)
    doc_prefixes: tuple[str, ...]  # how a doc comment starts ((): the docstring is inside the body)
    placeholder: re.Pattern | None  # a statement that stands for "not written yet"


_JS = _Rules(_JS_FUNCTIONS, _JS_WRAPPERS, ("/**",), re.compile(r"throw new \w*Error\(.*\);?"))
_C = _Rules(frozenset({"function_definition"}), frozenset({"template_declaration"}), ("/**", "///"), None)
_RULES = {
    "python": _Rules(frozenset({"function_definition"}), frozenset({"decorated_definition"}), (),
                     re.compile(r"pass|\.\.\.|raise NotImplementedError(\(.*\))?")),
    "javascript": _JS,
    "javascriptreact": _JS,
    "typescript": _JS,
    "typescriptreact": _JS,
    "java": _Rules(frozenset({"method_declaration", "constructor_declaration"}), frozenset(), ("/**",),
                   re.compile(r"throw new \w*(Exception|Error)\(.*\);")),
    "go": _Rules(frozenset({"function_declaration", "method_declaration"}), frozenset(), ("//",),
                 re.compile(r"panic\(.*\)")),
    "rust": _Rules(frozenset({"function_item"}), frozenset(), ("///", "/**"),
                   re.compile(r"(todo|unimplemented)!\(.*\);?")),
    "c": _C,
    "cpp": _C,
}


@dataclass(frozen=True)
class Stub:
    """A documented function without a body. Offsets are characters into the document's text."""

    name: str
    doc: str
    start: int  # the start of the function with its documentation (doc comment, decorators)
    end: int  # the end of the function
    body_start: int  # the placeholder that the generated body replaces: text[body_start:body_end]
    body_end: int
    indent: str  # the indentation of the body's lines
    closing: str  # what follows the body: a newline and the closing brace's indentation ("" for Python)

    def fill_in(self, text: str) -> tuple[str, str]:
        """The prefix and suffix around the body's first line, at its indentation (for a FIM prompt)."""
        return text[: self.body_start] + "\n" + self.indent, self.closing + text[self.body_end :]

    def replacement(self, body: str) -> str:
        """What replaces the placeholder for ``body`` (as generated after ``fill_in``'s prefix)."""
        return "\n" + self.indent + body + self.closing

    def apply(self, text: str, body: str) -> tuple[str, tuple[int, int]]:
        """``text`` with ``body`` in place of the placeholder, and the range of the function in the new text."""
        replacement = self.replacement(body)
        new_text = text[: self.body_start] + replacement + text[self.body_end :]
        return new_text, (self.start, self.end + len(replacement) - (self.body_end - self.body_start))


def supports(language_id: str) -> bool:
    return language_id in _RULES


def find_stub(text: str, language_id: str, offset: int) -> Stub | None:
    """The innermost documented function without a body around character ``offset`` (its doc comment counts)."""
    rules = _RULES.get(language_id)
    if rules is None:
        return None
    source = text.encode("utf-8")
    at = len(text[:offset].encode("utf-8"))
    root = syntax.parse(text, language_id).root_node
    for near in sorted({at, max(at - 1, 0)}, reverse=True):  # a cursor at a line end touches the node before it
        for function in _candidates(root.descendant_for_byte_range(near, near), near, rules):
            stub = _stub(function, source, language_id, rules)
            if stub is not None and stub.start <= offset <= stub.end:
                return stub
    return None


def _candidates(node: Node, at: int, rules: _Rules):
    """Functions that may hold the cursor: enclosing ones (innermost first), then the one a doc comment at the
    cursor documents."""
    ancestor, comment = node, None
    while ancestor is not None:
        if (function := _function_within(ancestor, rules)) is not None:
            yield function
        if ancestor.type in _COMMENTS:
            comment = ancestor
        ancestor = ancestor.parent
    following = comment or next((child for child in node.named_children if child.start_byte >= at), None)
    while following is not None and (following.type in _COMMENTS or following.type in _SKIPPED_BEFORE_FUNCTION):
        following = following.next_named_sibling
    if following is not None and (function := _function_within(following, rules)) is not None:
        yield function


def _function_within(node: Node, rules: _Rules) -> Node | None:
    """``node`` if it is a function, else the function a wrapper (export, declaration, template) holds."""
    if node.type in rules.functions:
        return node
    if node.type in rules.wrappers:
        return next((f for child in node.named_children if (f := _function_within(child, rules))), None)
    return None


def _stub(function: Node, source: bytes, language_id: str, rules: _Rules) -> Stub | None:
    body = function.child_by_field_name("body")
    if body is None:
        return None
    documented = function
    while documented.parent is not None and documented.parent.type in rules.wrappers:
        documented = documented.parent
    statements = _statements(body)
    if language_id == "python":
        return _python_stub(function, documented, statements, source, rules)
    if not (body.text.startswith(b"{") and body.text.endswith(b"}")):
        return None
    if not all(_is_placeholder(statement, rules) for statement in statements):
        return None
    docs = _doc_comments(documented, source, rules)
    if not docs:
        return None
    closing_indent = _line_indent(source, function.start_byte)
    code = _COMMENT_CONTINUATION.sub("", source[:20_000].decode("utf-8", "replace"))
    unit = "\t" if language_id == "go" else detect_indent_unit(code)
    chars = _CharOffsets(source)
    return Stub(
        name=_name(function),
        doc="\n".join(comment.text.decode("utf-8", "replace") for comment in docs),
        start=chars(docs[0].start_byte),
        end=chars(documented.end_byte),
        body_start=chars(body.start_byte + 1),
        body_end=chars(body.end_byte - 1),
        indent=closing_indent + unit,
        closing="\n" + closing_indent,
    )


def _python_stub(
    function: Node, documented: Node, statements: list[Node], source: bytes, rules: _Rules
) -> Stub | None:
    if not statements or not _is_docstring(statements[0]):
        return None
    docstring, rest = statements[0], statements[1:]
    if not all(_is_placeholder(statement, rules) for statement in rest):
        return None
    line_start = source.rfind(b"\n", 0, docstring.start_byte) + 1
    indent = source[line_start : docstring.start_byte].decode("utf-8")
    if indent.strip():  # `def f(): """doc"""` - a body cannot follow on the next lines
        return None
    chars = _CharOffsets(source)
    return Stub(
        name=_name(function),
        doc=docstring.text.decode("utf-8", "replace"),
        start=chars(documented.start_byte),
        end=chars(documented.end_byte),
        body_start=chars(docstring.end_byte),
        body_end=chars(rest[-1].end_byte if rest else docstring.end_byte),
        indent=indent,
        closing="",
    )


class _CharOffsets:
    """Byte offsets into UTF-8 ``source`` -> character offsets."""

    def __init__(self, source: bytes) -> None:
        self._source = source

    def __call__(self, byte_offset: int) -> int:
        return len(self._source[:byte_offset].decode("utf-8", "replace"))


def _statements(body: Node) -> list[Node]:
    """The body's statements and comments (Go wraps them in a statement_list)."""
    children = body.named_children
    return [s for child in children for s in (child.named_children if child.type == "statement_list" else [child])]


def _is_docstring(node: Node) -> bool:
    if node.type == "expression_statement" and node.named_child_count == 1:
        node = node.named_children[0]
    return node.type == "string"


def _is_placeholder(statement: Node, rules: _Rules) -> bool:
    if statement.type in _COMMENTS:
        return True
    text = statement.text.decode("utf-8", "replace").strip()
    return rules.placeholder is not None and rules.placeholder.fullmatch(text) is not None


def _doc_comments(documented: Node, source: bytes, rules: _Rules) -> list[Node]:
    """The doc comments right above ``documented`` (no blank line between), first to last."""
    docs: list[Node] = []
    below = documented
    sibling = documented.prev_named_sibling
    while sibling is not None and sibling.type in _SKIPPED_BEFORE_FUNCTION:
        below, sibling = sibling, sibling.prev_named_sibling
    while sibling is not None and sibling.type in _COMMENTS:
        gap = source[sibling.end_byte - 1 : below.start_byte]  # a line comment may end with its newline
        if gap.count(b"\n") > 1 or not sibling.text.decode("utf-8", "replace").startswith(rules.doc_prefixes):
            break
        docs.insert(0, sibling)
        below, sibling = sibling, sibling.prev_named_sibling
    return docs


def _line_indent(source: bytes, byte_offset: int) -> str:
    line_start = source.rfind(b"\n", 0, byte_offset) + 1
    line = source[line_start:byte_offset].decode("utf-8", "replace")
    return line[: len(line) - len(line.lstrip(" \t"))]


def _name(function: Node) -> str:
    """The function's name: its `name` field, the innermost C declarator, or the variable it is assigned to."""
    node = function
    while node is not None:
        if (name := node.child_by_field_name("name")) is not None:
            return name.text.decode("utf-8", "replace")
        declarator = node.child_by_field_name("declarator")
        if declarator is None:
            break
        node = declarator
    if node is not function and node.child_by_field_name("declarator") is None:
        return node.text.decode("utf-8", "replace")
    parent = function.parent
    if parent is not None and (name := parent.child_by_field_name("name")) is not None:
        return name.text.decode("utf-8", "replace")
    return ""


def _extra_indent(text: str) -> str:
    """The whitespace a generation put before its first line, which already starts at the body's indentation."""
    first = text.split("\n", 1)[0]
    return first[: len(first) - len(first.lstrip())]


def _outside_line(text: str, indent: str) -> int | None:
    """Where the first line after the first that leaves the body's indentation (as the first line set it) starts
    (None: none yet)."""
    indent += _extra_indent(text)
    position = text.find("\n")
    while position != -1:
        line_start = position + 1
        line_end = text.find("\n", line_start)
        line = text[line_start:] if line_end == -1 else text[line_start:line_end]
        if line.strip() and not line.startswith(indent):
            return line_start
        position = line_end
    return None


def body_ended(generated: str, indent: str) -> bool:
    """Stop rule while generating a body: a line (after the first) left the body's indentation."""
    return _outside_line(generated, indent) is not None


def shape_body(generated: str, indent: str) -> str:
    """The generated body up to where it leaves its indentation, without trailing whitespace or blank lines.

    The generation starts at the body's indentation; a model that indents its first line once more (small models
    do) has the whole body shifted back by that much, so that it parses.
    """
    cut = _outside_line(generated, indent)
    body = generated if cut is None else generated[:cut]
    extra = _extra_indent(body)
    first, *rest = (line.rstrip() for line in body.rstrip().split("\n"))
    rest = [indent + line[len(indent + extra):] if line.strip() else "" for line in rest]
    return "\n".join([first[len(extra):], *rest])
