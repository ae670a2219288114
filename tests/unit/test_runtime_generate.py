"""Pure parts of the decoding loop: token choice, stop rules, incremental detokenisation (model.generate)."""

import threading

import numpy as np
import pytest
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

from model.generate import IncrementalDetokenizer, Request, StopRule, choose_token, is_cancelled, penalize_repeats

LOGITS = np.array([0.0, 3.0, 2.9, -1.0, 1.0], dtype=np.float32)


def test_greedy_picks_the_largest_logit():
    assert choose_token(LOGITS, 0.0, 1.0, np.random.default_rng(0)) == 1


def test_tiny_top_p_keeps_only_the_most_likely_token():
    rng = np.random.default_rng(0)
    assert {choose_token(LOGITS, 5.0, 1e-6, rng) for _ in range(50)} == {1}


def test_top_p_excludes_the_tail():
    rng = np.random.default_rng(0)
    assert {choose_token(LOGITS, 1.0, 0.8, rng) for _ in range(300)} == {1, 2}


def test_high_temperature_reaches_every_token():
    rng = np.random.default_rng(0)
    assert {choose_token(LOGITS, 100.0, 1.0, rng) for _ in range(300)} == set(range(5))


def test_sampling_follows_the_distribution():
    rng = np.random.default_rng(0)
    draws = np.array([choose_token(np.log(np.array([0.7, 0.2, 0.1])), 1.0, 1.0, rng) for _ in range(3000)])
    assert np.allclose(np.bincount(draws, minlength=3) / len(draws), [0.7, 0.2, 0.1], atol=0.03)


def test_same_seed_same_samples():
    def draw(seed):
        rng = np.random.default_rng(seed)
        return [choose_token(LOGITS, 1.0, 1.0, rng) for _ in range(30)]

    assert draw(7) == draw(7)
    assert draw(7) != draw(8)


@pytest.mark.parametrize("settings", [{"max_new_tokens": -1}, {"temperature": -0.1}, {"top_p": 0.0}, {"top_p": 1.5},
                                      {"repetition_penalty": 0.0}])
def test_invalid_request_settings_are_rejected(settings):
    with pytest.raises(ValueError):
        Request(**settings)


def test_repeated_tokens_lose_ground_whatever_their_sign():
    logits = np.array([4.0, -2.0, 3.0, 1.0], dtype=np.float32)
    penalized = penalize_repeats(logits, [0, 1, 0], 2.0)  # token 0 twice: penalized once
    np.testing.assert_allclose(penalized, [2.0, -4.0, 3.0, 1.0])
    assert choose_token(logits, 0.0, 1.0, None) == 0 and choose_token(penalized, 0.0, 1.0, None) == 2
    assert logits[0] == 4.0  # the caller's logits are left alone


def test_no_penalty_or_no_history_changes_nothing():
    logits = np.array([1.0, -1.0], dtype=np.float32)
    assert penalize_repeats(logits, [0, 1], 1.0) is logits and penalize_repeats(logits, [], 1.3) is logits


def test_stop_strings_end_before_the_earliest_occurrence():
    rule = StopRule(["\n\n", "def "])
    assert rule.cut("x = 1\ndef f():\n\n") == len("x = 1\n")
    assert rule.cut("x = 1\n") is None


def test_a_single_stop_string_is_not_split_into_characters():
    assert StopRule("\n\n").cut("a\nb\n\nc") == 3


def test_stop_string_prefix_at_the_end_is_held_back():
    rule = StopRule(["\nclass", "##"])
    assert rule.pending("x = 1\ncl") == 3
    assert rule.pending("x = 1#") == 1
    assert rule.pending("x = 1") == 0


def test_stop_callable_ends_after_the_text_that_satisfied_it():
    rule = StopRule(lambda text: text.count("\n") >= 2)
    assert rule.cut("a\nb") is None
    assert rule.cut("a\nb\n") == 4
    assert rule.pending("a\nb") == 0


def test_no_stop_never_cuts():
    assert StopRule(None).cut("anything") is None and StopRule([""]).cut("anything") is None


def test_cancel_accepts_an_event_or_a_callable():
    event = threading.Event()
    assert not is_cancelled(event) and not is_cancelled(None) and is_cancelled(lambda: True)
    event.set()
    assert is_cancelled(event)


@pytest.fixture(scope="module")
def byte_tokenizer():
    """A byte-level BPE tokenizer that knows only ASCII merges: non-ASCII characters span several tokens."""
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=300, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tokenizer.train_from_iterator(["def main():\n    return value\n"] * 10, trainer=trainer)
    return tokenizer


def test_detokenizer_never_emits_half_characters(byte_tokenizer):
    text = "héllo 😀 wörld — ok"
    ids = byte_tokenizer.encode(text).ids
    assert len(ids) > len(text)  # multi-byte characters really are split across tokens
    detokenizer = IncrementalDetokenizer(byte_tokenizer)
    pieces = [detokenizer.add(token) for token in ids]
    assert "".join(pieces) == text
    assert not any("\ufffd" in piece for piece in pieces)
    assert "" in pieces  # held back while the emoji was incomplete
