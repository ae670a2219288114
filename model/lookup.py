"""Prompt lookup: guesses of the next tokens copied from earlier in the same text, checked by the model in one run.

Code repeats itself (names, call patterns, a line above written again), so the tokens that followed the last
occurrence of the current few tokens are often the next ones. The decoding loop (model.generate.run) feeds such a
guess after the token it just chose and keeps the model's logits at each guessed position for as long as its choices
agree with the guess: the output is what token-by-token decoding gives, in fewer model runs (exactly so with fp32
weights; with int8 ones each run quantizes its activations with one scale for all its rows, so a run of several tokens
rounds a little differently, as prompt chunking does, which can change a near-tie).
"""

from __future__ import annotations

from collections import deque
from typing import Sequence

import numpy as np

# Most tokens guessed per model run. A run of 5 tokens costs ~1.4 one-token steps (default model, 2 threads), and on
# standard-library code guesses of up to 4 tokens made decoding 1.4-1.9x faster where the text repeats itself.
LOOKUP_TOKENS = 4
# How many of the last tokens must occur earlier for a guess. Two matched often enough to make the guesses after them
# cost more than they saved (argparse.py, 32 tokens: 1 of 20 guesses taken, decode 0.84x; with three: 5 of 12, 1.03x).
MATCH_TOKENS = 3
# Longest pause, in model runs, after runs whose guesses were all refused.
MAX_PAUSE = 16


def draft_tokens(history: np.ndarray, limit: int, match: int = MATCH_TOKENS) -> list[int]:
    """Up to `limit` tokens that followed the latest earlier occurrence of the last `match` tokens of `history`; []
    when they occur nowhere before."""
    length = len(history)
    if limit <= 0 or length <= match:
        return []
    tail = history[length - match :]
    # occurs[j]: the `match` tokens from j equal the tail, for every start j before the tail's own
    occurs = history[: length - match] == tail[0]
    for offset in range(1, match):
        occurs &= history[offset : length - match + offset] == tail[offset]
    starts = np.flatnonzero(occurs)
    if not starts.size:
        return []
    follow = int(starts[-1]) + match
    return history[follow : follow + limit].tolist()


class Lookahead:
    """Prompt lookup during one generation: the tokens so far (prompt and output), the guesses fed to the model after
    them and the logits it gave after each guess, used up while the chosen tokens agree with the guesses."""

    def __init__(self, prompt: Sequence[int], max_new_tokens: int, limit: int) -> None:
        self._history = np.empty(len(prompt) + max_new_tokens, dtype=np.int64)
        self._history[: len(prompt)] = prompt
        self._length = len(prompt)
        self._limit = limit
        self._guesses: deque[int] = deque()
        self._logits: deque[np.ndarray] = deque()
        self._taken = 0  # guesses of the last run the model agreed with so far
        self._pause = 0  # model runs left to make without guesses
        self._backoff = 1  # the pause after the next run whose guesses are all refused
        self.guessed = 0
        self.accepted = 0

    def add(self, token: int) -> np.ndarray | None:
        """Record the chosen `token`: the model's logits after it when it was the next guess, else None (the guesses
        left are dropped: the model must run from this token)."""
        self._history[self._length] = token
        self._length += 1
        if self._guesses and self._guesses[0] == token:
            self._guesses.popleft()
            self._taken += 1
            self.accepted += 1
            return self._logits.popleft()
        if self._guesses and not self._taken:
            # A run whose guesses were all wrong cost more than a one-token step: make the next runs without guesses,
            # twice as many after each such run in a row (text that does not repeat itself stops paying for them).
            self._pause, self._backoff = self._backoff, min(2 * self._backoff, MAX_PAUSE)
        elif self._taken:
            self._backoff = 1
        self._guesses.clear()
        self._logits.clear()
        return None

    def guess(self, room: int) -> list[int]:
        """Guesses of the tokens after the last one added, at most `room` of them ([] while pausing)."""
        if self._pause:
            self._pause -= 1
            return []
        return draft_tokens(self._history[: self._length], min(self._limit, room))

    def fed(self, guesses: Sequence[int], logits: Sequence[np.ndarray]) -> None:
        """The model ran `guesses` after the last token added; `logits[i]`: its logits after guesses[i]."""
        self._guesses.extend(guesses)
        self._logits.extend(logits)
        self._taken = 0
        self.guessed += len(guesses)
