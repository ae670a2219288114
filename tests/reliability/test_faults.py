"""Faults while serving: the model directory deleted or truncated, a new model published mid-request, CUDA failing
to start, the model running out of memory. The server reports each, keeps answering, and recovers."""

from __future__ import annotations

import json
import shutil
import time

import pytest

from model.store import ModelStore

from .conftest import scripted_server
from .figures import record
from .lsp_process import ServerProcess

POLL_S = 1.1  # the server looks for a changed model directory at most once a second
FAKE_CUDA = '''
import onnxruntime
_real_session = onnxruntime.InferenceSession
onnxruntime.get_available_providers = lambda: ["CUDAExecutionProvider", "CPUExecutionProvider"]

def _session(path, sess_options=None, providers=None, **kwargs):
    if providers and "CUDAExecutionProvider" in providers:
        raise RuntimeError("CUDA failure 35: CUDA driver version is insufficient (simulated)")
    return _real_session(path, sess_options=sess_options, providers=providers, **kwargs)

onnxruntime.InferenceSession = _session
'''


def shown(server: ServerProcess) -> list[str]:
    return [n["params"]["message"] for n in server.notifications if n["method"] == "window/showMessage"]


def inline_answer(server: ServerProcess, uri: str, text: str) -> dict:
    """Open-or-replace ``uri`` with ``text`` and ask for a suggestion at its end."""
    answer = server.wait(server.inline_completion(uri, text.count("\n"), len(text.rsplit("\n", 1)[-1])))
    assert "error" not in answer, answer
    return answer["result"]


@pytest.fixture
def model_copy(tmp_path, tiny_model):
    return shutil.copytree(tiny_model, tmp_path / "model", ignore=shutil.ignore_patterns("hf"))


def test_out_of_memory_in_generation_is_reported_once_and_the_server_keeps_serving(tmp_path, workspace):
    script = tmp_path / "failing_model.json"
    script.write_text(json.dumps({"rules": [{"after": "explode(", "raise": "MemoryError"},
                                            {"after": "fine(", "text": "ok)"}]}))
    uri = (workspace / "oom.py").as_uri()
    with scripted_server(workspace, {}, script=script) as server:
        server.open(uri, "explode(")
        for _ in range(3):
            assert inline_answer(server, uri, "explode(") == {"items": []}
        completion = server.call("textDocument/completion", {"textDocument": {"uri": uri},
                                                               "position": {"line": 0, "character": 8}})
        assert completion["result"]["items"] == []
        messages = [m for m in shown(server) if "out of memory" in m]
        assert len(messages) == 1 and "contextTokens" in messages[0]  # told once, with the fix
        server.notify("textDocument/didChange", {"textDocument": {"uri": uri, "version": 2},
                                                 "contentChanges": [{"text": "fine("}]})
        assert inline_answer(server, uri, "fine(")["items"][0]["insertText"] == "ok)"
        assert server.status()["state"] == "ready"
    record("faults: out of memory in generation", 4)


def test_cuda_that_fails_to_start_falls_back_to_cpu_with_a_message(tmp_path, workspace, model_copy):
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(FAKE_CUDA)
    with ServerProcess(env={"PYTHONPATH": str(site)}) as server:
        server.initialize({"model": str(model_copy), "device": "auto", "maxTokens": 4}, workspace)
        status = server.status()
        assert status["state"] == "ready" and status["device"] == "cpu", status
        assert any("CUDA could not start" in m and "CPU" in m for m in shown(server)), shown(server)
        assert "driver version is insufficient" in server.stderr_text()  # the reason, in the server log
        uri = (workspace / "gpu.py").as_uri()
        server.open(uri, "def f(")
        inline_answer(server, uri, "def f(")
    record("faults: CUDA session failing", 1)


def test_model_directory_deleted_or_truncated_while_serving(tmp_path, workspace, model_copy):
    backup = shutil.copytree(model_copy, tmp_path / "backup")
    uri = (workspace / "example.py").as_uri()
    with ServerProcess() as server:
        server.initialize({"model": str(model_copy), "maxTokens": 4}, workspace)
        server.open(uri, "def f(")
        inline_answer(server, uri, "def f(")
        damages = {
            "deleted": lambda: shutil.rmtree(model_copy),
            "truncated": lambda: (model_copy / "model.onnx").write_bytes(
                (backup / "model.onnx").read_bytes()[:1000]),
            "manifest emptied": lambda: (model_copy / "manifest.json").write_text(""),
        }
        for name, damage in damages.items():
            time.sleep(POLL_S)
            damage()
            time.sleep(POLL_S)
            assert inline_answer(server, uri, "def f(") == {"items": []}, name
            status = server.status()
            assert status["state"] == "failed" and status["error"], (name, status)
            assert any("no model" in m for m in shown(server)), name
            shutil.rmtree(model_copy, ignore_errors=True)
            shutil.copytree(backup, model_copy)
            time.sleep(POLL_S)
            inline_answer(server, uri, "def f(")  # notices the repaired directory and reloads it
            assert server.wait_until_loaded()["state"] == "ready", name
        assert server.alive()
    record("faults: model directory deleted or corrupted while serving", len(damages))


def test_a_model_published_mid_request_is_swapped_in_between_requests(tmp_path, workspace, model_copy):
    store = ModelStore(tmp_path / "store")
    first = store.publish(model_copy)
    uri = (workspace / "example.py").as_uri()
    with ServerProcess() as server:
        server.initialize({"model": str(store.root), "maxTokens": 32, "timeBudgetMs": 60000}, workspace)
        assert store.current() == first
        server.open(uri, "def f(")
        time.sleep(POLL_S)
        in_flight = [server.inline_completion(uri, 0, 6) for _ in range(3)]
        time.sleep(1.1)  # a new version name (they are named by the second)
        second = store.publish(model_copy)
        in_flight += [server.inline_completion(uri, 0, 6) for _ in range(3)]
        assert all("error" not in server.wait(request_id) for request_id in in_flight)
        time.sleep(POLL_S)
        inline_answer(server, uri, "def f(")
        assert server.wait_until_loaded()["state"] == "ready"
        assert store.current() == second
        logged = [n["params"]["message"] for n in server.notifications if n["method"] == "window/logMessage"]
        assert sum("model directory changed: reloading" in m for m in logged) == 1, logged
        assert sum("model ready" in m for m in logged) == 2, logged
        inline_answer(server, uri, "def f(")
        assert all(len(answers) == 1 for answers in server.responses.values())
    record("faults: model published mid-request", 1)
