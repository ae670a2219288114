"""`codegen-train finetune` end to end on the tiny test model and the fixture repository."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from model.store import ModelStore
from tests.fixtures.repos import SECRETS, write_fixture_repo
from training.cli import main

REPO_ROOT = Path(__file__).resolve().parents[2]
HELD_OUT = "pkg/models.py"
# Small and fast: 64-token sequences, a few steps at a high learning rate, a handful of cut points.
FAST = ["--holdout", HELD_OUT, "--quantize", "none", "--points", "4", "--block-size", "64", "--batch-size", "2",
        "--grad-accum", "1", "--lr", "3e-3", "--warmup-steps", "2", "--eval-interval", "4", "--eval-sequences", "2"]


@pytest.fixture
def repo(tmp_path):
    return write_fixture_repo(tmp_path / "repo")


@pytest.fixture
def base(tiny_hf_checkpoint):
    return tiny_hf_checkpoint("llama", fim="starcoder")


def finetune_argv(repo: Path, base: Path, work: Path, *extra: str) -> list[str]:
    return ["finetune", str(repo), "--base", str(base), "--work-dir", str(work), *FAST, *extra]


def test_finetune_lowers_held_out_loss_and_publishes_a_new_version(repo, base, tmp_path, capsys):
    store = ModelStore(tmp_path / "store")
    assert main(finetune_argv(repo, base, tmp_path / "work", "--max-steps", "12", "--store", str(store.root))) == 0
    current = store.current_path()
    assert current is not None and store.list() == [current.name]
    report = json.loads((current / "finetune_report.json").read_text())
    before, after = report["summary"]["base"], report["summary"]["fine-tuned"]
    assert after["loss"] < before["loss"]
    assert before["points"] == after["points"] == 4
    assert report["held_out"] == [HELD_OUT]
    assert report["excluded"]["secret: GitHub token"] == {"files": 1, "lines": 2}
    assert (current / "hf" / "config.json").is_file()  # the published model can be fine-tuned further
    output = capsys.readouterr().out
    assert "next-line exact match" in output and "published version" in output
    assert not any(secret in output for secret in SECRETS)


def test_failed_export_publishes_nothing_and_keeps_the_current_version(repo, base, tiny_model, tmp_path,
                                                                       monkeypatch, capsys):
    from training import export

    store = ModelStore(tmp_path / "store")
    previous = store.publish(tiny_model)

    def failing_validation(*args, **kwargs):
        raise export.ExportError("validation failed: injected by the test — nothing was written")

    monkeypatch.setattr(export, "validate", failing_validation)
    argv = finetune_argv(repo, base, tmp_path / "work", "--max-steps", "2", "--store", str(store.root))
    assert main(argv) == 2
    assert "validation failed" in capsys.readouterr().err
    assert store.current() == previous and store.list() == [previous]


def test_out_writes_the_model_directory_instead_of_publishing(repo, base, tmp_path):
    out = tmp_path / "model"
    home = tmp_path / "home"
    os.environ["CODEGEN_LSP_HOME"] = str(home)
    try:
        assert main(finetune_argv(repo, base, tmp_path / "work", "--max-steps", "2", "--lora", "--out", str(out))) == 0
    finally:
        del os.environ["CODEGEN_LSP_HOME"]
    assert (out / "manifest.json").is_file() and (out / "finetune_report.json").is_file()
    assert not (home / "models").exists()
    assert main(finetune_argv(repo, base, tmp_path / "work", "--out", str(out))) == 2  # never overwritten


def test_kill_then_resume_continues_from_the_checkpoint(repo, base, tmp_path):
    work = tmp_path / "work"
    # No early stopping: on a fast machine the tiny model stops improving, and the run would finish before the kill.
    argv = [sys.executable, "-m", "training",
            *finetune_argv(repo, base, work, "--out", str(tmp_path / "model"), "--patience", "100000")]
    process = subprocess.Popen([*argv, "--max-steps", "100000", "--checkpoint-minutes", "0"],
                               cwd=REPO_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 300
        while not (work / "checkpoint.pt").exists() and time.monotonic() < deadline:
            time.sleep(0.5)
        time.sleep(3)  # a few more steps
        assert process.poll() is None, f"the run ended (exit {process.returncode}) before it could be killed"
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    assert (work / "checkpoint.pt").exists(), "no checkpoint was written within 5 minutes"
    assert not (tmp_path / "model").exists()
    import torch

    killed_at = torch.load(work / "checkpoint.pt", weights_only=False)["state"]["step"]
    assert killed_at >= 1
    resumed = subprocess.run([*argv, "--resume", "--max-steps", str(killed_at + 2)], cwd=REPO_ROOT,
                             capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert f"resumed from step {killed_at}" in resumed.stdout
    assert json.loads((work / "training_log.json").read_text())["step"] == killed_at + 2
    assert (tmp_path / "model" / "manifest.json").is_file()


@pytest.mark.slow
def test_same_command_runs_data_parallel_under_torchrun(repo, base, tmp_path):
    work, out = tmp_path / "work", tmp_path / "model"
    torchrun = Path(sys.executable).with_name("torchrun")
    command = [str(torchrun), "--standalone", "--nproc_per_node", "2", "-m", "training",
               *finetune_argv(repo, base, work, "--max-steps", "3", "--out", str(out))]
    result = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=600,
                            env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert result.returncode == 0, result.stderr[-3000:]
    log = json.loads((work / "training_log.json").read_text())
    assert log["step"] == 3
    assert log["tokens"] == 3 * 2 * 2 * 64  # steps x ranks x sequences x tokens: each rank trained its own batches
    assert (out / "manifest.json").is_file()
    assert result.stdout.count("published") == 1  # rank 0 alone exports and publishes


def test_eval_command_prints_the_table_and_writes_the_report(repo, tiny_model, tmp_path, capsys):
    report = tmp_path / "report.json"
    argv = ["eval", str(repo), "--model", str(tiny_model), "--points", "3", "--holdout", HELD_OUT,
            "--report", str(report)]
    assert main(argv) == 0
    assert "next-line exact match" in capsys.readouterr().out
    payload = json.loads(report.read_text())
    assert payload["held_out"] == [HELD_OUT]
    assert payload["results"][str(tiny_model)]["points"] == 3


def test_models_command_lists_switches_and_rolls_back(tiny_model, tmp_path, capsys):
    store = ModelStore(tmp_path / "store")
    first = store.publish(tiny_model)
    time.sleep(1.1)  # versions are named by the second they were published in (and the weights' hash)
    second = store.publish(tiny_model)
    assert main(["models", "--store", str(store.root)]) == 0
    listing = capsys.readouterr().out
    assert f"* {second}" in listing and f"  {first}" in listing
    assert main(["models", "rollback", "--store", str(store.root)]) == 0 and store.current() == first
    assert main(["models", "use", second, "--store", str(store.root)]) == 0 and store.current() == second
    assert main(["models", "use", "nope", "--store", str(store.root)]) == 2
    assert "no model version 'nope'" in capsys.readouterr().err
