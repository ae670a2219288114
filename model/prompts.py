"""Fill-in-the-middle prompt formats per family, and truncation of prefix/suffix to a token budget."""

from __future__ import annotations

from typing import Callable

from model.manifest import FimTokens

CountTokens = Callable[[str], int]


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


def truncate_context(prefix: str, suffix: str, budget: int, count_tokens: CountTokens, suffix_share: float = 0.25) -> tuple[str, str]:
    """Cut prefix/suffix from their far ends so together they fit `budget` tokens, keeping the text nearest the cursor.

    The suffix gets at most `suffix_share` of the budget unless the prefix leaves it more room.
    """
    prefix_tokens, suffix_tokens = count_tokens(prefix), count_tokens(suffix)
    if prefix_tokens + suffix_tokens <= budget:
        return prefix, suffix
    suffix_budget = min(suffix_tokens, max(budget - prefix_tokens, int(budget * suffix_share)))
    return keep_tail(prefix, budget - suffix_budget, count_tokens), keep_head(suffix, suffix_budget, count_tokens)


def keep_tail(text: str, budget: int, count_tokens: CountTokens) -> str:
    """The longest end of `text` within `budget` tokens, starting at a line start when it spans more than one line."""
    start = _first_fitting(len(text), lambda cut: count_tokens(text[cut:]) <= budget)
    kept = text[start:]
    if start > 0 and text[start - 1] != "\n" and "\n" in kept[:-1]:
        kept = kept[kept.index("\n") + 1 :]
    return kept


def keep_head(text: str, budget: int, count_tokens: CountTokens) -> str:
    """The longest start of `text` within `budget` tokens, ending at a line end when it spans more than one line."""
    drop = _first_fitting(len(text), lambda cut: count_tokens(text[: len(text) - cut]) <= budget)
    kept = text[: len(text) - drop]
    if drop > 0 and text[len(kept)] != "\n" and "\n" in kept:
        kept = kept[: kept.rindex("\n") + 1]
    return kept


def _first_fitting(length: int, fits: Callable[[int], bool]) -> int:
    """The smallest cut in [0, length] for which `fits(cut)` holds (fits is monotonic; fits(length) is assumed)."""
    low, high = 0, length
    while low < high:
        middle = (low + high) // 2
        if fits(middle):
            high = middle
        else:
            low = middle + 1
    return low
