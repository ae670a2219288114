"""Detection of documented functions without a body, per language, and where the generated body goes."""

from __future__ import annotations

import pytest

from codegen_lsp import docstring, syntax

CURSOR = "<|>"


def _at_cursor(marked: str) -> tuple[str, int]:
    assert marked.count(CURSOR) == 1
    return marked.replace(CURSOR, ""), marked.index(CURSOR)


# (language, document with the cursor, generated body, the document after the edit)
POSITIVE = {
    "python pass": (
        "python",
        'import os\n\n@cached\ndef add(a, b):\n    """Add a and <|>b."""\n    pass\n\nx = 1\n',
        "return a + b",
        'import os\n\n@cached\ndef add(a, b):\n    """Add a and b."""\n    return a + b\n\nx = 1\n',
    ),
    "python docstring only, cursor on def": (
        "python",
        'def <|>f(a):\n    """Doc.\n\n    More.\n    """\n',
        "if a:\n        return 1\n    return 2",
        'def f(a):\n    """Doc.\n\n    More.\n    """\n    if a:\n        return 1\n    return 2\n',
    ),
    "python method, ellipsis and raise": (
        "python",
        'class A:\n    def m(self):\n        """Doc."""\n        ...\n        raise NotImplementedError("later")<|>\n',
        "return 1",
        'class A:\n    def m(self):\n        """Doc."""\n        return 1\n',
    ),
    "javascript jsdoc, cursor on the doc": (
        "javascript",
        "/**\n * Adds <|>numbers.\n */\nexport function add(a, b) {\n  // TODO\n}\n",
        "return a + b;",
        "/**\n * Adds numbers.\n */\nexport function add(a, b) {\n  return a + b;\n}\n",
    ),
    "javascript arrow function": (
        "javascript",
        "/** Doubles. */\nconst double = (x) => {<|>};\n",
        "return 2 * x;",
        "/** Doubles. */\nconst double = (x) => {\n    return 2 * x;\n};\n",
    ),
    "typescript method with empty braces": (
        "typescript",
        "class A {\n  /** Adds. */\n  add(a: number): number {<|>}\n}\n",
        "return a;",
        "class A {\n  /** Adds. */\n  add(a: number): number {\n    return a;\n  }\n}\n",
    ),
    "java javadoc with annotation": (
        "java",
        'class A {\n    /** Adds. */\n    @Override\n    int <|>add(int a) {\n'
        '        throw new UnsupportedOperationException("todo");\n    }\n}\n',
        "return a + 1;",
        "class A {\n    /** Adds. */\n    @Override\n    int add(int a) {\n        return a + 1;\n    }\n}\n",
    ),
    "go line comments": (
        "go",
        'package p\n\n// Add adds.\n// It is <|>exact.\nfunc Add(a, b int) int {\n\tpanic("todo")\n}\n',
        "return a + b",
        "package p\n\n// Add adds.\n// It is exact.\nfunc Add(a, b int) int {\n\treturn a + b\n}\n",
    ),
    "rust doc comment and attribute": (
        "rust",
        "/// Adds <|>one.\n#[inline]\nfn add_one(a: i32) -> i32 {\n    todo!()\n}\n",
        "a + 1",
        "/// Adds one.\n#[inline]\nfn add_one(a: i32) -> i32 {\n    a + 1\n}\n",
    ),
    "c doxygen": (
        "c",
        "/** Adds. */\nint add(int a, int b)<|> {\n}\n",
        "return a + b;",
        "/** Adds. */\nint add(int a, int b) {\n    return a + b;\n}\n",
    ),
    "cpp template method": (
        "cpp",
        "struct S {\n    /** Same. */\n    template <typename T>\n    T same(T a) {\n        // TODO<|>\n    }\n};\n",
        "return a;",
        "struct S {\n    /** Same. */\n    template <typename T>\n    T same(T a) {\n        return a;\n    }\n};\n",
    ),
}

