"""Quality figures of a pretrained model for its MODEL_CARD.md: held-out loss / perplexity and next-line
completion on held-out standard-library files and on this project's own source tree (code it never saw), and the
model's completions of a few common Python idioms (through the server's prompt: FIM + token healing).

    python bench/default_model.py [--model model/default] [--points 500]

The held-out standard-library files are those the pretraining run recorded in `hf/corpus_split.json`.
HumanEval and latency come from bench/code_actions.py and bench/runtime.py.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import model
from training.corpus import SourceFile, read_python_tree, stdlib_dir
from training.evaluate import evaluate_model, summary

PROJECT_ROOT = Path(__file__).resolve().parent.parent
PROJECT_PACKAGES = ("codegen_lsp", "model", "training", "bench", "tests")
IDIOMS = [  # (text before the cursor, text after it)
    ("class Point:\n    def __init__(self", "\n"),
    ("def total(items):\n    result = 0\n    for i in range(", "\n    return result\n"),
    ("import os\n\n\ndef read(path):\n    with open(", "\n"),
    ("def main():\n    args = parse_args()\n\n\nif __name__ == ", "\n"),
    ("class Stack:\n    def __init__(self):\n        self.items = []\n\n    def push(self, item):\n        ",
     "\n\n    def pop(self):\n        return self.items.pop()\n"),
]


def held_out_stdlib(model_dir: Path) -> list[SourceFile]:
    split = json.loads((model_dir / "hf" / "corpus_split.json").read_text())
    held = set(split["held_out"])
    return [f for f in read_python_tree(stdlib_dir()) if f.rel in held]


def project_sources() -> list[SourceFile]:
    return [SourceFile(f.path, f"{package}/{f.rel}", f.text)
            for package in PROJECT_PACKAGES for f in read_python_tree(PROJECT_ROOT / package)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=model.default_model_path())
    parser.add_argument("--points", type=int, default=500, help="cut points per corpus")
    parser.add_argument("--report", type=Path, help="write the figures as JSON here")
    args = parser.parse_args()
    corpora = {"stdlib held-out": held_out_stdlib(args.model), "this project (unseen)": project_sources()}
    rows, report = [], {}
    for name, files in corpora.items():
        result = evaluate_model(args.model, files, count=args.points, seed=0)
        report[name] = summary(result) | {"files": len(files)}
        perplexity = math.exp(result.loss) if result.loss is not None else float("nan")
        rows.append(f"| {name} | {len(files)} | {result.points} | {result.exact_match:.1%} | "
                    f"{result.edit_similarity:.3f} | {result.loss:.3f} | {perplexity:.1f} |")
    print(f"model: {args.model}")
    print("| corpus | files | cut points | next-line exact match | edit similarity | loss (nats/token) | perplexity |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    print("\n".join(rows))
    print("\n| before the cursor (last line) | completion (to the end of the line) |\n| --- | --- |")
    loaded = model.load(args.model)
    for prefix, suffix in IDIOMS:
        prompt = loaded.fim_prompt(prefix, suffix, path="example.py")
        completion = loaded.generate(prompt, max_new_tokens=24, stop=["\n"], heal=True)
        print(f"| `{prefix.splitlines()[-1].strip() or '(indentation)'}` | `{completion}` |")
    if args.report:
        args.report.write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()
