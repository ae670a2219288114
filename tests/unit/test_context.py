"""Prompt context: the multi-line decision per language, budget cuts, neighbour snippets."""

import pytest

from model.prompts import PREFIX_CUT_GRANULARITY, keep_head, keep_tail
from codegen_lsp.context import (
    Neighbour,
    best_snippets,
    build_context,
    detect_indent_unit,
)


def count_words(text: str) -> int:
    return len(text.split()) + text.count("\n")


CURSOR = "|"

# (language, document with the cursor marked "|", expect multi-line)
MULTILINE_CASES = [
    ("python", "def add(a, b):|", True),
    ("python", "if x:\n    |", True),
    ("python", "class A:\n    def f(self):|\n", True),
    ("python", "x = add(1, |)", False),
    ("python", "return a + |", False),
    ("python", "d = {'a':|", False),  # a dict literal, not a block
    ("python", "values[1:|", False),
    ("python", "if x:\n    y = 1\n|", False),  # empty line after the block, not inside it
    ("python", "def f():| pass", False),  # code after the cursor
    ("javascript", "function add(a, b) {|", True),
    ("javascript", "function add(a, b) {|}", True),  # auto-closed brace after the cursor
    ("javascript", "if (x) {\n  |\n}", True),
    ("javascript", "const x = f(|);", False),
    ("typescript", "class A {\n  m(): number {|", True),
    ("typescript", "let y: number = |", False),
    ("java", "public int add(int a, int b) {|", True),
    ("java", "int x = a.|", False),
    ("go", "func add(a, b int) int {|", True),
    ("go", "for i := 0; i < n; i++ {\n\t|", True),
    ("go", "x := |", False),
    ("rust", "fn add(a: i32, b: i32) -> i32 {|", True),
    ("rust", "let v = vec![|];", False),
    ("c", "int add(int a, int b) {|", True),
    ("c", "int add(int a, int b) {\n\n|", False),  # not indented: not inside the new block
    ("cpp", "for (auto& x : xs) {\n    |", True),
    ("cpp", "std::vector<int> v = |", False),
]


@pytest.mark.parametrize(("language", "document", "multiline"), MULTILINE_CASES)
def test_multiline_decision(language, document, multiline):
    offset = document.index(CURSOR)
    text = document.replace(CURSOR, "")
    context = build_context(text, offset, language, 1000, count_words)
    assert context.multiline is multiline


def test_multiline_setting_off_gives_single_line():
    context = build_context("def f():", 8, "python", 1000, count_words, allow_multiline=False)
    assert not context.multiline


def test_base_indent_is_the_block_openers():
    text = "class A:\n    def f(self):\n        "
    context = build_context(text, len(text), "python", 1000, count_words)
    assert context.multiline and context.base_indent == 4


def test_keep_tail_keeps_the_nearest_whole_lines_within_budget():
    prefix = "".join(f"line {i}\n" for i in range(500)) + "current"
    kept = keep_tail(prefix, 100, count_words)
    assert prefix.endswith(kept) and kept.endswith("current")
    assert count_words(kept) <= 100
    assert kept.startswith("line ")  # whole lines


def test_keep_tail_start_stays_put_while_typing_on_one_line():
    above = "".join(f"line {i}\n" for i in range(500))
    starts = {keep_tail(above + "x" * n + " y" * (n // 3), 200, count_words).split("\n", 1)[0] for n in range(60)}
    assert len(starts) == 1
    first_kept_line = int(starts.pop().split()[1])
    assert first_kept_line % PREFIX_CUT_GRANULARITY == 0


def test_keep_tail_keeps_short_prefix_whole():
    assert keep_tail("a\nb\nc", 100, count_words) == "a\nb\nc"


def test_keep_head_keeps_the_cursor_line_and_the_nearest_lines():
    suffix = ") + 1\n" + "".join(f"after {i}\n" for i in range(100))
    kept = keep_head(suffix, 10, count_words)
    assert kept.startswith(") + 1\nafter 0\n")
    assert count_words(kept) <= 10


def test_prefix_and_suffix_fit_the_budget_together():
    text = "".join(f"before {i}\n" for i in range(300)) + "".join(f"after {i}\n" for i in range(300))
    offset = text.index("after 0")
    context = build_context(text, offset, "python", 120, count_words)
    assert count_words(context.prefix) + count_words(context.suffix) <= 120
    assert context.prefix.endswith("before 299\n") and context.suffix.startswith("after 0\n")


def test_snippets_prefer_the_neighbour_sharing_identifiers():
    neighbours = [
        Neighbour("unrelated.py", "def colour_wheel():\n    return rainbow_spectrum\n"),
        Neighbour("geometry.py", "def rectangle_area(width, height):\n    return width * height\n"),
    ]
    chosen = best_snippets("area = rectangle_area(width, height)\n", neighbours, 100, count_words)
    assert [snippet.path for snippet in chosen] == ["geometry.py"]


def test_snippets_go_before_the_prefix_as_comments_when_budget_remains():
    neighbours = [Neighbour("geometry.py", "def rectangle_area(width, height):\n    return width * height\n")]
    text = "width = 3\nheight = 4\narea = "
    context = build_context(text, len(text), "python", 500, count_words, neighbours=neighbours)
    assert context.prefix.startswith("# Compare this snippet from geometry.py:\n# def rectangle_area")
    assert context.prefix.endswith(text)


def test_snippets_are_left_out_when_the_prefix_fills_the_budget():
    neighbours = [Neighbour("geometry.py", "def rectangle_area(width, height):\n    return width * height\n")]
    text = "".join(f"width{i} = height{i}\n" for i in range(200))
    context = build_context(text, len(text), "python", 100, count_words, neighbours=neighbours)
    assert "Compare this snippet" not in context.prefix


@pytest.mark.parametrize(("text", "unit"), [
    ("def f():\n\treturn 1\n", "\t"),
    ("def f():\n  if x:\n    return 1\n", "  "),
    ("def f():\n    return 1\n", "    "),
    ("x = 1\n", "    "),
])
def test_detect_indent_unit(text, unit):
    assert detect_indent_unit(text) == unit


def test_without_fim_the_prefix_has_the_whole_budget_and_the_suffix_only_shapes_the_answer():
    text = "".join(f"line {i}\n" for i in range(400)) + "x = " + "".join(f"\nafter {i}" for i in range(400))
    offset = text.index("x = ") + 4
    with_fim = build_context(text, offset, "python", 300, count_words)
    without = build_context(text, offset, "python", 300, count_words, suffix_in_prompt=False)
    assert count_words(without.prefix) > count_words(with_fim.prefix)
    assert without.suffix.startswith("\nafter 0") and count_words(without.suffix) <= 64 + 3


@pytest.mark.parametrize("rest, allowed", [("", True), (")", True), ('"):', True), ("  ", True), ("]}", True),
                                           ("x)", False), (" + 1", False), ("foo", False)])
def test_completes_line_end_only_before_closers_quotes_colons_and_spaces(rest, allowed):
    from codegen_lsp.context import completes_line_end

    assert completes_line_end(rest) is allowed
