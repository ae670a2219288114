"""Token healing: the prompt's last token is re-chosen by the model, constrained to write the same text."""

import pytest
from tokenizers import Tokenizer, models

import model
from model.healing import TokenHealing


@pytest.fixture(scope="module")
def tiny(tiny_model):
    return model.load(tiny_model, device="cpu")


def token_texts(tokenizer):
    added = tokenizer.get_added_tokens_decoder()
    texts = [tokenizer.decode([i], skip_special_tokens=False) for i in range(tokenizer.get_vocab_size())]
    return ["" if i in added or "\ufffd" in text else text for i, text in enumerate(texts)]


@pytest.mark.parametrize("remaining", ["\n", "\n   ", "se", "def", "(self"])
def test_allowed_tokens_are_exactly_those_that_agree_with_the_remaining_text(tiny, remaining):
    texts = token_texts(tiny.tokenizer)
    expected = {i for i, text in enumerate(texts) if text and (text.startswith(remaining) or remaining.startswith(text))}
    allowed = TokenHealing(tiny.tokenizer).allowed(remaining)
    assert sorted(allowed.tolist()) == sorted(expected) and expected


def test_split_takes_off_the_last_token_but_never_a_special_one(tiny):
    healing = TokenHealing(tiny.tokenizer)
    tokens = tiny.tokenize("class Reader:\n    def read(self")
    assert healing.split(tokens) == (tokens[:-1], tiny.tokenizer.decode(tokens[-1:]))
    fim = tiny.tokenize(tiny.fim_prompt("def f(", ")\n"))
    assert healing.split(fim) == (fim, "")


def test_vocabularies_that_are_not_byte_level_are_left_alone():
    assert TokenHealing(Tokenizer(models.BPE())).split([5, 6, 7]) == ([5, 6, 7], "")


@pytest.mark.parametrize("temperature", [0.0, 1.0])
def test_healed_generation_rewrites_the_last_token_and_returns_only_what_follows(tiny, temperature):
    prompt = "import os\n\n\nclass Reader:\n    def __init__(self, path):\n        self.pa"
    tokens = tiny.tokenize(prompt)
    piece = tiny.tokenizer.decode(tokens[-1:])
    tiny.forget_prompts()
    generation = tiny.generate_detailed(prompt, max_new_tokens=8, temperature=temperature, seed=3, heal=True,
                                        stop=[piece])
    written = tiny.tokenizer.decode(generation.token_ids)
    assert generation.prompt_tokens == len(tokens) - 1
    assert written.startswith(piece)
    assert written[len(piece):].startswith(generation.text)
    assert generation.finish_reason != "stop" or piece in written[len(piece):]  # the healed text is not a stop


@pytest.mark.parametrize("prompt, healed", [
    ("def f():\n    x = 1\n    ", "\n    "),  # an emptied line: back before the newline
    ("def f():\n    x = 1\n", "\n"),
    ("def f():\n    return ", " "),  # a space after text: that token only
])
def test_split_goes_back_across_trailing_whitespace_to_before_the_newline(tiny, prompt, healed):
    tokens = tiny.tokenize(prompt)
    kept, text = TokenHealing(tiny.tokenizer).split(tokens)
    assert text == healed
    assert tiny.tokenizer.decode(kept) + text == prompt
