"""The default model's completion quality on held-out real code, through the server's own prompt path.

At cut points drawn with a fixed seed from pure-Python packages in site-packages (urllib3 and jinja2: not in this
repository, never trained on here), the line is emptied to its indentation and each row's model is asked exactly as
the editor asks the server (`training.evaluate.predict_line` -> `codegen_lsp.engine.suggest`): identical prompts,
context budget, healing and post-processing for every row. Next-line exact match, edit similarity, the share of empty
answers. Rows: bench/default_rows.py, plus variants of the default's prompt:

    before-newline  the prompt ends at the end of the previous line (the model writes the newline and indentation),
                    first non-empty line compared: the runtime alone, no server path
    path            the file's path as a first comment line of the prompt
    server          the real server over stdio with its default settings (the 2 s time budget included), one
                    `textDocument/inlineCompletion` per cut point on the document opened with the line emptied

    python bench/default_model.py [--rows default,fp32,...] [--points 500] [--report FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.metadata
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.default_rows import ROWS, load_row  # noqa: E402
from model.prompts import keep_tail  # noqa: E402
from training.corpus import SourceFile, read_python_tree  # noqa: E402
from training.evaluate import EVAL_SETTINGS, edit_similarity, predict_line, sample_cut_points, split_at_line  # noqa: E402

PACKAGES = ("urllib3", "jinja2")
VARIANTS = ("before-newline", "path", "server")


def corpus() -> tuple[list[SourceFile], dict[str, str]]:
    """The packages' files (rel = package/path) and their versions."""
    files, versions = [], {}
    for package in PACKAGES:
        module = __import__(package)
        root = Path(module.__file__).parent
        files += [SourceFile(f.path, f"{package}/{f.rel}", f.text) for f in read_python_tree(root)]
        versions[package] = importlib.metadata.version(package)
    return files, versions


class WithPath:
    """The default model with the file's path as a comment line at the top of a prefix-only prompt."""

    def __init__(self, inner) -> None:
        self._inner = inner

    def __getattr__(self, name):
        return getattr(self._inner, name)

    def fim_prompt(self, prefix: str, suffix: str, path: str | None = None, **kwargs) -> str:
        return (f"# {path}\n" if path else "") + self._inner.fim_prompt(prefix, suffix, path=path, **kwargs)


def before_newline(m, prefix: str, target: str) -> str:
    """The first non-empty line the runtime writes after a prompt that ends at the end of the previous line."""
    budget = EVAL_SETTINGS.context_tokens
    prompt = keep_tail(prefix.removesuffix("\n"), budget, m.count_tokens)

    def line_done(text: str) -> bool:
        return "\n" in text.lstrip("\n") and bool(text.strip())

    text = m.generate(prompt, max_new_tokens=EVAL_SETTINGS.max_tokens, stop=line_done, heal=True)
    return next((line for line in text.split("\n") if line.strip()), "")


async def server_predictions(requests: list[tuple[str, str, int]]) -> list[str]:
    """The first line of the real server's inline suggestion for each (path, text, offset), the line's text before
    the cursor included; the server runs the default model with its default settings."""
    from lsprotocol import types
    from pygls.lsp.client import LanguageClient

    client = LanguageClient("default-model-bench", "1")
    client.feature(types.WINDOW_LOG_MESSAGE)(lambda params: None)
    await client.start_io(sys.executable, "-m", "codegen_lsp")
    await client.initialize_async(types.InitializeParams(capabilities=types.ClientCapabilities()))
    client.initialized(types.InitializedParams())
    while (status := await client.workspace_execute_command_async(
            types.ExecuteCommandParams(command="codegen.status")))["state"] in ("idle", "loading"):
        await asyncio.sleep(0.1)
    if status["state"] != "ready":
        raise SystemExit(f"the server's model is not usable: {status['error']}")
    predictions = []
    for index, (rel, text, offset) in enumerate(requests):
        uri = f"file:///bench/{index}/{rel}"
        client.text_document_did_open(types.DidOpenTextDocumentParams(types.TextDocumentItem(
            uri=uri, language_id="python", version=1, text=text)))
        line = text.count("\n", 0, offset)
        before = text[text.rfind("\n", 0, offset) + 1:offset]
        result = await client.text_document_inline_completion_async(types.InlineCompletionParams(
            text_document=types.TextDocumentIdentifier(uri=uri), position=types.Position(line, len(before)),
            context=types.InlineCompletionContext(trigger_kind=types.InlineCompletionTriggerKind.Automatic)))
        items = result.items if isinstance(result, types.InlineCompletionList) else (result or [])
        predictions.append(before + (items[0].insert_text.split("\n")[0] if items else ""))
        client.text_document_did_close(types.DidCloseTextDocumentParams(types.TextDocumentIdentifier(uri=uri)))
    await client.shutdown_async(None)
    client.exit(None)
    await client.stop()
    return predictions


