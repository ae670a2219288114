"""Fill-in-the-middle augmentation (character-level or whole-line cut points, PSM and SPM orders)."""

from __future__ import annotations

import re

import numpy as np

from training.tokenizer import FIM_MIDDLE, FIM_PREFIX, FIM_SUFFIX

MAX_MIDDLE_LINES = 3  # a line-aligned middle spans 1..3 whole lines (what an editor asks at a line start)


def fim_transform(text: str, rng: np.random.Generator, fim_rate: float, spm_rate: float, line_rate: float = 0.0) -> str:
    """Return `text` unchanged, or rearranged into a FIM example with probability `fim_rate`.

    A share `line_rate` of the FIM examples cut at line starts, with a middle of 1 to MAX_MIDDLE_LINES whole lines,
    the rest at two uniform character positions.
    PSM: <fim_prefix>prefix<fim_suffix>suffix<fim_middle>middle
    SPM: <fim_prefix><fim_suffix>suffix<fim_middle>prefix middle  (the StarCoder variant)
    """
    if len(text) < 3 or rng.random() >= fim_rate:
        return text
    if rng.random() < line_rate:
        start, end = line_span(text, rng)
    else:
        start, end = sorted(rng.integers(0, len(text) + 1, size=2))
    prefix, middle, suffix = text[:start], text[start:end], text[end:]
    if rng.random() < spm_rate:
        return f"{FIM_PREFIX}{FIM_SUFFIX}{suffix}{FIM_MIDDLE}{prefix}{middle}"
    return f"{FIM_PREFIX}{prefix}{FIM_SUFFIX}{suffix}{FIM_MIDDLE}{middle}"


def line_span(text: str, rng: np.random.Generator) -> tuple[int, int]:
    """(start, end) of 1..MAX_MIDDLE_LINES whole lines of `text`, starting at a uniformly drawn line."""
    line_starts = [0, *(match.end() for match in re.finditer("\n", text[:-1])), len(text)]
    first = int(rng.integers(0, len(line_starts) - 1))
    last = min(first + int(rng.integers(1, MAX_MIDDLE_LINES + 1)), len(line_starts) - 1)
    return line_starts[first], line_starts[last]
