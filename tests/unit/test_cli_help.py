"""`--help` of every command shows the defaults (issue: the fine-tune budget's 20 minutes were not shown)."""

import pytest

from codegen_lsp.cli import _parser
from training.cli import SUBCOMMANDS, build_parser


@pytest.mark.parametrize("command", sorted(SUBCOMMANDS))
def test_codegen_train_help_shows_defaults_and_never_none(command, capsys):
    with pytest.raises(SystemExit):
        build_parser(command).parse_args([command, "--help"])
    text = capsys.readouterr().out
    assert "(default: None)" not in text and "(default: False)" not in text
    if command == "finetune":
        assert "(default: 20.0)" in " ".join(text.split())


def test_codegen_lsp_help_shows_defaults(capsys):
    with pytest.raises(SystemExit):
        _parser().parse_args(["complete", "--help"])
    assert "(default: auto)" in capsys.readouterr().out
