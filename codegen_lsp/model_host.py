"""The server's current model: where it comes from, its state, and whether a newer one was published.

``load`` and ``refresh_fingerprint`` block: the server runs them on the scheduler's worker thread, between
generations, so a model is only swapped while no request uses it.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from .fake_model import FAKE_MODEL_ENV, ScriptedModel

State = Literal["idle", "loading", "ready", "failed"]
POLL_INTERVAL_S = 1.0


def resolve_model_path(setting: str) -> Path:
    """The `model` setting, else the model store's current version or the shipped default."""
    if setting:
        return Path(setting).expanduser()
    import model

    return Path(model.default_model_path())


def _fingerprint(path: Path) -> tuple:
    """Names, sizes and mtimes of the directory's entries (the manifest, the store's pointer): changes when a
    model is re-exported or a new version is published."""
    try:
        return tuple(sorted((e.name, e.stat().st_mtime_ns, e.stat().st_size) for e in os.scandir(path)))
    except OSError:
        return ()


def load_model(path: Path, device: str) -> Any:
    """`model.load`, or the scripted test model when CODEGEN_LSP_FAKE_MODEL is set."""
    script = os.environ.get(FAKE_MODEL_ENV)
    if script:
        return ScriptedModel.from_file(script)
    import model

    return model.load(path, device=device)


@dataclass
class ModelHost:
    state: State = "idle"
    model: Any = None
    path: Path | None = None
    device: str = "auto"
    error: str | None = None
    _fingerprint: tuple = ()
    _setting: str = ""
    _next_poll: float = 0.0

    def load(self, setting: str, device: str) -> None:
        """Load the model named by ``setting``; on failure keep no model and record the error (never raises)."""
        self.state, self._setting, self.device, self.error = "loading", setting, device, None
        try:
            self.path = resolve_model_path(setting)
            self._fingerprint = _fingerprint(self.path)
            self.model = None  # release the old model's memory before loading the new one
            self.model = load_model(self.path, device)
            self.state = "ready"
        except Exception as error:  # model.ModelError names the fix; anything else is reported as it is
            self.model, self.state = None, "failed"
            self.error = str(error) or type(error).__name__

    def changed_on_disk(self) -> bool:
        """Whether the model directory (or the store's current version) changed since loading; polled at most
        once per POLL_INTERVAL_S so that it can be called on every request."""
        now = time.monotonic()
        if self.state == "loading" or now < self._next_poll or self.path is None:
            return False
        self._next_poll = now + POLL_INTERVAL_S
        try:
            path = resolve_model_path(self._setting)
        except Exception:
            return False
        return path != self.path or _fingerprint(path) != self._fingerprint

    def cuda_fell_back(self) -> bool:
        """Whether the model runs on CPU although CUDA was wanted and installed (its GPU session failed to start;
        the runtime logs onnxruntime's reason)."""
        if self.device == "cpu" or getattr(self.model, "device", None) != "cpu":
            return False
        import onnxruntime

        return "CUDAExecutionProvider" in onnxruntime.get_available_providers()

    def status(self) -> dict:
        return {
            "state": self.state,
            "model": str(self.path) if self.path else None,
            "device": getattr(self.model, "device", self.device),  # where it runs, once loaded
            "error": self.error,
        }
