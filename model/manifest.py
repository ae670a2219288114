"""manifest.json: what a model directory contains and how to prompt it (see ARCHITECTURE.md)."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from model.errors import ModelError

MANIFEST_FILE = "manifest.json"
ONNX_FILE = "model.onnx"
TOKENIZER_FILE = "tokenizer.json"
FORMAT_VERSION = 1
FIM_FORMATS = ("starcoder", "codellama", "deepseek", "qwen")
FIM_ORDERS = ("psm", "spm")  # prefix-suffix-middle; suffix-prefix-middle (StarCoder's variant: the prefix after the middle token)
# gguf: a GGUF file's own quantized blocks, computed on as they are (MatMulNBits / GatherBlockQuantized)
QUANTIZATIONS = ("none", "int8", "fp16", "gguf")
REQUIRED_FILES = (ONNX_FILE, TOKENIZER_FILE)


def export_hint(model_dir: Path | str) -> str:
    """The command that (re)creates a model directory."""
    return f"run `codegen-train export HF_DIR --out {model_dir}`"


@dataclass(frozen=True)
class FimTokens:
    """The fill-in-the-middle special tokens of a family and the prompt format that uses them."""

    format: str
    prefix: str
    suffix: str
    middle: str
    file_separator: str | None = None
    repo_name: str | None = None
    order: str = "psm"  # the order the model was trained to be prompted in (our own family: "spm")

    def __post_init__(self) -> None:
        if self.format not in FIM_FORMATS:
            raise ValueError(f"unknown FIM format {self.format!r}; expected one of {', '.join(FIM_FORMATS)}")
        if self.order not in FIM_ORDERS or (self.order == "spm" and self.format == "codellama"):
            raise ValueError(f"unsupported FIM order {self.order!r} for the {self.format} format")


@dataclass
class Manifest:
    """The contents of manifest.json; written and read only through this class."""

    family: str
    architecture: str
    context_length: int
    eos_token_ids: list[int]
    fim: FimTokens | None = None
    bos_token_id: int | None = None
    stop_tokens: list[str] = field(default_factory=list)
    add_bos: bool = False
    chat_format: str | None = None  # "chatml": an instruct model prompted with <|im_start|>role ... <|im_end|> turns
    quantization: str = "none"
    files: dict[str, str] = field(default_factory=dict)
    source: str = ""
    provenance: dict[str, str] = field(default_factory=dict)  # sha256 of the source file; package and version if pinned
    tools: dict[str, str] = field(default_factory=dict)
    validation: dict[str, Any] = field(default_factory=dict)
    format_version: int = FORMAT_VERSION

    def __post_init__(self) -> None:
        if self.quantization not in QUANTIZATIONS:
            raise ValueError(f"unknown quantization {self.quantization!r}; expected one of {', '.join(QUANTIZATIONS)}")
        if self.context_length <= 0:
            raise ValueError(f"context_length must be positive, got {self.context_length}")

    def to_json(self) -> dict[str, Any]:
        """The manifest as a JSON-ready dict."""
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Manifest:
        """Build a manifest from parsed JSON; ValueError/TypeError/KeyError on malformed content."""
        data = dict(data)
        if data.get("format_version") != FORMAT_VERSION:
            raise ValueError(f"unsupported format_version {data.get('format_version')!r} (this runtime reads {FORMAT_VERSION})")
        fim = data.pop("fim", None)
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown keys {unknown}")
        return cls(fim=FimTokens(**fim) if fim else None, **data)

    @classmethod
    def read(cls, model_dir: Path | str) -> Manifest:
        """Read MODEL_DIR/manifest.json; ModelError naming the fix when it is missing or malformed."""
        path = Path(model_dir) / MANIFEST_FILE
        if not path.is_file():
            raise ModelError(f"model not found at {model_dir} (no {MANIFEST_FILE}) — {export_hint(model_dir)}")
        try:
            return cls.from_json(json.loads(path.read_text(encoding="utf-8")))
        except (ValueError, TypeError, KeyError) as error:
            raise ModelError(f"invalid {path}: {error} — {export_hint(model_dir)}") from error

    def write(self, model_dir: Path | str) -> Path:
        """Write MODEL_DIR/manifest.json atomically (temporary file + rename); returns its path."""
        path = Path(model_dir) / MANIFEST_FILE
        text = json.dumps(self.to_json(), indent=2, ensure_ascii=False) + "\n"
        with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=path.parent, prefix=".manifest-", delete=False) as tmp:
            tmp.write(text)
        os.chmod(tmp.name, 0o644)  # NamedTemporaryFile creates 0600; a model directory is meant to be shared
        os.replace(tmp.name, path)
        return path

    def record_files(self, model_dir: Path | str, names: Iterable[str] = REQUIRED_FILES) -> Manifest:
        """Store the sha256 of each named file (relative to MODEL_DIR) in `files`; returns self."""
        self.files = {**self.files, **{name: file_sha256(Path(model_dir) / name) for name in names}}
        return self

    def verify(self, model_dir: Path | str) -> None:
        """Check every listed file exists with its recorded sha256; ModelError naming the fix otherwise."""
        missing_entries = [name for name in REQUIRED_FILES if name not in self.files]
        if missing_entries:
            raise ModelError(f"manifest at {model_dir} does not list {', '.join(missing_entries)} — {export_hint(model_dir)}")
        for name, expected in self.files.items():
            path = Path(model_dir) / name
            if not path.is_file():
                raise ModelError(f"model at {model_dir} is incomplete: {name} is missing — {export_hint(model_dir)}")
            if file_sha256(path) != expected:
                raise ModelError(f"model at {model_dir} is corrupt: {name} does not match its sha256 — {export_hint(model_dir)}")


def file_sha256(path: Path) -> str:
    """Hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def read_verified(model_dir: Path | str) -> Manifest:
    """Read a model directory's manifest and verify its files."""
    manifest = Manifest.read(model_dir)
    manifest.verify(model_dir)
    return manifest
