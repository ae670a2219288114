"""Figures the reliability tests measure (requests fuzzed, storm size, RSS, faults injected), collected for
bench/reliability.py: appended as JSON lines to $RELIABILITY_FIGURES when it is set, else dropped."""

from __future__ import annotations

import json
import os

FIGURES_ENV = "RELIABILITY_FIGURES"


def record(name: str, value: float | int | str) -> None:
    path = os.environ.get(FIGURES_ENV)
    if path:
        with open(path, "a", encoding="utf-8") as figures:
            figures.write(json.dumps({"name": name, "value": value}) + "\n")
