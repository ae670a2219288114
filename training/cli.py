"""`codegen-train`: one subcommand per module, imported only when that subcommand runs (so --help is fast).

To add a subcommand, add a row to SUBCOMMANDS naming a module that defines
`add_arguments(parser: argparse.ArgumentParser) -> None` and `run(args: argparse.Namespace) -> int`.
Bad input is raised as `training.errors.TrainingError` (or `model.ModelError`) and reported as one line, exit 2.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from types import ModuleType

from codegen_lsp.cli import DefaultsHelpFormatter

PROG = "codegen-train"
USAGE_ERROR = 2

# name -> (module, one-line help)
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "pretrain": ("training.pretrain", "train a small code model from scratch (as bench/stdlib-4m was)"),
    "export": ("training.export", "export a Hugging Face checkpoint to a validated ONNX model directory"),
    "finetune": ("training.finetune", "fine-tune a model on a repository, evaluate before/after, publish it"),
    "eval": ("training.evaluate", "evaluate model directories on a repository's held-out files"),
    "models": ("training.publish", "list the model store's versions, switch (use VERSION) or roll back"),
}


def subcommand_module(name: str) -> ModuleType:
    """The module implementing subcommand `name`."""
    return importlib.import_module(SUBCOMMANDS[name][0])


def build_parser(selected: str | None = None) -> argparse.ArgumentParser:
    """The argument parser; only the `selected` subcommand's module is imported to add its arguments."""
    parser = argparse.ArgumentParser(prog=PROG, description="Train, fine-tune, evaluate and export code models.")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (_, help_text) in SUBCOMMANDS.items():
        subparser = subparsers.add_parser(name, help=help_text, description=help_text, formatter_class=DefaultsHelpFormatter)
        if name == selected:
            subcommand_module(name).add_arguments(subparser)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `codegen-train` console script; returns the exit code."""
    from model.errors import ModelError
    from training.errors import TrainingError

    argv = sys.argv[1:] if argv is None else argv
    selected = argv[0] if argv and argv[0] in SUBCOMMANDS else None
    args = build_parser(selected).parse_args(argv)
    try:
        return subcommand_module(args.command).run(args)
    except (TrainingError, ModelError) as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return USAGE_ERROR
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
