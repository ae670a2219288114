"""Translation helpers: targets, prompts per family, code extraction, new file names, placement."""

from __future__ import annotations

from pathlib import Path

from types import SimpleNamespace

import pytest

from codegen_lsp import syntax, translate

DEFAULT_TARGETS = ("python", "javascript", "typescript", "java", "cpp", "go", "rust")


@pytest.mark.parametrize("source, configured, expected", [
    ("python", DEFAULT_TARGETS, ["javascript", "typescript", "java", "cpp", "go", "rust"]),
    ("typescriptreact", DEFAULT_TARGETS, ["python", "javascript", "java", "cpp", "go", "rust"]),
    ("ruby", ("go", "cobol", "go"), ["go"]),
    ("go", ("go",), []),
])
def test_targets_exclude_the_source_and_unknown_languages(source, configured, expected):
    assert translate.targets(source, configured) == expected


def test_unknown_targets_are_named():
    assert translate.unknown_targets(("go", "cobol")) == ["cobol"]


def test_fenced_prompt_ends_inside_the_target_block_after_an_example():
    prompt = translate.translation_prompt("fenced", "python", "rust", "def sq(x):\n    return x * x\n")
    assert prompt.endswith("def sq(x):\n    return x * x\n```\nRust:\n```rust\n")
    assert prompt.startswith("Python:\n```python\ndef add(a, b):")
    assert "fn add(a: i64, b: i64)" in prompt


def test_chat_family_gets_an_instruction_turn():
    prompt = translate.translation_prompt("chatml", "javascript", "python", "let x = 1;")
    assert prompt.startswith("<|im_start|>user\nTranslate this JavaScript code to Python.")
    assert prompt.endswith("<|im_start|>assistant\n```python\n")


@pytest.mark.parametrize("manifest, expected", [
    ({"family": "llama", "chat_format": "chatml"}, "chatml"),
    ({"family": "qwen2"}, "chatml"),
    ({"family": "llama"}, "fenced"),
])
def test_a_chat_model_is_asked_in_its_chat_format(manifest, expected):
    assert translate.prompt_format(SimpleNamespace(**manifest)) == expected


def test_unknown_source_language_has_no_example():
    prompt = translate.translation_prompt("fenced", "ruby", "go", "x = 1")
    assert prompt == "ruby:\n```ruby\nx = 1\n```\nGo:\n```go\n"


@pytest.mark.parametrize("generated, code, complete", [
    ("function f() {\n  return 1;\n}\n```\nJava:\n```java\nint f()", "function f() {\n  return 1;\n}", True),
    ("Here is the code:\n```js\n  let x = 1;\n  let y = 2;\n```\nIt sets x.", "let x = 1;\nlet y = 2;", True),
    ("```\nlet x = 1;\n```", "let x = 1;", True),
    ("let x = 1;\nlet y", "let x = 1;\nlet y", False),
    ("\n\nfn main() {}\n", "fn main() {}", False),
    ("```rust\nfn main() {}", "fn main() {}", False),
])
def test_code_is_extracted_from_fences_and_prose(generated, code, complete):
    assert translate.extract_code(generated) == code
    assert translate.answer_complete(generated) is complete


def test_target_path_never_overwrites(tmp_path: Path):
    source = tmp_path / "util.py"
    assert translate.target_path(source, ".js", Path.exists) == tmp_path / "util.js"
    (tmp_path / "util.js").write_text("")
    (tmp_path / "util_2.js").write_text("")
    assert translate.target_path(source, ".js", Path.exists) == tmp_path / "util_3.js"
    assert translate.target_path(source, ".py", Path.exists) == tmp_path / "util_2.py"


TEXT = "def f():\n    x = 1\n    y = 2\n    return x\n"


@pytest.mark.parametrize("selected, output, expected", [
    # whole lines selected: replaced by the code at the selection's indentation
    ("    x = 1\n    y = 2\n", "replace", "def f():\n    let x = 1;\n    let y = 2;\n    return x\n"),
    # selection from the first non-blank character
    ("x = 1\n    y = 2", "replace", "def f():\n    let x = 1;\n    let y = 2;\n    return x\n"),
    ("x = 1\n    y = 2", "below", "def f():\n    x = 1\n    y = 2\n\n    let x = 1;\n    let y = 2;\n    return x\n"),
    ("    x = 1\n    y = 2\n", "below", "def f():\n    x = 1\n    y = 2\n\n    let x = 1;\n    let y = 2;\n    return x\n"),
])
def test_placement_keeps_indentation(selected, output, expected):
    start = TEXT.index(selected)
    at, end, new_text = translate.placement(TEXT, start, start + len(selected), "let x = 1;\nlet y = 2;", output)
    assert TEXT[:at] + new_text + TEXT[end:] == expected


def test_placement_below_the_last_line_of_the_document():
    text = "x = 1"
    assert translate.placement(text, 0, 5, "let x = 1;", "below") == (5, 5, "\n\nlet x = 1;")


@pytest.mark.parametrize("language", sorted(translate.LANGUAGES))
def test_every_example_parses_in_its_language(language):
    assert syntax.problems(translate.LANGUAGES[language].example, language) == []
