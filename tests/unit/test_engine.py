"""The completion pipeline's time budget and its rules for a model without FIM tokens (codegen_lsp/engine.py)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from codegen_lsp.engine import CompletionRequest, suggest
from codegen_lsp.settings import Settings


@dataclass
class Manifest:
    fim: object = None
    context_length: int = 4096
    stop_tokens: tuple = ()


@dataclass
class SlowPromptModel:
    """Computes its prompt for `prompt_s` (cancellable), then writes `pieces` one per `piece_s`."""

    prompt_s: float
    pieces: list[str]
    piece_s: float = 0.0
    manifest: Manifest = field(default_factory=Manifest)
    prompts: list[str] = field(default_factory=list)

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    def fim_prompt(self, prefix: str, suffix: str, path: str | None = None) -> str:
        return prefix

    def generate_detailed(self, prompt, max_new_tokens, temperature, stop, on_token, cancel, heal, seed=None):
        self.prompts.append(prompt)
        end = time.monotonic() + self.prompt_s
        while time.monotonic() < end:
            if cancel():
                return Generated("", "cancelled")
            time.sleep(0.005)
        text = ""
        for piece in self.pieces:
            if cancel():
                return Generated(text, "cancelled")
            text += piece
            on_token(piece)
            time.sleep(self.piece_s)
        return Generated(text, "eos")


@dataclass
class Generated:
    text: str
    finish_reason: str
    prompt_tokens: int = 0
    reused_tokens: int = 0


def test_the_time_budget_never_cuts_the_prompt_short_and_ends_generation_from_the_first_text():
    model = SlowPromptModel(prompt_s=0.3, pieces=["total", " =", " 1", " +", " 2", " +", " 3"], piece_s=0.05)
    suggestion = suggest(model, CompletionRequest("x = 0\n", 6, "python"), Settings(time_budget_ms=120), lambda: False)
    assert suggestion.text is not None and suggestion.text.startswith("total")  # the 0.3 s prompt was not cut
    assert suggestion.text != "total = 1 + 2 + 3"  # ... generation was: 7 pieces take 0.35 s


def test_without_fim_tokens_nothing_is_suggested_mid_line_but_before_closers_it_is():
    model = SlowPromptModel(prompt_s=0.0, pieces=["items"])
    settings = Settings()
    mid_line = suggest(model, CompletionRequest("print(len(x), y)\n", 10, "python"), settings, lambda: False)
    assert mid_line.text is None and mid_line.finish_reason == "mid-line" and not model.prompts
    before_closers = suggest(model, CompletionRequest("print(len()):\n", 10, "python"), settings, lambda: False)
    assert before_closers.text == "items" and model.prompts == ["print(len("]


@dataclass
class SeededModel:
    """Writes `by_seed[seed]` (greedy: seed None)."""

    by_seed: dict
    manifest: Manifest = field(default_factory=Manifest)
    seeds: list = field(default_factory=list)

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    def fim_prompt(self, prefix: str, suffix: str, path: str | None = None) -> str:
        return prefix

    def generate_detailed(self, prompt, max_new_tokens, temperature, stop, on_token, cancel, heal, seed=None):
        self.seeds.append((seed, temperature))
        return Generated(self.by_seed[seed], "eos")


def test_several_suggestions_put_the_usual_one_first_then_distinct_samples_the_more_frequent_first():
    from codegen_lsp.engine import RETRY_TEMPERATURE, suggest_several

    model = SeededModel({None: "total", 1: "count", 2: "total", 3: "count", 4: "size", 5: "", 6: "size", 7: "size"})
    texts = [s.text for s in suggest_several(model, CompletionRequest("x = ", 4, "python"), Settings(), lambda: False,
                                             samples=7)]
    assert texts == ["total", "size", "count"]  # greedy first; "size" sampled 3 times, "count" twice; no duplicates
    assert model.seeds[0] == (None, 0.0) and all(t == RETRY_TEMPERATURE for _, t in model.seeds[1:])


def test_several_suggestions_always_return_the_usual_one_even_when_nothing_was_written():
    from codegen_lsp.engine import suggest_several

    model = SeededModel({None: "", 1: "", 2: ""})
    suggestions = suggest_several(model, CompletionRequest("x = ", 4, "python"), Settings(), lambda: False, samples=2)
    assert len(suggestions) == 1 and suggestions[0].text is None  # the server logs it and shows nothing
