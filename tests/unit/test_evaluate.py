"""Held-out evaluation: cut-point sampling, line metrics, the table, and a run on the tiny test model."""

import math
from pathlib import Path

import pytest

from training.corpus import SourceFile
from training.evaluate import (
    CutPoint, EvalResult, edit_similarity, evaluate_model, format_table, levenshtein, sample_cut_points,
    split_at_line)


def source(rel: str, text: str) -> SourceFile:
    return SourceFile(Path("/repo") / rel, rel, text)


FILES = [source("a.py", "import os\n\n\ndef f(x):\n    return x + 1\n"),
         source("b.py", "class A:\n    pass\n\n\nvalue = A()\n")]


def test_cut_points_are_non_blank_lines_and_deterministic():
    points = sample_cut_points(FILES, 5, seed=3)
    assert len(points) == 5 and len(set(points)) == 5
    assert points == sample_cut_points(list(reversed(FILES)), 5, seed=3)
    texts = {f.rel: f.text.splitlines() for f in FILES}
    assert all(texts[p.rel][p.line].strip() for p in points)


def test_cut_points_are_capped_by_the_candidate_lines():
    assert len(sample_cut_points(FILES, 100)) == 6


def test_split_at_line():
    assert split_at_line("a\nbb\r\nc\n", 1) == ("a\n", "bb", "c\n")
    assert split_at_line("a\nlast", 1) == ("a\n", "last", "")


@pytest.mark.parametrize("a, b, distance", [("", "", 0), ("abc", "", 3), ("kitten", "sitting", 3),
                                            ("flaw", "lawn", 2), ("same", "same", 0)])
def test_levenshtein(a, b, distance):
    assert levenshtein(a, b) == distance == levenshtein(b, a)


def test_edit_similarity():
    assert edit_similarity("", "") == 1.0
    assert edit_similarity("return x", "return x") == 1.0
    assert edit_similarity("abcd", "abcx") == 0.75
    assert edit_similarity("", "abc") == 0.0


def result(exact: float, similarity: float, loss: float | None) -> EvalResult:
    return EvalResult("m", 10, exact, similarity, loss, 100)


def test_table_has_ratios_for_two_models():
    table = format_table({"base": result(0.1, 0.5, 2.0), "fine-tuned": result(0.25, 0.6, 1.5)})
    exact_row = next(line for line in table.splitlines() if line.startswith("next-line exact match"))
    assert exact_row.split()[-3:] == ["10.0%", "25.0%", "2.50x"]
    assert "0.75x" in table and "1.20x" in table


def test_table_shows_missing_loss():
    assert "n/a" in format_table({"base": result(0.0, 0.5, None)})


def test_evaluate_tiny_model_is_deterministic(tiny_model):
    files = [source("pkg/mod.py", "".join(f"def f{i}(x):\n    return x * {i}\n\n\n" for i in range(30)))]
    points = sample_cut_points(files, 6)
    first = evaluate_model(tiny_model, files, points, progress=False)
    second = evaluate_model(tiny_model, files, points, progress=False)
    assert first.points == 6 and [s["line"] for s in first.samples] == [p.line for p in points]
    assert first.samples == second.samples
    assert 0.0 <= first.exact_match <= 1.0 and 0.0 <= first.edit_similarity <= 1.0
    # A random 1,024-token model is about as uncertain as a uniform guess: loss near ln(1024) = 6.9.
    assert first.loss is not None and 3.0 < first.loss < 12.0 and first.loss == second.loss
    assert first.loss_tokens > 100
