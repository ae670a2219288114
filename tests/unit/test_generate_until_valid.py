"""The code actions' generation loop (codegen_lsp.engine.generate_until_valid), on a recording model."""

from dataclasses import dataclass

from codegen_lsp.engine import (REPETITION_PENALTY, RETRY_TEMPERATURE, generate_until_valid,
                                             longest_valid_lines)


@dataclass
class Generated:
    text: str


class RecordingModel:
    """Answers each call with the next of `texts`, recording the keyword arguments."""

    def __init__(self, texts):
        self.texts, self.calls = list(texts), []

    def generate_detailed(self, prompt, **kwargs):
        self.calls.append(kwargs)
        return Generated(self.texts.pop(0))


def run(model, retries=3):
    return generate_until_valid(model, "prompt", 32, lambda text: False, str.strip,
                                lambda code: [] if code == "ok" else [f"{code!r} does not parse"], retries, lambda: False)


def test_greedy_first_then_sampled_retries_until_a_result_parses():
    model = RecordingModel(["bad", "worse", "ok", "never asked"])
    outcome = run(model)
    assert outcome.code == "ok" and outcome.attempts == 3
    assert [call["temperature"] for call in model.calls] == [0.0, RETRY_TEMPERATURE, RETRY_TEMPERATURE]
    assert len({call["seed"] for call in model.calls[1:]}) == 2  # each retry draws differently


def test_every_attempt_is_healed_and_penalises_repeats():
    model = RecordingModel(["bad", "ok"])
    run(model)
    assert all(call["heal"] and call["repetition_penalty"] == REPETITION_PENALTY > 1 for call in model.calls)


def test_no_result_after_the_retries_says_why():
    outcome = run(RecordingModel(["a", "b"]), retries=1)
    assert outcome.code is None and outcome.attempts == 2 and "'b' does not parse" in outcome.problem


def lines_parse(code):
    """Problems of `code`: every line must be 'ok'."""
    return [] if all(line == "ok" for line in code.split("\n")) else ["a line is not 'ok'"]


def run_lines(texts, retries=1):
    return generate_until_valid(RecordingModel(texts), "prompt", 32, lambda text: False, str.strip, lines_parse,
                                retries, lambda: False)


def test_when_no_attempt_parses_the_longest_valid_start_of_the_first_is_kept():
    outcome = run_lines(["ok\nok\nbroken\nok", "ok\nbroken"])
    assert outcome.code == "ok\nok" and outcome.attempts == 2
    assert "cut after line 2" in outcome.problem


def test_a_later_attempt_that_parses_whole_wins_over_a_partial_one():
    outcome = run_lines(["ok\nbroken", "ok\nok\nok"])
    assert outcome.code == "ok\nok\nok" and outcome.problem == ""


def test_a_broken_first_line_leaves_nothing_to_keep():
    assert longest_valid_lines("broken\nok", lines_parse) is None
    assert run_lines(["broken", "broken\nok"]).code is None
