"""End-to-end fixtures: the real server over stdio, driven by pytest-lsp with real editors' capabilities.

`client` runs the scripted fake model (CODEGEN_LSP_FAKE_MODEL, see tests/e2e/fake_model.json) so that
assertions can name the exact suggestion; `tiny_model_client` runs the real runtime on the tiny random model.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

FAKE_MODEL_SCRIPT = Path(__file__).parent / "fake_model.json"
SERVER = [sys.executable, "-m", "codegen_lsp"]
CLIENTS = ["neovim", "visual_studio_code"]
READY_TIMEOUT_S = 120


def _environment(**extra: str) -> dict[str, str]:
    environment = {key: value for key, value in os.environ.items() if key != "CODEGEN_LSP_FAKE_MODEL"}
    return {**environment, **extra}


async def start(client: LanguageClient, editor: str, options: dict) -> types.InitializeResult:
    """initialize + initialized, then wait until the model has loaded (or failed to)."""
    result = await client.initialize_session(types.InitializeParams(
        capabilities=client_capabilities(editor), initialization_options=options,
        workspace_folders=[types.WorkspaceFolder(uri="file:///workspace", name="workspace")],
        root_uri="file:///workspace"))
    await wait_until_loaded(client)
    return result


async def status(client: LanguageClient) -> dict:
    return await client.workspace_execute_command_async(types.ExecuteCommandParams(command="codegen.status"))


async def wait_until_loaded(client: LanguageClient) -> dict:
    async def poll() -> dict:
        while (answer := await status(client))["state"] in ("idle", "loading"):
            await asyncio.sleep(0.05)
        return answer

    return await asyncio.wait_for(poll(), READY_TIMEOUT_S)


@pytest_lsp.fixture(config=ClientServerConfig(server_command=SERVER,
                                              server_env=_environment(CODEGEN_LSP_FAKE_MODEL=str(FAKE_MODEL_SCRIPT))),
                    params=CLIENTS)
async def client(request, lsp_client: LanguageClient, tmp_path):
    result = await start(lsp_client, request.param, {"model": str(tmp_path), "debug": {"logDocuments": True}})
    lsp_client.position_encoding = result.capabilities.position_encoding or "utf-16"
    yield
    await lsp_client.shutdown_session()


@pytest_lsp.fixture(config=ClientServerConfig(server_command=SERVER, server_env=_environment()), params=CLIENTS)
async def missing_model_client(request, lsp_client: LanguageClient, tmp_path):
    await start(lsp_client, request.param, {"model": str(tmp_path / "no-such-model")})
    yield
    await lsp_client.shutdown_session()


@pytest_lsp.fixture(config=ClientServerConfig(server_command=SERVER, server_env=_environment()))
async def tiny_model_client(lsp_client: LanguageClient, tiny_model):
    await start(lsp_client, "visual_studio_code", {"model": str(tiny_model), "maxTokens": 8})
    yield
    await lsp_client.shutdown_session()


