"""Prompt lookup (model/lookup.py): guesses copied from earlier tokens, and generations that use them token-exact.

Exactness is checked on an fp32 graph: with int8 weights each run quantizes its activations with one scale for all
its rows, so a run of several tokens rounds a little differently from one-token runs (as prompt chunking does)."""

import sysconfig
from pathlib import Path

import numpy as np
import pytest

import model
from model import generate
from model.generate import Request
from model.lookup import Lookahead, draft_tokens

STDLIB = Path(sysconfig.get_paths()["stdlib"])


@pytest.fixture(scope="module")
def llama(tiny_model_dir):
    """A tiny random Llama with the fused (shared-cache) graph, fp32."""
    loaded = model.load(tiny_model_dir("llama"), device="cpu")
    assert loaded.decoder.graph.shared_cache
    return loaded


def test_a_guess_is_what_followed_the_latest_earlier_occurrence_of_the_last_three_tokens():
    history = np.array([7, 1, 2, 3, 40, 41, 9, 1, 2, 3, 50, 51, 52, 8, 1, 2, 3])
    assert draft_tokens(history, 3) == [50, 51, 52]
    assert draft_tokens(history, 1) == [50]
    assert draft_tokens(history, 0) == []
    assert draft_tokens(history, 3, match=4) == []  # "8 1 2 3" occurs nowhere before
    assert draft_tokens(np.array([9, 1, 2, 3, 40, 8, 1, 2, 3, 50, 9, 1, 2, 3]), 2, match=4) == [40, 8]


def test_no_guess_without_an_earlier_occurrence():
    assert draft_tokens(np.array([5, 6, 7, 8, 9, 6, 7]), 4) == []  # only two of the last three occurred before
    assert draft_tokens(np.array([4, 5, 6]), 4) == []
    assert draft_tokens(np.array([], dtype=np.int64), 4) == []
    assert draft_tokens(np.array([5, 5, 5, 5]), 4) == [5]  # overlapping occurrences count
    assert draft_tokens(np.array([1, 2, 3, 1, 2, 3]), 4) == [1, 2, 3]  # a guess may run into the tail itself


def test_lookahead_serves_the_logits_of_its_guesses_while_the_choices_agree():
    lookahead = Lookahead([1, 2, 3, 4, 1, 2], max_new_tokens=8, limit=2)
    assert lookahead.add(3) is None  # nothing fed yet: the model must run
    assert lookahead.guess(room=8) == [4, 1]
    rows = [np.full(4, 1.0), np.full(4, 2.0)]
    lookahead.fed([4, 1], rows)
    assert lookahead.add(4) is rows[0]
    assert lookahead.add(9) is None  # differs from the guess 1: its logits are dropped
    assert lookahead.add(1) is None
    assert (lookahead.guessed, lookahead.accepted) == (2, 1)
    assert lookahead.guess(room=0) == []


def test_after_runs_whose_guesses_were_all_refused_lookahead_pauses_longer_each_time(monkeypatch):
    monkeypatch.setattr("model.lookup.draft_tokens", lambda history, limit: [7, 7])
    lookahead = Lookahead([1, 2, 3], max_new_tokens=64, limit=2)
    row = np.zeros(4)

    def runs_without_guesses():
        """Feed a guess, refuse it all, then count the runs until the next guess."""
        lookahead.fed(lookahead.guess(room=8), [row, row])
        assert lookahead.add(9) is None
        runs = 0
        while not lookahead.guess(room=8):
            runs += 1
            lookahead.add(9)
        return runs

    assert lookahead.guess(room=8) == [7, 7]
    assert [runs_without_guesses() for _ in range(3)] == [1, 2, 4]
    lookahead.fed([7, 7], [row, row])
    assert lookahead.add(7) is row  # one guess taken: the backoff starts over
    assert lookahead.add(9) is None
    assert [runs_without_guesses() for _ in range(2)] == [1, 2]


def code_prompts(tokenizer, count=6, length=160):
    """Prompts cut from standard-library modules: code that repeats its own names and patterns."""
    prompts = []
    for name in ("textwrap.py", "csv.py", "json/encoder.py"):
        ids = tokenizer.encode((STDLIB / name).read_text(encoding="utf-8")).ids
        prompts += [ids[start - length:start] for start in (length + 100, 4 * length)]
    return prompts[:count]


