"""The model store: versioned model directories and an atomically switched `current` pointer.

Layout: ROOT/versions/<version>/ (each a complete model directory) and ROOT/current.json
({"version": ..., "history": [earlier versions, oldest first]}). The pointer only ever names a verified version.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from pathlib import Path

from model.errors import ModelError
from model.manifest import read_verified

VERSIONS_DIR = "versions"
POINTER_FILE = "current.json"


def default_store_root() -> Path:
    """$CODEGEN_LSP_HOME/models, else $XDG_DATA_HOME (default ~/.local/share)/codegen-lsp/models."""
    if os.environ.get("CODEGEN_LSP_HOME"):
        return Path(os.environ["CODEGEN_LSP_HOME"]) / "models"
    data_home = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(data_home) / "codegen-lsp" / "models"


def default_model_dir() -> Path:
    """Where `codegen-lsp setup` builds the default model: $CODEGEN_LSP_CACHE, else $XDG_CACHE_HOME (default
    ~/.cache)/codegen-lsp, + /default-model."""
    cache = os.environ.get("CODEGEN_LSP_CACHE") or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "codegen-lsp"
    return Path(cache) / "default-model"


def is_store(path: Path | str) -> bool:
    """Whether `path` looks like a model store (rather than a model directory)."""
    return (Path(path) / VERSIONS_DIR).is_dir() or (Path(path) / POINTER_FILE).is_file()


class ModelStore:
    """Publish, switch and roll back model versions under one root directory."""

    def __init__(self, root: Path | str | None = None) -> None:
        self.root = Path(root) if root is not None else default_store_root()

    @property
    def versions_dir(self) -> Path:
        return self.root / VERSIONS_DIR

    def publish(self, source_dir: Path | str, activate: bool = True) -> str:
        """Copy a verified model directory in as a new version (and make it current); returns the version."""
        manifest = read_verified(source_dir)
        self.versions_dir.mkdir(parents=True, exist_ok=True)
        version = self._new_version_name(manifest.files["model.onnx"][:8])
        staging = Path(tempfile.mkdtemp(prefix=f".{version}-", dir=self.versions_dir))
        try:
            shutil.copytree(source_dir, staging, dirs_exist_ok=True)
            read_verified(staging)
            os.replace(staging, self.versions_dir / version)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        if activate:
            self.use(version)
        return version

    def use(self, version: str) -> Path:
        """Make `version` current after verifying it; returns its directory."""
        path = self._version_path(version)
        read_verified(path)
        current, history = self._pointer()
        if current != version:
            self._write_pointer(version, history + [current] if current else history)
        return path

    def rollback(self) -> str:
        """Make the version that was current before the last switch current again; returns it."""
        current, history = self._pointer()
        while history:
            previous = history.pop()
            if (self.versions_dir / previous).is_dir():
                read_verified(self.versions_dir / previous)
                self._write_pointer(previous, history)
                return previous
        raise ModelError(f"no earlier model version to roll back to in {self.root} (current: {current or 'none'})")

    def current(self) -> str | None:
        """The current version, or None when nothing is published."""
        return self._pointer()[0]

    def current_path(self) -> Path | None:
        """The current version's directory, or None when nothing is published."""
        version = self.current()
        return self.versions_dir / version if version else None

    def list(self) -> list[str]:
        """Published versions, oldest first."""
        if not self.versions_dir.is_dir():
            return []
        return sorted(p.name for p in self.versions_dir.iterdir() if p.is_dir() and not p.name.startswith("."))

    def _new_version_name(self, digest: str) -> str:
        """`<date>-<time>-<model hash>`, sortable by publication time, with a counter if the name is taken."""
        base = f"{time.strftime('%Y%m%d-%H%M%S')}-{digest}"
        names = (base if n == 0 else f"{base}-{n}" for n in range(len(self.list()) + 1))
        return next(name for name in names if not (self.versions_dir / name).exists())

    def _version_path(self, version: str) -> Path:
        path = self.versions_dir / version
        if version.startswith(".") or "/" in version or not path.is_dir():
            raise ModelError(f"no model version {version!r} in {self.root} — `codegen-train models` lists the versions")
        return path

    def _pointer(self) -> tuple[str | None, list[str]]:
        path = self.root / POINTER_FILE
        if not path.is_file():
            return None, []
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return data["version"], list(data["history"])
        except (ValueError, KeyError, TypeError) as error:
            raise ModelError(f"invalid model store pointer {path}: {error} — publish a model again to rewrite it") from error

    def _write_pointer(self, version: str, history: list[str]) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        text = json.dumps({"version": version, "history": history}, indent=2) + "\n"
        with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=self.root, prefix=".current-", delete=False) as tmp:
            tmp.write(text)
            tmp.flush()
            os.fsync(tmp.fileno())
        os.replace(tmp.name, self.root / POINTER_FILE)
