"""The decoding loop: greedy or temperature/top-p sampling, stops, streaming, cooperative cancellation."""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Callable, Collection, Sequence, Union

import numpy as np
from tokenizers import Tokenizer

from model.decoder import Decoder
from model.healing import TokenHealing
from model.kv_cache import common_prefix_length
from model.lookup import LOOKUP_TOKENS, Lookahead

# Tokens (prompt and output) that the repetition penalty looks back over, as llama.cpp's repeat_last_n.
REPETITION_WINDOW = 64

Stop = Union[Sequence[str], Callable[[str], bool], None]
Cancel = Union[threading.Event, Callable[[], bool], None]
OnToken = Union[Callable[[str], None], None]


@dataclass
class Generation:
    """The outcome of one generation request."""

    text: str
    token_ids: list[int]
    prompt_tokens: int
    reused_tokens: int
    first_token_s: float | None
    total_s: float
    finish_reason: str  # "eos" | "stop" | "length" | "cancelled"
    guessed_tokens: int = 0  # fed to the model as prompt-lookup guesses (model/lookup.py)
    accepted_tokens: int = 0  # of those, the ones the model chose too: each saved a model run


@dataclass(frozen=True)
class Request:
    """Decoding settings of one generation (see Model.generate)."""

    max_new_tokens: int = 64
    temperature: float = 0.0
    top_p: float = 1.0
    stop: Stop = None
    on_token: OnToken = None
    cancel: Cancel = None
    seed: int | None = None
    heal: bool = False  # token healing (model/healing.py): re-choose the prompt's last token
    repetition_penalty: float = 1.0  # > 1 discourages the tokens of the last REPETITION_WINDOW (see penalize_repeats)
    lookup_tokens: int = LOOKUP_TOKENS  # most prompt-lookup guesses per model run (model/lookup.py); 0: one token a run

    def __post_init__(self) -> None:
        if self.max_new_tokens < 0:
            raise ValueError(f"max_new_tokens must be >= 0, got {self.max_new_tokens}")
        if self.temperature < 0:
            raise ValueError(f"temperature must be >= 0, got {self.temperature}")
        if not 0 < self.top_p <= 1:
            raise ValueError(f"top_p must be in (0, 1], got {self.top_p}")
        if self.repetition_penalty <= 0:
            raise ValueError(f"repetition_penalty must be > 0, got {self.repetition_penalty}")
        if self.lookup_tokens < 0:
            raise ValueError(f"lookup_tokens must be >= 0, got {self.lookup_tokens}")


def choose_token(logits: np.ndarray, temperature: float, top_p: float, rng: np.random.Generator) -> int:
    """Greedy when temperature is 0, else a sample from the temperature-scaled nucleus holding `top_p` of the mass."""
    if temperature == 0:
        return int(np.argmax(logits))
    scaled = logits.astype(np.float64) / temperature
    probabilities = np.exp(scaled - scaled.max())
    order = np.argsort(-probabilities, kind="stable")
    cumulative = np.cumsum(probabilities[order])
    nucleus = min(int(np.searchsorted(cumulative, top_p * cumulative[-1])) + 1, len(order))
    draw = rng.random() * cumulative[nucleus - 1]
    return int(order[min(int(np.searchsorted(cumulative[:nucleus], draw, side="right")), nucleus - 1)])


def penalize_repeats(logits: np.ndarray, recent: Sequence[int], penalty: float) -> np.ndarray:
    """`logits` with each token of `recent` made less likely by `penalty` (> 1): a positive logit divided by it, a
    negative one multiplied (the CTRL rule, as llama.cpp's repeat_penalty). Keeps small models out of loops."""
    if penalty == 1.0 or not recent:
        return logits
    ids = np.unique(np.asarray(recent, dtype=np.int64))
    penalized = logits.copy()
    values = penalized[ids]
    penalized[ids] = np.where(values > 0, values / penalty, values * penalty)
    return penalized


def only(logits: np.ndarray, allowed: np.ndarray) -> np.ndarray:
    """`logits` with every token but the `allowed` ids at -inf."""
    kept = np.full_like(logits, -np.inf)
    kept[allowed] = logits[allowed]
    return kept


def is_cancelled(cancel: Cancel) -> bool:
    if cancel is None:
        return False
    return cancel.is_set() if isinstance(cancel, threading.Event) else bool(cancel())


class StopRule:
    """Where the output must end for a `stop` argument, and how much trailing text might still become a stop string."""

    def __init__(self, stop: Stop) -> None:
        self._predicate = stop if callable(stop) else None
        strings = [stop] if isinstance(stop, str) else [] if callable(stop) else stop or []
        self._strings = [s for s in strings if s]

    def cut(self, text: str) -> int | None:
        """End of the output when `text` triggers a stop: before the earliest stop string, or all of it for a callable."""
        if self._predicate is not None:
            return len(text) if self._predicate(text) else None
        found = [index for index in (text.find(s) for s in self._strings) if index >= 0]
        return min(found) if found else None

    def pending(self, text: str) -> int:
        """Length of the longest end of `text` that is the start of a stop string (held back from streaming)."""
        return max((k for s in self._strings for k in range(min(len(s) - 1, len(text)), 0, -1) if text.endswith(s[:k])), default=0)


