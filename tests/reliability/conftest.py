"""Reliability fixtures: the real server process on the scripted model, driven over raw stdio."""

from __future__ import annotations

from pathlib import Path

import pytest

from .lsp_process import ServerProcess

SCRIPTED_MODEL = Path(__file__).parent / "scripted_model.json"
# Settings of a server under test: its copy of each document can be read back (codegen.debugDocument).
DEBUG_OPTIONS = {"debug": {"logDocuments": True}}


def scripted_server(workspace: Path, options: dict | None = None, args: tuple[str, ...] = (),
                    script: Path = SCRIPTED_MODEL) -> ServerProcess:
    """An initialized server on a scripted model (default: tests/reliability/scripted_model.json) with
    ``workspace`` as its only folder."""
    server = ServerProcess(env={"CODEGEN_LSP_FAKE_MODEL": str(script)}, args=args)
    server.initialize({"model": str(workspace), **(options if options is not None else DEBUG_OPTIONS)}, workspace)
    return server


@pytest.fixture
def workspace(tmp_path) -> Path:
    path = tmp_path / "workspace"
    path.mkdir()
    return path


@pytest.fixture
def server(workspace):
    with scripted_server(workspace) as process:
        yield process
        assert process.alive(), process.stderr_text()[-2000:]
