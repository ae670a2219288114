"""Held-out evaluation of an exported model directory, through the server's own prompt path (what the editor sees).

At N sampled cut points (the same points for every model compared), the line is emptied to its indentation and the
model is asked for a completion after it exactly as the editor asks the server (`codegen_lsp.engine.suggest`: the
same context, truncation, prompt format and healing); the line shown must be the line that was there: next-line
exact match and edit similarity. Plus the mean next-token loss on the held-out files. `codegen-train eval REPO
--model DIR` runs it alone.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
import numpy as np

from codegen_lsp.cli import LANGUAGE_BY_SUFFIX
from codegen_lsp.engine import CompletionRequest, suggest
from codegen_lsp.settings import Settings
from training.corpus import SourceFile

DEFAULT_POINTS = 200

LOSS_WINDOW = 512  # tokens per loss window
LOSS_TOKENS = 32_768  # upper bound on scored tokens
REPORT_FILE = "eval_report.json"
# The server's defaults (context budget, prompt format), one line, without the editor's time budget: a slow machine
# must not change the figures.
EVAL_SETTINGS = Settings(max_tokens=48, multiline=False, time_budget_ms=600_000)


@dataclass(frozen=True, order=True)
class CutPoint:
    rel: str  # file path relative to the repository
    line: int  # 0-based index of the line to predict


@dataclass
class EvalResult:
    model: str
    points: int
    exact_match: float  # share of lines reproduced exactly (trailing whitespace ignored)
    edit_similarity: float  # mean 1 - Levenshtein distance / length of the longer line
    loss: float | None  # mean next-token cross-entropy on held-out text (nats)
    loss_tokens: int
    samples: list[dict] = field(default_factory=list)  # per cut point: rel, line, target, prediction


def sample_cut_points(files: list[SourceFile], count: int = DEFAULT_POINTS, seed: int = 0) -> list[CutPoint]:
    """`count` distinct non-blank lines drawn uniformly from `files`; the same files and seed give the same points."""
    candidates = [CutPoint(f.rel, i) for f in sorted(files, key=lambda f: f.rel)
                  for i, line in enumerate(f.text.splitlines()) if line.strip()]
    picks = np.random.default_rng(seed).choice(len(candidates), size=min(count, len(candidates)), replace=False)
    return sorted(candidates[i] for i in picks)


def split_at_line(text: str, line: int) -> tuple[str, str, str]:
    """(text before the line, the line without its end, text after the line's end)."""
    lines = text.splitlines(keepends=True)
    return "".join(lines[:line]), lines[line].rstrip("\r\n"), "".join(lines[line + 1:])


def levenshtein(a: str, b: str) -> int:
    """Edit distance (insertions, deletions, substitutions) between `a` and `b`."""
    if len(a) < len(b):
        a, b = b, a
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, 1):
        current = [i]
        for j, char_b in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (char_a != char_b)))
        previous = current
    return previous[-1]


def edit_similarity(prediction: str, target: str) -> float:
    """1 - edit distance / length of the longer string (1.0 for two empty strings)."""
    longest = max(len(prediction), len(target))
    return 1.0 - levenshtein(prediction, target) / longest if longest else 1.0


def predict_line(m, prefix: str, target: str, suffix: str, rel: str) -> str:
    """The line the editor shows after the server's suggestion on `target`'s line emptied to its indentation, the
    cursor after the indentation."""
    indent = target[: len(target) - len(target.lstrip())]
    request = CompletionRequest(prefix + indent + "\n" + suffix, len(prefix) + len(indent),
                                LANGUAGE_BY_SUFFIX.get(Path(rel).suffix, "plaintext"), rel)
    return indent + (suggest(m, request, EVAL_SETTINGS, lambda: False).text or "").split("\n")[0]


def held_out_loss(m, files: list[SourceFile], max_tokens: int = LOSS_TOKENS) -> tuple[float | None, int]:
    """(mean next-token loss, tokens scored) over windows of the held-out files, in path order, via ONNX."""
    window = min(LOSS_WINDOW, m.manifest.context_length)
    total, scored = 0.0, 0
    for source in sorted(files, key=lambda f: f.rel):
        ids = m.tokenize(source.text)
        for start in range(0, max(0, len(ids) - 1), window):
            chunk = ids[start:start + window + 1][:max_tokens - scored + 1]
            if len(chunk) < 2:
                break
            logits = m.decoder.all_logits(chunk[:-1]).astype(np.float64)
            log_norm = np.log(np.exp(logits - logits.max(-1, keepdims=True)).sum(-1)) + logits.max(-1)
            total += float(np.sum(log_norm - logits[np.arange(len(chunk) - 1), chunk[1:]]))
            scored += len(chunk) - 1
            if scored >= max_tokens:
                return total / scored, scored
    return (total / scored if scored else None), scored