class IncrementalDetokenizer:
    """Turns tokens into text pieces as they arrive, holding back incomplete UTF-8 characters."""

    def __init__(self, tokenizer: Tokenizer) -> None:
        self._tokenizer = tokenizer
        self._ids: list[int] = []
        self._prefix_offset = 0
        self._read_offset = 0

    def add(self, token: int) -> str:
        """The new text that `token` completes ("" while a character is incomplete)."""
        self._ids.append(token)
        before = self._decode(self._ids[self._prefix_offset : self._read_offset])
        after = self._decode(self._ids[self._prefix_offset :])
        if len(after) <= len(before) or after.endswith("\ufffd"):
            return ""
        self._prefix_offset, self._read_offset = self._read_offset, len(self._ids)
        return after[len(before) :]

    def _decode(self, ids: list[int]) -> str:
        return self._tokenizer.decode(ids, skip_special_tokens=True) if ids else ""


@dataclass
class _Output:
    """Generated text and how much of it has been streamed."""

    on_token: OnToken
    text: str = ""
    streamed: int = 0

    def stream_until(self, end: int) -> None:
        if end > self.streamed:
            if self.on_token is not None:
                self.on_token(self.text[self.streamed : end])
            self.streamed = end


def run(decoder: Decoder, tokenizer: Tokenizer, prompt: Sequence[int], end_ids: Collection[int], request: Request,
        healing: TokenHealing | None = None) -> Generation:
    """Generate after the prompt tokens until an end token, a stop, max_new_tokens or cancellation.

    With `request.heal` (and `healing`), the prompt's last token is taken off and the first tokens must write its text
    again; the text returned (and streamed, and seen by stops) starts after it, the token ids include it.

    A shared-cache graph's runs feed the chosen token and up to `request.lookup_tokens` guesses of the tokens after it
    (model/lookup.py); while the next choices agree with the guesses their logits come from that run, so the tokens
    are those of one run per token (up to int8 rounding, see there), in fewer runs.
    """
    started = time.perf_counter()
    forced = ""
    if request.heal and healing is not None:
        prompt, forced = healing.split(prompt)
    rng = np.random.default_rng(request.seed)
    detokenizer = IncrementalDetokenizer(tokenizer)
    stop = StopRule(request.stop)
    output = _Output(request.on_token)
    written = ""  # all generated text, the healed text included
    token_ids: list[int] = []
    first_token_s = None
    reused = 0
    finish = "length"
    lookahead = Lookahead(prompt, request.max_new_tokens, request.lookup_tokens if decoder.graph.shared_cache else 0)
    if is_cancelled(request.cancel):
        finish = "cancelled"
    elif request.max_new_tokens > 0:
        logits, past, reused = decoder.start(prompt, cancelled=lambda: is_cancelled(request.cancel), room=request.max_new_tokens)
        if logits is None:
            finish = "cancelled"
        recent = deque(prompt[-REPETITION_WINDOW:], maxlen=REPETITION_WINDOW)  # what the repetition penalty sees
        while logits is not None:
            logits = penalize_repeats(logits, recent, request.repetition_penalty)
            if len(written) < len(forced):
                logits = only(logits, healing.allowed(forced[len(written):]))
            token = choose_token(logits, request.temperature, request.top_p, rng)
            first_token_s = first_token_s if first_token_s is not None else time.perf_counter() - started
            if token in end_ids:
                finish = "eos"
                break
            token_ids.append(token)
            recent.append(token)
            written += detokenizer.add(token)
            output.text = written[len(forced):]
            cut = stop.cut(output.text) if output.text else None
            if cut is not None:
                output.text = output.text[:cut]
                finish = "stop"
                break
            output.stream_until(len(output.text) - stop.pending(output.text))
            if len(token_ids) >= request.max_new_tokens:
                break
            if is_cancelled(request.cancel):
                finish = "cancelled"
                break
            logits = lookahead.add(token)
            if logits is None:
                past = decoder.rewind(past, len(prompt) + len(token_ids) - 1)  # drop the guesses after a different choice
                guesses = lookahead.guess(request.max_new_tokens - len(token_ids) - 1)
                rows, past = decoder.verify([token, *guesses], past)
                logits = rows[0]
                lookahead.fed(guesses, rows[1:])
        fed = past.tokens[len(prompt):]  # the output, then guesses not taken (past is shorter after a cancelled prompt)
        decoder.remember(decoder.rewind(past, len(past.tokens) - len(fed) + common_prefix_length(fed, token_ids)))
    output.stream_until(len(output.text))
    return Generation(output.text, token_ids, len(prompt), reused, first_token_s, time.perf_counter() - started, finish,
                      lookahead.guessed, lookahead.accepted)
