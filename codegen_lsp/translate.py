"""Translating a selection to another language: prompts per model family, code extraction, where the result
goes (pure)."""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Literal

FENCE = "```"


@dataclass(frozen=True)
class Language:
    name: str  # as shown to the user
    fence: str  # the info string of a Markdown code fence
    extension: str
    example: str  # a tiny function, for few-shot prompts


LANGUAGES = {
    "python": Language("Python", "python", ".py", "def add(a, b):\n    return a + b\n"),
    "javascript": Language("JavaScript", "javascript", ".js", "function add(a, b) {\n  return a + b;\n}\n"),
    "typescript": Language(
        "TypeScript", "typescript", ".ts", "function add(a: number, b: number): number {\n  return a + b;\n}\n"
    ),
    "java": Language(
        "Java", "java", ".java", "public static int add(int a, int b) {\n    return a + b;\n}\n"
    ),
    "cpp": Language("C++", "cpp", ".cpp", "int add(int a, int b) {\n    return a + b;\n}\n"),
    "c": Language("C", "c", ".c", "int add(int a, int b) {\n    return a + b;\n}\n"),
    "go": Language("Go", "go", ".go", "func add(a int, b int) int {\n\treturn a + b\n}\n"),
    "rust": Language("Rust", "rust", ".rs", "fn add(a: i64, b: i64) -> i64 {\n    a + b\n}\n"),
}
# Editors' languageIds for the same languages.
ALIASES = {"javascriptreact": "javascript", "typescriptreact": "typescript"}


def canonical(language_id: str) -> str:
    return ALIASES.get(language_id, language_id)


def targets(source_language_id: str, configured: tuple[str, ...]) -> list[str]:
    """The known target languages of the `translate.targets` setting, without the source's own language."""
    source = canonical(source_language_id)
    return [target for target in dict.fromkeys(configured) if target in LANGUAGES and target != source]


def unknown_targets(configured: tuple[str, ...]) -> list[str]:
    return [target for target in configured if target not in LANGUAGES]


def _source_name(language_id: str) -> tuple[str, str]:
    """The display name and fence info string of a source language, known or not."""
    known = LANGUAGES.get(canonical(language_id))
    return (known.name, known.fence) if known else (language_id, language_id)


def _block(name: str, fence: str, code: str) -> str:
    return f"{name}:\n{FENCE}{fence}\n{code.rstrip()}\n{FENCE}\n"


def _fenced_prompt(source_id: str, target: Language, code: str) -> str:
    """Base (completion) models: an example pair of fenced blocks (for a known source language), then the code;
    the model writes the answer's block after its opening fence."""
    name, fence = _source_name(source_id)
    known = LANGUAGES.get(canonical(source_id))
    shot = ""
    if known is not None:
        shot = _block(name, fence, known.example) + _block(target.name, target.fence, target.example) + "\n"
    return f"{shot}{_block(name, fence, code)}{target.name}:\n{FENCE}{target.fence}\n"


def _chatml_prompt(source_id: str, target: Language, code: str) -> str:
    """Qwen-style chat models: an instruction turn; the answer's code fence is opened for the model."""
    name, fence = _source_name(source_id)
    return (
        f"<|im_start|>user\nTranslate this {name} code to {target.name}. Answer with the code only.\n"
        f"{FENCE}{fence}\n{code.rstrip()}\n{FENCE}<|im_end|>\n<|im_start|>assistant\n{FENCE}{target.fence}\n"
    )


PROMPT_FORMATS: dict[str, Callable[[str, Language, str], str]] = {"fenced": _fenced_prompt, "chatml": _chatml_prompt}


def prompt_format(manifest) -> str:
    """How to ask a model for a translation: "chatml" for a model with that chat template (the manifest's
    `chat_format`, or a Qwen2 checkpoint), else "fenced" (few-shot fenced blocks, for base models)."""
    chat = getattr(manifest, "chat_format", None)
    return "chatml" if chat == "chatml" or getattr(manifest, "family", "") == "qwen2" else "fenced"


def translation_prompt(format_name: str, source_language_id: str, target_language_id: str, code: str) -> str:
    """The prompt of `format_name` (PROMPT_FORMATS) that asks for ``code`` in the target language; the answer ends
    with a closing fence (see ``answer_complete``)."""
    return PROMPT_FORMATS[format_name](source_language_id, LANGUAGES[target_language_id], code)


_FENCE_LINE = re.compile(r"^[ \t]*```([\w+#.-]*)[ \t]*$", re.MULTILINE)


def _code_span(generated: str) -> tuple[int, int | None]:
    """Where the code of an answer starts and ends (None: its block is not closed yet).

    The prompt opens the code block, so a first bare fence closes it; a first fence with a language, or one
    with only blank text before it, opens the block again (prose before it is dropped).
    """
    first = _FENCE_LINE.search(generated)
    if first is None:
        return 0, None
    if not first.group(1) and generated[: first.start()].strip():
        return 0, first.start()
    start = min(first.end() + 1, len(generated))
    closing = _FENCE_LINE.search(generated, start)
    return start, closing.start() if closing else None


def answer_complete(generated: str) -> bool:
    """Stop rule while generating a translation: the code block was closed."""
    return _code_span(generated)[1] is not None


def extract_code(generated: str) -> str:
    """The code in a model's answer, without fences or the prose around them, dedented."""
    start, end = _code_span(generated)
    return textwrap.dedent(generated[start:end]).strip("\n").rstrip()


def target_path(source: Path, extension: str, exists: Callable[[Path], bool]) -> Path:
    """The file beside ``source`` named after it with ``extension``; never an existing one (``name_2.ext``...)."""
    candidate = source.with_suffix(extension)
    number = 2
    while candidate == source or exists(candidate):
        candidate = source.with_name(f"{source.stem}_{number}{extension}")
        number += 1
    return candidate


Output = Literal["replace", "below"]


def placement(text: str, start: int, end: int, code: str, output: Output) -> tuple[int, int, str]:
    """Where the translated ``code`` of the selection ``text[start:end]`` goes in the document, and as what text:
    (start, end, new_text), in characters. It takes the indentation of the selection's first line."""
    line_start = text.rfind("\n", 0, start) + 1
    first_line = text[line_start:]
    indent = first_line[: len(first_line) - len(first_line.lstrip(" \t"))]
    indented = textwrap.indent(code, indent)
    if output == "replace":
        lead = text[line_start:start]
        new_text = indented[len(lead):] if not lead.strip() and indented.startswith(lead) else indented.lstrip(" \t")
        return start, end, new_text + ("\n" if text[start:end].endswith("\n") else "")
    last_char = end - 1 if end > start and text[end - 1] == "\n" else end
    line_end = text.find("\n", last_char)
    insert_at = len(text) if line_end == -1 else line_end
    return insert_at, insert_at, "\n\n" + indented