def evaluate_model(model_dir: Path | str, files: list[SourceFile], points: list[CutPoint] | None = None,
                   count: int = DEFAULT_POINTS, seed: int = 0, progress: bool = True) -> EvalResult:
    """Next-line exact match and edit similarity at `points` (default: `count` sampled from `files`), and the
    held-out loss, of the exported model at `model_dir`."""
    import model
    from tqdm import tqdm

    m = model.load(model_dir)
    points = sample_cut_points(files, count, seed) if points is None else points
    texts = {f.rel: f.text for f in files}
    samples = []
    for point in tqdm(points, desc=f"eval {Path(model_dir).name}", unit="line", disable=not progress, leave=False):
        prefix, target, suffix = split_at_line(texts[point.rel], point.line)
        prediction = predict_line(m, prefix, target, suffix, point.rel)
        samples.append({"rel": point.rel, "line": point.line, "target": target, "prediction": prediction,
                        "exact": prediction.rstrip() == target.rstrip(),
                        "similarity": round(edit_similarity(prediction.rstrip(), target.rstrip()), 4)})
    loss, loss_tokens = held_out_loss(m, files)
    return EvalResult(
        model=str(model_dir), points=len(samples),
        exact_match=sum(s["exact"] for s in samples) / max(1, len(samples)),
        edit_similarity=sum(s["similarity"] for s in samples) / max(1, len(samples)),
        loss=loss, loss_tokens=loss_tokens, samples=samples)


def format_table(results: dict[str, EvalResult]) -> str:
    """A plain-text table, one column per model; with two models, a last column with after/before ratios."""
    names = list(results)
    rows = [("next-line exact match", "exact_match", "{:.1%}"), ("edit similarity", "edit_similarity", "{:.3f}"),
            ("held-out loss", "loss", "{:.3f}")]
    header = ["", *names, *(["ratio"] if len(names) == 2 else [])]
    lines = [header]
    for label, key, form in rows:
        values = [getattr(results[name], key) for name in names]
        cells = [label, *("n/a" if v is None else form.format(v) for v in values)]
        if len(names) == 2:
            before, after = values
            cells.append(f"{after / before:.2f}x" if before and after is not None else "n/a")
        lines.append(cells)
    lines.append(["cut points / loss tokens", *(f"{results[n].points} / {results[n].loss_tokens}" for n in names)])
    widths = [max(len(row[i]) for row in lines if i < len(row)) for i in range(len(header))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in lines)


def write_report(path: Path, results: dict[str, EvalResult], **extra) -> None:
    """The results (samples included) and `extra` fields as JSON."""
    payload = {**extra, "results": {name: asdict(result) for name, result in results.items()}}
    path.write_text(json.dumps(payload, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def summary(result: EvalResult) -> dict:
    """The headline figures of a result (no samples)."""
    return {key: value for key, value in asdict(result).items() if key != "samples"}


# --- command line ------------------------------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of `codegen-train eval`."""
    parser.add_argument("repo", type=Path, metavar="REPO", help="repository whose held-out files are evaluated")
    parser.add_argument("--model", type=Path, action="append", required=True, metavar="DIR",
                        help="exported model directory (repeat to compare models on the same cut points)")
    parser.add_argument("--points", type=int, default=DEFAULT_POINTS, help="sampled cut points (lines to predict)")
    parser.add_argument("--holdout", metavar="GLOB", help="held-out files (default: the deterministic 10%% split)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the cut-point sample")
    parser.add_argument("--report", type=Path, help=f"JSON report path (default: FIRST_MODEL_DIR/{REPORT_FILE})")


def run(args: argparse.Namespace) -> int:
    """Evaluate each --model on the repository's held-out files; print the table and write the JSON report."""
    from training.repo_data import collect_repository, split_files

    _, held_out = split_files(collect_repository(args.repo).files, holdout_glob=args.holdout)
    points = sample_cut_points(held_out, args.points, args.seed)
    results = {str(path): evaluate_model(path, held_out, points) for path in args.model}
    print(format_table(results))
    report = args.report or args.model[0] / REPORT_FILE
    write_report(report, results, repo=str(Path(args.repo).resolve()), held_out=[f.rel for f in held_out])
    print(f"report: {report}")
    return 0