def guessing_from(reference, vocab_size, wrong_every=3):
    """Lookahead methods whose guesses are `reference`'s next tokens with every `wrong_every`-th one changed: both the
    taken and the refused path run whatever the model writes."""
    produced = []
    add, guess = Lookahead.add, Lookahead.guess

    def counted_add(self, token):
        produced.append(token)
        return add(self, token)

    def oracle_guess(self, room):
        guess(self, room)  # the real lookup runs too, pauses included
        done = len(produced)
        return [token if (done + i) % wrong_every else (token + 1) % vocab_size
                for i, token in enumerate(reference[done:done + min(self._limit, room)])]

    return counted_add, oracle_guess


@pytest.mark.parametrize("options", [
    {}, {"repetition_penalty": 1.3}, {"temperature": 0.8, "top_p": 0.95, "seed": 7}, {"heal": True},
], ids=["greedy", "repetition-penalty", "sampled", "healed"])
def test_generation_with_guesses_gives_the_tokens_of_one_run_per_token_in_fewer_runs(llama, monkeypatch, options):
    decoder, runs = llama.decoder, []
    verify = decoder.verify
    monkeypatch.setattr(decoder, "verify", lambda tokens, past: runs.append(len(tokens)) or verify(tokens, past))

    def generation(prompt, lookup_tokens):
        decoder.cache.clear()
        runs.clear()
        request = Request(max_new_tokens=48, lookup_tokens=lookup_tokens, **options)
        return generate.run(decoder, llama.tokenizer, prompt, llama.end_ids, request, llama.healing), len(runs)

    for prompt in code_prompts(llama.tokenizer, count=3):
        plain, plain_runs = generation(prompt, 0)
        with monkeypatch.context() as patched:
            counted_add, oracle_guess = guessing_from(plain.token_ids, decoder.graph.vocab_size)
            patched.setattr(Lookahead, "add", counted_add)
            patched.setattr(Lookahead, "guess", oracle_guess)
            guessing, guessing_runs = generation(prompt, 4)
        assert (guessing.token_ids, guessing.text, guessing.finish_reason) == (plain.token_ids, plain.text, plain.finish_reason)
        assert plain.guessed_tokens == 0 and 0 < guessing.accepted_tokens < guessing.guessed_tokens
        assert guessing_runs == plain_runs - guessing.accepted_tokens


def test_the_cache_after_guessing_holds_exactly_the_generated_tokens(llama, monkeypatch):
    decoder = llama.decoder
    prompt = code_prompts(llama.tokenizer, count=1)[0]

    def generation(tokens, max_new_tokens):
        return generate.run(decoder, llama.tokenizer, tokens, llama.end_ids, Request(max_new_tokens=max_new_tokens))

    decoder.cache.clear()
    reference = generation(prompt, 40).token_ids
    decoder.cache.clear()
    with monkeypatch.context() as patched:
        counted_add, oracle_guess = guessing_from(reference, decoder.graph.vocab_size)
        patched.setattr(Lookahead, "add", counted_add)
        patched.setattr(Lookahead, "guess", oracle_guess)
        first = generation(prompt, 40)
    assert first.token_ids == reference and 0 < first.accepted_tokens < first.guessed_tokens
    follow_up = prompt + first.token_ids + llama.tokenize("\n# next\n")
    warm = generation(follow_up, 24)
    decoder.cache.clear()
    cold = generation(follow_up, 24)
    assert warm.reused_tokens >= len(prompt) + len(first.token_ids) - 1  # refused guesses were not kept as tokens
    assert warm.token_ids == cold.token_ids


def test_graphs_with_growing_caches_run_one_token_at_a_time(tiny_model_dir):
    loaded = model.load(tiny_model_dir("gpt2"), device="cpu")
    assert not loaded.decoder.graph.shared_cache
    ids = loaded.tokenize("x = 1\ny = 2\nx = 1\ny = 2\nx = 1\n")
    outcome = generate.run(loaded.decoder, loaded.tokenizer, ids, frozenset(), Request(max_new_tokens=12))
    assert outcome.guessed_tokens == 0 and len(outcome.token_ids) == 12


def test_a_negative_lookup_limit_is_refused():
    with pytest.raises(ValueError, match="lookup_tokens"):
        Request(lookup_tokens=-1)
