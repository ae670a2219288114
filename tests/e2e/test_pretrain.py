"""`codegen-train pretrain` end to end at the tiny preset: checkpoint -> export -> a model the runtime loads."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from training.corpus import stdlib_dir

import model

CORPUS_PACKAGES = ("json", "logging", "xmlrpc")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("corpus")
    for package in CORPUS_PACKAGES:
        shutil.copytree(stdlib_dir() / package, root / package, ignore=shutil.ignore_patterns("__pycache__"))
    return root


def codegen_train(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "training", *map(str, args)], capture_output=True, text=True,
                          timeout=300)


@pytest.fixture(scope="module")
def pretrained(corpus, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("pretrain") / "hf"
    result = codegen_train("pretrain", "--corpus", corpus, "--out", out, "--preset", "tiny", "--max-steps", "6")
    assert result.returncode == 0, result.stderr
    return out


def test_pretrain_writes_a_checkpoint_with_tokenizer_split_and_log(pretrained):
    for name in ("config.json", "model.safetensors", "tokenizer.json", "checkpoint.pt", "corpus_split.json"):
        assert (pretrained / name).exists(), name
    log = json.loads((pretrained / "training_log.json").read_text())
    assert log["step"] == 6 and log["history"] and log["history"][-1]["val_loss"] > 0
    held_out = json.loads((pretrained / "corpus_split.json").read_text())["held_out"]
    assert held_out and all(rel.split("/")[0] in CORPUS_PACKAGES for rel in held_out)


def test_pretrained_checkpoint_exports_to_a_loadable_fim_model(pretrained, tmp_path):
    out = tmp_path / "model"
    result = codegen_train("export", pretrained, "--out", out, "--quantize", "none")
    assert result.returncode == 0, result.stderr
    m = model.load(out)
    assert m.manifest.fim.format == "starcoder" and m.manifest.fim.file_separator == "<file_sep>"
    assert m.manifest.fim.order == "spm"  # the prompt order the pretraining chose (TrainConfig.fim_prompt_order)
    generation = m.generate_detailed(m.fim_prompt("def f(x):\n    return ", "\n", path="a.py"), max_new_tokens=4)
    assert len(generation.token_ids) >= 1


def test_resume_continues_from_the_checkpoint(corpus, pretrained, tmp_path):
    resumed = tmp_path / "hf"
    shutil.copytree(pretrained, resumed)
    result = codegen_train("pretrain", "--corpus", corpus, "--out", resumed, "--preset", "tiny", "--max-steps", "9",
                           "--resume")
    assert result.returncode == 0, result.stderr
    assert "resumed from step 6" in result.stdout
    assert json.loads((resumed / "training_log.json").read_text())["step"] == 9


def test_missing_corpus_is_one_clear_error(tmp_path):
    result = codegen_train("pretrain", "--corpus", tmp_path / "nowhere", "--out", tmp_path / "hf", "--preset", "tiny")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [f"codegen-train: error: corpus directory not found: {tmp_path / 'nowhere'}"]
