"""The figures of the README's RELIABILITY section: runs tests/reliability with figure recording on and prints them.

The tests measure while they check (tests/reliability/figures.py): requests fuzzed, the storm's size, generations
and RSS, the faults injected. This script runs them once and prints a Markdown table of the figures and the
test outcome.

    python bench/reliability.py [--fast]    # --fast leaves out the slow SIGKILL-during-training tests
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
FIGURES_ENV = "RELIABILITY_FIGURES"  # read by tests/reliability/figures.py


def read_figures(path: Path) -> dict[str, float | int | str]:
    """Recorded figures by name (each test records its own names once)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return {figure["name"]: figure["value"] for figure in map(json.loads, lines)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast", action="store_true", help="leave out the slow training kill tests")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        figures_path = Path(scratch) / "figures.jsonl"
        figures_path.touch()
        command = [sys.executable, "-m", "pytest", "tests/reliability", "-q", "-p", "no:cacheprovider"]
        if args.fast:
            command += ["-m", "not slow"]
        started = time.monotonic()
        result = subprocess.run(command, cwd=REPO_ROOT, env={**os.environ, FIGURES_ENV: str(figures_path)},
                                capture_output=True, text=True)
        elapsed = time.monotonic() - started
        figures = read_figures(figures_path)
    outcome = (result.stdout.strip().splitlines() or ["no output"])[-1]
    print(f"tests/reliability: {outcome} ({elapsed:.0f} s wall clock)\n")
    print("| figure | value |")
    print("| --- | --- |")
    faults = sum(value for name, value in figures.items() if name.startswith("faults:"))
    for name, value in sorted(figures.items(), key=lambda item: (item[0].startswith("faults:"), item[0])):
        print(f"| {name} | {value} |")
    print(f"| faults injected in all | {faults} |")
    if "storm RSS before (MB)" in figures:
        growth = figures["storm RSS after (MB)"] - figures["storm RSS before (MB)"]
        print(f"| storm RSS growth (MB) | {growth:.1f} |")
    if result.returncode != 0:
        print(result.stdout[-4000:], file=sys.stderr)
    return result.returncode


if __name__ == "__main__":
    sys.exit(main())
