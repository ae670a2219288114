"""Fill-in-the-middle prompt formats per family, and the truncation of prefix/suffix to a token budget."""

from __future__ import annotations

import math
from typing import Callable

from model.manifest import FimTokens

CountTokens = Callable[[str], int]
# The prefix is cut at a multiple of this many lines so that typing does not move the prompt's start
# (the runtime reuses the KV cache of the longest common prompt prefix).
PREFIX_CUT_GRANULARITY = 32
SUFFIX_SHARE = 0.25  # of the prompt budget, at most, for the text after the cursor (FIM prompts)


def fim_prompt(fim: FimTokens | None, prefix: str, suffix: str, path: str | None = None, repo_name: str | None = None) -> str:
    """The prompt that asks the model for the text between `prefix` and `suffix`; prefix only without FIM tokens.

    A suffix-prefix-middle prompt ends in the prefix's text: generate it with token healing (model/healing.py).
    """
    if fim is None:
        return prefix
    if fim.format == "codellama":
        return f"{fim.prefix} {prefix} {fim.suffix}{suffix} {fim.middle}"
    header = "" if fim.format == "deepseek" else _header(fim, path, repo_name, repo_end="\n" if fim.format == "qwen" else "")
    if fim.order == "spm":
        return f"{header}{fim.prefix}{fim.suffix}{suffix}{fim.middle}{prefix}"
    return f"{header}{fim.prefix}{prefix}{fim.suffix}{suffix}{fim.middle}"


def _header(fim: FimTokens, path: str | None, repo_name: str | None, repo_end: str) -> str:
    """Repository name and file path before the FIM tokens (StarCoder2 / Qwen2.5-Coder), when the vocabulary has them."""
    repo = f"{fim.repo_name}{repo_name}{repo_end}" if fim.repo_name and repo_name else ""
    file = f"{fim.file_separator}{path}\n" if fim.file_separator and path else ""
    return repo + file


def truncate_context(prefix: str, suffix: str, budget: int, count_tokens: CountTokens,
                     suffix_share: float = SUFFIX_SHARE) -> tuple[str, str]:
    """Prefix and suffix cut from their far ends to whole lines so that together they fit `budget` tokens: the suffix
    first, up to `suffix_share` of the budget (0: none, for a prompt without FIM tokens), the prefix the rest.

    The one truncation of every prompt: inline and classic completion, the code actions, `codegen-train eval`.
    """
    kept_suffix = keep_head(suffix, int(budget * suffix_share), count_tokens) if suffix_share > 0 else ""
    return keep_tail(prefix, budget - count_tokens(kept_suffix), count_tokens), kept_suffix


def keep_tail(text: str, budget: int, count_tokens: CountTokens) -> str:
    """The end of `text` that fits `budget` tokens, starting at a whole line (the last line always kept).

    The start line is rounded up to a multiple of PREFIX_CUT_GRANULARITY, so that it stays put while the user types
    and the model reuses its cached prompt prefix.
    """
    lines = text.splitlines(keepends=True)
    if not lines:
        return text
    used = count_tokens(lines[-1])
    if used > budget:  # one line longer than the budget (minified code): its end, cut inside it
        low, high = 0, len(lines[-1])
        while low < high:
            middle = (low + high) // 2
            low, high = (low, middle) if count_tokens(lines[-1][middle:]) <= budget else (middle + 1, high)
        return lines[-1][low:]
    start = len(lines) - 1
    while start > 0:
        cost = count_tokens(lines[start - 1])
        if used + cost > budget:
            break
        used += cost
        start -= 1
    if start == 0:
        return text
    start = min(math.ceil(start / PREFIX_CUT_GRANULARITY) * PREFIX_CUT_GRANULARITY, len(lines) - 1)
    return "".join(lines[start:])


def keep_head(text: str, budget: int, count_tokens: CountTokens) -> str:
    """The start of `text` that fits `budget` tokens, ending at a whole line (the first line always kept)."""
    kept: list[str] = []
    used = 0
    for line in text.splitlines(keepends=True):
        cost = count_tokens(line)
        if kept and used + cost > budget:
            break
        kept.append(line)
        used += cost
    return "".join(kept)
