"""Parse validation: tree-sitter ERROR/MISSING nodes in a region, ast for Python."""

from __future__ import annotations

import pytest

from codegen_lsp import syntax

VALID = {
    "python": "def f(a):\n    return a + 1\n",
    "javascript": "function f(a) {\n  return a + 1;\n}\n",
    "javascriptreact": "const el = <div>{x}</div>;\n",
    "typescript": "function f(a: number): number {\n  return a + 1;\n}\n",
    "typescriptreact": "const el = <div>{x as number}</div>;\n",
    "java": "class A {\n    int f(int a) {\n        return a + 1;\n    }\n}\n",
    "go": "package p\n\nfunc f(a int) int {\n\treturn a + 1\n}\n",
    "rust": "fn f(a: i32) -> i32 {\n    a + 1\n}\n",
    "c": "int f(int a) {\n    return a + 1;\n}\n",
    "cpp": "template <typename T>\nT f(T a) {\n    return a + 1;\n}\n",
}
INVALID = {
    "python": ("def f(a):\nreturn a\n", "line 2: expected an indented block"),
    "javascript": ("function f(a) {\n  return a +;\n}\n", "line 2: missing `identifier`"),
    "typescript": ("function f(a: number {\n  return a;\n}\n", "line 1"),
    "java": ("class A {\n    int f() { return 1 }\n}\n", "line 2: missing `;`"),
    "go": ("package p\n\nfunc f() int {\n\treturn (1\n}\n", "line 4"),
    "rust": ("fn f() -> i32 {\n    let x = ;\n    x\n}\n", "line 2"),
    "c": ("int f(void) {\n    return 1\n}\n", "line 2: missing `;`"),
    "cpp": ("int f() {\n    return @;\n}\n", "line 2: unexpected `@`"),
}


@pytest.mark.parametrize("language", sorted(VALID))
def test_valid_code_has_no_problems(language):
    assert syntax.problems(VALID[language], language) == []


@pytest.mark.parametrize("language", sorted(INVALID))
def test_invalid_code_is_reported_with_its_line(language):
    text, expected = INVALID[language]
    found = syntax.problems(text, language)
    assert found and found[0].startswith(expected), found


def test_errors_outside_the_region_are_not_counted():
    text = "function ok() {\n  return 1;\n}\nfunction broken( {\n"
    assert syntax.problems(text, "javascript", (0, text.index("function broken"))) == []
    assert syntax.problems(text, "javascript", (text.index("function broken"), len(text)))


def test_python_null_character_is_a_problem_not_a_crash():
    assert syntax.problems("x = '\0'\n", "python")


def test_supported_languages():
    assert syntax.supports("rust") and not syntax.supports("ruby")


def test_a_python_error_elsewhere_in_the_file_is_not_blamed_on_the_region():
    text = "def broken(:\n    pass\n\n\ndef area(w, h):\n    return w * h\n"
    body_start = text.index("    return")
    assert syntax.problems(text, "python", (body_start, len(text))) == []
    bad = text.replace("return w * h", "return (w * h")
    assert syntax.problems(bad, "python", (body_start, len(bad)))  # the region's own error still counts
    assert syntax.problems(text, "python")  # without a region the whole file is judged
