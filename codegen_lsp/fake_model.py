"""TEST ONLY: a scripted stand-in for `model.Model`, selected with CODEGEN_LSP_FAKE_MODEL=script.json.

The tiny random test model writes nonsense; end-to-end tests that assert on suggestion text use this instead.
Script: {"rules": [{"after": "def add(a, b):", "text": "\n    return a + b", "token_delay_ms": 0}]}
The first rule whose "after" ends the prompt's prefix gives the generated text, streamed one word at a time
(each word after "token_delay_ms"); a rule with "raise": "MemoryError" (a builtin exception's name) raises it
instead, as a failing model would.
"""

from __future__ import annotations

import builtins
import json
import re
import time
from dataclasses import dataclass
from pathlib import Path

FAKE_MODEL_ENV = "CODEGEN_LSP_FAKE_MODEL"
_PIECES = re.compile(r"\s*\S+|\s+")


@dataclass(frozen=True)
class FakeManifest:
    family: str = "fake"
    context_length: int = 2048
    stop_tokens: tuple[str, ...] = ("<EOT>",)
    quantization: str = "none"
    fim: str | None = "scripted"  # its prompts carry the suffix (mid-line suggestions allowed)


@dataclass(frozen=True)
class FakeGeneration:
    text: str
    prompt_tokens: int
    reused_tokens: int
    finish_reason: str


class ScriptedModel:
    def __init__(self, rules: list[dict]) -> None:
        self.manifest = FakeManifest()
        self._rules = rules

    @classmethod
    def from_file(cls, path: str | Path) -> "ScriptedModel":
        script = json.loads(Path(path).read_text(encoding="utf-8"))
        return cls(script["rules"])

    def fim_prompt(self, prefix: str, suffix: str, path: str | None = None) -> str:
        return f"<PRE>{prefix}<SUF>{suffix}<MID>"

    def forget_prompts(self) -> None:
        """Nothing is cached."""

    def tokenize(self, text: str) -> list[int]:
        return [hash(piece) % 50_000 for piece in _PIECES.findall(text)]

    def count_tokens(self, text: str) -> int:
        return len(_PIECES.findall(text))

    def generate_detailed(self, prompt, max_new_tokens=64, temperature=0.0, top_p=1.0, stop=None,
                          on_token=None, cancel=None, seed=None, heal=False, repetition_penalty=1.0) -> FakeGeneration:
        prefix = prompt.removeprefix("<PRE>").split("<SUF>", 1)[0]
        rule = next((rule for rule in self._rules if prefix.endswith(rule["after"])), {"text": ""})
        if "raise" in rule:
            raise getattr(builtins, rule["raise"])(f"scripted failure after {rule['after']!r}")
        delay_s = rule.get("token_delay_ms", 0) / 1000
        text, reason = "", "eos"
        for index, piece in enumerate(_PIECES.findall(rule["text"])):
            if index >= max_new_tokens:
                reason = "length"
                break
            if cancel is not None and cancel():
                reason = "cancelled"
                break
            time.sleep(delay_s)
            text += piece
            if on_token is not None:
                on_token(piece)
            if callable(stop) and stop(text):
                reason = "stop"
                break
        return FakeGeneration(text, self.count_tokens(prompt), 0, reason)