NEGATIVE = {
    "python real body": ("python", 'def f():\n    """Doc."""\n    return <|>1\n'),
    "python no docstring": ("python", "def f():\n    <|>pass\n"),
    "python statement before docstring": ("python", 'def f():\n    x = 1\n    """Doc."""<|>\n'),
    "python one-line def": ("python", 'def f(): """Doc."""<|>\n'),
    "python class docstring": ("python", 'class A:\n    """Doc<|>."""\n    pass\n'),
    "python cursor outside": ("python", 'def f():\n    """Doc."""\n    pass\n\nx = <|>1\n'),
    "javascript plain comment": ("javascript", "// Adds.\nfunction add(a, b) {<|>}\n"),
    "javascript blank line after jsdoc": ("javascript", "/** Adds. */\n\nfunction add(a, b) {<|>}\n"),
    "javascript real body": ("javascript", "/** Adds. */\nfunction add(a, b) {\n  return a<|> + b;\n}\n"),
    "typescript expression body": ("typescript", "/** Id. */\nconst id = (x: number) => <|>x;\n"),
    "java block comment": ("java", "class A {\n    /* Adds. */\n    int add(int a) {<|>}\n}\n"),
    "go comment then blank line": ("go", "package p\n\n// Add adds.\n\nfunc Add() {<|>}\n"),
    "go real body": ("go", "package p\n\n// Add adds.\nfunc Add() int {\n\treturn <|>1\n}\n"),
    "rust plain comment": ("rust", "// Adds one.\nfn add_one(a: i32) -> i32 {<|>}\n"),
    "rust real body": ("rust", "/// Adds one.\nfn add_one(a: i32) -> i32 {\n    a + <|>1\n}\n"),
    "c prototype": ("c", "/** Adds. */\nint add(int a, int b)<|>;\n"),
    "cpp plain comment": ("cpp", "/* Adds. */\nint add(int a, int b) {<|>}\n"),
    "unsupported language": ("ruby", "# Adds.\ndef add(a, b)<|>\nend\n"),
}


@pytest.mark.parametrize("language, marked, body, expected", POSITIVE.values(), ids=POSITIVE.keys())
def test_documented_stub_is_found_and_filled(language, marked, body, expected):
    text, offset = _at_cursor(marked)
    stub = docstring.find_stub(text, language, offset)
    assert stub is not None
    new_text, (start, end) = stub.apply(text, body)
    assert new_text == expected
    assert body in new_text[start:end] and new_text[end:] == text[stub.end:]
    assert syntax.problems(new_text, language, (start, end)) == []


@pytest.mark.parametrize("language, marked", NEGATIVE.values(), ids=NEGATIVE.keys())
def test_not_a_stub(language, marked):
    text, offset = _at_cursor(marked)
    assert docstring.find_stub(text, language, offset) is None


@pytest.mark.parametrize("language, marked, name", [
    ("python", 'def add(a, b):\n    """Doc."""<|>\n', "add"),
    ("c", "/** Doc. */\nint *make(void) {<|>}\n", "make"),
    ("typescript", "/** Doc. */\nexport const twice = (x: number) => {<|>};\n", "twice"),
])
def test_stub_name_and_doc(language, marked, name):
    text, offset = _at_cursor(marked)
    stub = docstring.find_stub(text, language, offset)
    assert (stub.name, "Doc." in stub.doc) == (name, True)


def test_fill_in_puts_the_cursor_at_the_body_indentation():
    text = 'def f():\n    """Doc."""\n    pass\n\nx = 1\n'
    stub = docstring.find_stub(text, "python", text.index("pass"))
    prefix, suffix = stub.fill_in(text)
    assert prefix == 'def f():\n    """Doc."""\n    '
    assert suffix == "\n\nx = 1\n"


def test_offsets_are_characters_not_bytes():
    text = '# héllo wörld ✓\ndef f():\n    """Dóc ✓."""\n'
    stub = docstring.find_stub(text, "python", text.index("Dóc"))
    assert text[stub.start:stub.body_start] == 'def f():\n    """Dóc ✓."""'


@pytest.mark.parametrize("generated, indent, shaped, ended", [
    ("return 1\n", "    ", "return 1", False),
    ("x = 1\n    return x\n\ndef g():\n    pass", "    ", "x = 1\n    return x", True),
    ("return a + b;\n}\n\nfunction g() {", "  ", "return a + b;", True),
    ("if a:\n        return 1   \n\n    return 2\n  ", "    ", "if a:\n        return 1\n\n    return 2", False),
    ("a + 1\n  ", "    ", "a + 1", False),  # a partial indentation is not a dedent yet
    # indented once more than the body: shifted back
    ("    if a:\n            return 1\n        return 2\n    x", "    ", "if a:\n        return 1\n    return 2", True),
    ("\tx = 1\n\t\ty = 2", "\t", "x = 1\n\ty = 2", False),
])
def test_body_shaping_stops_where_indentation_ends(generated, indent, shaped, ended):
    assert docstring.shape_body(generated, indent) == shaped
    assert docstring.body_ended(generated, indent) is ended