def run_row(name: str, files: list[SourceFile], points) -> dict:
    texts = {f.rel: f.text for f in files}
    started = time.monotonic()
    if name == "server":
        requests = []
        for point in points:
            prefix, target, suffix = split_at_line(texts[point.rel], point.line)
            indent = target[: len(target) - len(target.lstrip())]
            requests.append((point.rel, prefix + indent + "\n" + suffix, len(prefix) + len(indent)))
        served = iter(asyncio.run(server_predictions(requests)))
    else:
        m = load_row("default" if name in VARIANTS else name)
        if name == "path":
            m = WithPath(m)
    exact = similarity = empty = 0.0
    samples = []
    for index, point in enumerate(points):
        prefix, target, suffix = split_at_line(texts[point.rel], point.line)
        if name == "server":
            prediction = next(served)
        elif name == "before-newline":
            prediction = before_newline(m, prefix, target)
        else:
            prediction = predict_line(m, prefix, target, suffix, point.rel)
        hit = prediction.rstrip() == target.rstrip()
        exact += hit
        similarity += edit_similarity(prediction.strip(), target.strip())
        empty += not prediction.strip()
        samples.append({"rel": point.rel, "line": point.line, "target": target, "prediction": prediction})
        if (index + 1) % 50 == 0:
            print(f"  {name}: {index + 1}/{len(points)} exact {exact / (index + 1):.1%} "
                  f"({time.monotonic() - started:.0f} s)", file=sys.stderr, flush=True)
    count = max(1, len(points))
    return {"row": name, "points": len(points), "exact_match": exact / count, "edit_similarity": similarity / count,
            "empty": empty / count, "seconds": time.monotonic() - started, "samples": samples}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", default=",".join((*ROWS, *VARIANTS)), help="comma-separated rows (%(default)s)")
    parser.add_argument("--points", type=int, default=500, help="cut points (%(default)s)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--every", type=int, default=1,
                        help="run every N-th of the cut points only (a subset of the same points, for paired rows)")
    parser.add_argument("--report", type=Path, help="JSON file: the figures and every prediction, written per row")
    args = parser.parse_args()
    files, versions = corpus()
    points = sample_cut_points(files, args.points, args.seed)[::args.every]
    report = json.loads(args.report.read_text()) if args.report and args.report.is_file() else {}
    report.update(packages=versions, sampled=args.points, seed=args.seed)
    for name in args.rows.split(","):
        report[name] = run_row(name, files, points)
        if args.report:
            args.report.write_text(json.dumps(report, indent=1) + "\n")
    subset = f", every {args.every}th of {args.points}" if args.every > 1 else ""
    print(f"\n{len(points)} cut points (seed {args.seed}{subset}) in "
          f"{', '.join(f'{p} {v}' for p, v in versions.items())}\n")
    print("| row | next-line exact match | edit similarity | empty answers | s/point |")
    print("| --- | --- | --- | --- | --- |")
    for name in args.rows.split(","):
        row = report[name]
        print(f"| {name} | {row['exact_match']:.1%} | {row['edit_similarity']:.3f} | {row['empty']:.1%} | "
              f"{row['seconds'] / max(1, row['points']):.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
