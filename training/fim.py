"""Fill-in-the-middle augmentation (character-level cut points, PSM and SPM orders)."""

from __future__ import annotations

import numpy as np

from training.tokenizer import FIM_MIDDLE, FIM_PREFIX, FIM_SUFFIX


def fim_transform(text: str, rng: np.random.Generator, fim_rate: float, spm_rate: float) -> str:
    """Return `text` unchanged, or rearranged into a FIM example with probability `fim_rate`.

    PSM: <fim_prefix>prefix<fim_suffix>suffix<fim_middle>middle
    SPM: <fim_prefix><fim_suffix>suffix<fim_middle>prefix middle  (the StarCoder variant)
    """
    if len(text) < 3 or rng.random() >= fim_rate:
        return text
    start, end = sorted(rng.integers(0, len(text) + 1, size=2))
    prefix, middle, suffix = text[:start], text[start:end], text[end:]
    if rng.random() < spm_rate:
        return f"{FIM_PREFIX}{FIM_SUFFIX}{suffix}{FIM_MIDDLE}{prefix}{middle}"
    return f"{FIM_PREFIX}{prefix}{FIM_SUFFIX}{suffix}{FIM_MIDDLE}{middle}"
