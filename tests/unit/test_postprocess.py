"""Shaping model output: stop rules, suffix overlap, closing brackets, repetition, indentation."""

import pytest

from codegen_lsp.context import CompletionContext
from codegen_lsp.postprocess import (
    drop_duplicate_closers,
    finalize,
    match_indentation,
    should_stop,
    trim_suffix_overlap,
    truncate,
)


def context(multiline=False, base_indent=0, family="indent", suffix="", line_suffix="", indent_unit="    "):
    return CompletionContext(prefix="", suffix=suffix, multiline=multiline, base_indent=base_indent,
                             indent_unit=indent_unit, line_suffix=line_suffix, family=family)


def test_single_line_stops_at_the_newline():
    assert truncate("a + b\nprint(x)", context()) == "a + b"
    assert should_stop("a + b\n", context())
    assert not should_stop("a + b", context())


def test_python_block_ends_at_a_line_left_of_the_body():
    text = "\n    return a + b\n\ndef sub(a, b):\n    return a - b"
    assert truncate(text, context(multiline=True)) == "\n    return a + b\n"
    assert finalize(text, context(multiline=True)) == "\n    return a + b"


def test_python_nested_block_keeps_deeper_lines():
    text = "\n        if x:\n            return 1\n        return 2\n    def g(self):"
    assert finalize(text, context(multiline=True, base_indent=4)) == \
        "\n        if x:\n            return 1\n        return 2"


def test_brace_block_keeps_the_closing_line_and_stops_after_it():
    text = "\n  return a + b;\n}\n\nfunction sub(a, b) {"
    assert truncate(text, context(multiline=True, family="brace")) == "\n  return a + b;\n}"
    assert should_stop("\n  return a + b;\n}\n", context(multiline=True, family="brace"))


def test_brace_block_auto_closed_brace_in_suffix_is_not_doubled():
    text = "\n  return a + b;\n}\n"
    assert finalize(text, context(multiline=True, family="brace", suffix="\n}\n", indent_unit="  ")) == "\n  return a + b;"


@pytest.mark.parametrize(("text", "suffix", "expected"), [
    ('"hello")', ")", '"hello"'),
    ("a, b):", "):\n    pass", "a, b"),
    ("compute(x) + 1", " + 1\nnext_line", "compute(x)"),  # the rest of the line, rewritten
    ("x = a", "a + b", "x = a"),  # a coincidence inside a word is kept
    ("value", "", "value"),
])
def test_trim_suffix_overlap(text, suffix, expected):
    assert trim_suffix_overlap(text, suffix) == expected


@pytest.mark.parametrize(("text", "line_suffix", "expected"), [
    ("b))", ")", "b)"),
    ("b) ", ")", "b"),  # trailing whitespace does not hide the duplicate
    ("g(x))", ")", "g(x)"),
    ("g(x)", ")", "g(x)"),  # balanced: nothing to drop
    ("b]", ")", "b]"),  # the suffix supplies another bracket
])
def test_drop_duplicate_closers(text, line_suffix, expected):
    assert drop_duplicate_closers(text, line_suffix) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("x = 1\nx = 1\nx = 1\nx = 1", "x = 1"),
    ("a()\nb()\na()\nb()\na()\nb()", "a()\nb()"),
    ("foo" + ", 0" * 20, "foo, 0"),
    ("first\nsecond\nthird", "first\nsecond\nthird"),
])
def test_repetition_loops_are_cut_to_one_occurrence(text, expected):
    assert truncate(text, context(multiline=True, base_indent=-1)) == expected


def test_tabs_document_gets_tabs():
    text = "\n    if x:\n        return 1"
    assert match_indentation(text, "\t") == "\n\tif x:\n\t\treturn 1"


def test_two_space_document_gets_two_spaces_per_tab():
    assert match_indentation("\n\tif x:\n\t\ty()", "  ") == "\n  if x:\n    y()"


def test_same_style_is_left_alone():
    assert match_indentation("\n            return x", "  ") == "\n            return x"


def test_spaces_document_gets_spaces_from_tabs():
    assert match_indentation("\n\tif x:\n\t\ty()", "    ") == "\n    if x:\n        y()"


@pytest.mark.parametrize("text", ["", "   ", "\n\n", "\n    \n"])
def test_empty_or_whitespace_only_is_no_suggestion(text):
    assert finalize(text, context(multiline=True)) is None


def test_suggestion_that_only_repeats_the_suffix_is_no_suggestion():
    assert finalize(")", context(suffix=")", line_suffix=")")) is None


def test_a_multi_line_answer_stops_where_the_documents_next_line_begins():
    from codegen_lsp.postprocess import cut_at_following_line

    suffix = "\n        return total\n"
    text = "total = 0\n        for item in items:\n            total += item\n        return total"
    assert cut_at_following_line(text, suffix) == "total = 0\n        for item in items:\n            total += item"
    assert cut_at_following_line("total = 0", suffix) == "total = 0"  # one line: nothing to cut
