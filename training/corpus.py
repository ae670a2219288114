"""Training corpora: source files, a deterministic file-level split, and line-aligned chunks."""

from __future__ import annotations

import hashlib
import math
import sysconfig
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from tokenizers import Tokenizer


@dataclass(frozen=True)
class SourceFile:
    path: Path  # absolute path on disk
    rel: str  # path relative to its corpus root (what the split hashes)
    text: str


def stdlib_dir() -> Path:
    """The CPython standard library of this interpreter (present on every machine)."""
    return Path(sysconfig.get_paths()["stdlib"])


def read_python_tree(root: Path, exclude_dirs: tuple[str, ...] = ("site-packages", "__pycache__")) -> list[SourceFile]:
    """All readable UTF-8 `*.py` files under `root`, sorted by relative path."""
    files = []
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root).as_posix()
        if any(part in exclude_dirs for part in path.relative_to(root).parts):
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        if text.strip():
            files.append(SourceFile(path, rel, text))
    return files


def file_hash(rel: str, salt: str = "codegen-lsp") -> float:
    """A stable pseudo-random number in [0, 1) per relative path: the same on every machine and run."""
    digest = hashlib.sha256(f"{salt}:{rel}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def is_held_out(rel: str, fraction: float) -> bool:
    """Deterministic per-file split decision."""
    return file_hash(rel) < fraction


def is_test_file(rel: str) -> bool:
    parts = rel.split("/")
    return any(p in ("test", "tests", "idle_test") for p in parts[:-1]) or parts[-1].startswith("test_")


def sample_test_files(files: list[SourceFile], share: float) -> list[SourceFile]:
    """`files` keeping every library module and a deterministic `share` of the test-suite files."""
    return [f for f in files if not is_test_file(f.rel) or file_hash(f.rel, salt="test-share") < share]


def split_stdlib(files: list[SourceFile], fraction: float) -> tuple[list[SourceFile], list[SourceFile]]:
    """File-level split of the standard library into (train, held_out).

    Held-out files are drawn from library modules (not the test suite), and the test suite's neighbours of a
    held-out module (`test_<module>.py`, `test_<module>/...`) are dropped from training so that the module's code
    is not seen through its tests either.
    """
    library = sorted((f for f in files if not is_test_file(f.rel)), key=lambda f: file_hash(f.rel))
    held_out = library[:math.ceil(fraction * len(files))]  # `fraction` of ALL files, drawn from library modules
    held_stems = {Path(f.rel).stem if Path(f.rel).stem != "__init__" else Path(f.rel).parent.name for f in held_out}
    held_rels = {f.rel for f in held_out}

    def neighbours_held_out(rel: str) -> bool:
        return is_test_file(rel) and any(
            part.removeprefix("test_").removesuffix(".py") in held_stems for part in rel.split("/"))

    train = [f for f in files if f.rel not in held_rels and not neighbours_held_out(f.rel)]
    return train, held_out


class Chunk(NamedTuple):
    path: str  # the file's relative path (goes into the example's `<file_sep>path` header)
    text: str


def file_chunks(files: list[SourceFile], tokenizer: Tokenizer, max_tokens: int) -> list[Chunk]:
    """Line-aligned pieces of `files` of at most ~`max_tokens` tokens: what training examples are made of."""
    return [Chunk(f.rel, text) for f in files for text in line_chunks(f.text, tokenizer, max_tokens)]


def line_chunks(text: str, tokenizer: Tokenizer, max_tokens: int) -> list[str]:
    """Split `text` at line boundaries into pieces of at most ~`max_tokens` tokens (long lines are kept whole)."""
    lines = text.splitlines(keepends=True)
    counts = [len(e.ids) for e in tokenizer.encode_batch(lines, add_special_tokens=False)] if lines else []
    chunks, current, current_tokens = [], [], 0
    for line, count in zip(lines, counts):
        if current and current_tokens + count > max_tokens:
            chunks.append("".join(current))
            current, current_tokens = [], 0
        current.append(line)
        current_tokens += count
    if current:
        chunks.append("".join(current))
    return chunks
