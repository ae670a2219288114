"""FIM prompt formats and context truncation (model.prompts)."""

import pytest

from model.manifest import FimTokens
from model.prompts import fim_prompt, keep_head, keep_tail, truncate_context

STARCODER = FimTokens("starcoder", "<fim_prefix>", "<fim_suffix>", "<fim_middle>", file_separator="<file_sep>", repo_name="<repo_name>")
SANTACODER = FimTokens("starcoder", "<fim-prefix>", "<fim-suffix>", "<fim-middle>")
STARCODER1 = FimTokens("starcoder", "<fim_prefix>", "<fim_suffix>", "<fim_middle>", file_separator="<filename>")
CODELLAMA = FimTokens("codellama", "<PRE>", "<SUF>", "<MID>")
DEEPSEEK = FimTokens("deepseek", "<｜fim▁begin｜>", "<｜fim▁hole｜>", "<｜fim▁end｜>")
QWEN = FimTokens("qwen", "<|fim_prefix|>", "<|fim_suffix|>", "<|fim_middle|>", file_separator="<|file_sep|>", repo_name="<|repo_name|>")


def characters(text: str) -> int:
    """A token counter where every character is a token."""
    return len(text)


def test_starcoder_prompt_puts_prefix_then_suffix_then_middle_token():
    assert fim_prompt(STARCODER, "def f(", "):\n") == "<fim_prefix>def f(<fim_suffix>):\n<fim_middle>"


def test_starcoder2_prompt_names_repository_and_file():
    prompt = fim_prompt(STARCODER, "a", "b", path="src/x.py", repo_name="proj")
    assert prompt == "<repo_name>proj<file_sep>src/x.py\n<fim_prefix>a<fim_suffix>b<fim_middle>"


def test_starcoder1_prompt_uses_filename_token():
    assert fim_prompt(STARCODER1, "a", "b", path="x.py") == "<filename>x.py\n<fim_prefix>a<fim_suffix>b<fim_middle>"


def test_santacoder_prompt_without_file_token_ignores_path():
    assert fim_prompt(SANTACODER, "a", "b", path="x.py") == "<fim-prefix>a<fim-suffix>b<fim-middle>"


def test_codellama_prompt_spaces_around_prefix_and_before_middle():
    assert fim_prompt(CODELLAMA, "def f(", "):", path="x.py") == "<PRE> def f( <SUF>): <MID>"


def test_deepseek_prompt_wraps_hole():
    assert fim_prompt(DEEPSEEK, "a", "b") == "<｜fim▁begin｜>a<｜fim▁hole｜>b<｜fim▁end｜>"


def test_qwen_prompt_with_repository_and_file_header():
    prompt = fim_prompt(QWEN, "a", "b", path="m.py", repo_name="proj")
    assert prompt == "<|repo_name|>proj\n<|file_sep|>m.py\n<|fim_prefix|>a<|fim_suffix|>b<|fim_middle|>"


def test_qwen_prompt_without_path_has_no_header():
    assert fim_prompt(QWEN, "a", "b") == "<|fim_prefix|>a<|fim_suffix|>b<|fim_middle|>"


def test_suffix_prefix_middle_order_ends_in_the_prefix():
    spm = FimTokens("starcoder", "<fim_prefix>", "<fim_suffix>", "<fim_middle>", file_separator="<file_sep>", order="spm")
    assert fim_prompt(spm, "def f(", "):\n", path="x.py") == "<file_sep>x.py\n<fim_prefix><fim_suffix>):\n<fim_middle>def f("
    deepseek = FimTokens("deepseek", "<｜fim▁begin｜>", "<｜fim▁hole｜>", "<｜fim▁end｜>", order="spm")
    assert fim_prompt(deepseek, "a", "b") == "<｜fim▁begin｜><｜fim▁hole｜>b<｜fim▁end｜>a"


@pytest.mark.parametrize("fim_format, order", [("starcoder", "middle-first"), ("codellama", "spm")])
def test_unsupported_fim_order_is_rejected(fim_format, order):
    with pytest.raises(ValueError, match="unsupported FIM order"):
        FimTokens(fim_format, "a", "b", "c", order=order)


def test_no_fim_falls_back_to_prefix_only():
    assert fim_prompt(None, "import os\n", "print()", path="x.py") == "import os\n"


def test_unknown_fim_format_is_rejected():
    with pytest.raises(ValueError, match="unknown FIM format"):
        FimTokens("mystery", "a", "b", "c")


def test_truncate_keeps_everything_within_budget():
    assert truncate_context("abc", "de", 5, characters) == ("abc", "de")


def test_truncate_keeps_text_nearest_the_cursor():
    prefix = "".join(f"line{i}\n" for i in range(100)) + "cursor"
    suffix = "after\n" + "".join(f"tail{i}\n" for i in range(100))
    kept_prefix, kept_suffix = truncate_context(prefix, suffix, 100, characters)
    assert kept_prefix.endswith("line99\ncursor") and prefix.endswith(kept_prefix)
    assert kept_suffix.startswith("after\n") and suffix.startswith(kept_suffix)
    assert len(kept_prefix) + len(kept_suffix) <= 100


def test_truncate_gives_suffix_its_share_when_both_are_long():
    kept_prefix, kept_suffix = truncate_context("p\n" * 1000, "s\n" * 1000, 100, characters)
    assert kept_suffix == "s\n" * 12 and kept_prefix and len(kept_prefix) <= 100 - 24


def test_truncate_without_a_suffix_share_gives_the_prefix_the_whole_budget():
    prefix = "".join(f"line{i}\n" for i in range(100))
    kept_prefix, kept_suffix = truncate_context(prefix, "after\n", 100, characters, suffix_share=0.0)
    assert kept_suffix == "" and kept_prefix == keep_tail(prefix, 100, characters)
    assert truncate_context(prefix, "after\n", 100, characters)[0] == keep_tail(prefix, 100 - 6, characters)


def test_keep_tail_starts_at_a_line_start_rounded_to_the_cut_granularity():
    text = "".join(f"{i:03}\n" for i in range(100))
    assert keep_tail(text, 200, characters) == text[4 * 64:]  # 50 lines fit; the start is rounded up to line 64
    assert keep_tail("aaaa\nbb\ncc", 7, characters) == "cc"


def test_keep_tail_of_one_long_line_cuts_inside_it():
    assert keep_tail("x" * 50, 7, characters) == "x" * 7


def test_keep_head_ends_at_a_line_end():
    assert keep_head("aa\nbb\ncccc", 7, characters) == "aa\nbb\n"


def test_truncate_respects_a_real_tokenizer_budget():
    def words(text: str) -> int:
        return len(text.split())

    prefix = " ".join(f"w{i}" for i in range(50))
    kept_prefix, kept_suffix = truncate_context(prefix, "", 10, words)
    assert words(kept_prefix) <= 10 and kept_prefix.endswith("w49")
