"""manifest.json round trip and verification (model.manifest)."""

import json

import pytest

from model import ModelError
from model.manifest import MANIFEST_FILE, FimTokens, Manifest, read_verified


def make_model_dir(tmp_path):
    """A directory with stand-in model files and a manifest listing their hashes."""
    (tmp_path / "model.onnx").write_bytes(b"graph")
    (tmp_path / "tokenizer.json").write_text("{}")
    manifest = Manifest(
        family="gpt_bigcode",
        architecture="GPTBigCodeForCausalLM",
        context_length=2048,
        eos_token_ids=[0],
        fim=FimTokens("starcoder", "<fim_prefix>", "<fim_suffix>", "<fim_middle>", file_separator="<file_sep>"),
        stop_tokens=["<|endoftext|>"],
        quantization="int8",
    )
    manifest.record_files(tmp_path).write(tmp_path)
    return manifest


def test_manifest_round_trips_through_json(tmp_path):
    written = make_model_dir(tmp_path)
    assert Manifest.read(tmp_path) == written
    assert json.loads((tmp_path / MANIFEST_FILE).read_text())["fim"]["format"] == "starcoder"


def test_verify_accepts_intact_directory(tmp_path):
    make_model_dir(tmp_path)
    assert read_verified(tmp_path).family == "gpt_bigcode"


def test_missing_manifest_names_the_export_command(tmp_path):
    with pytest.raises(ModelError, match=r"model not found at .* `codegen-train export HF_DIR --out "):
        Manifest.read(tmp_path)


def test_missing_file_is_reported_as_incomplete(tmp_path):
    make_model_dir(tmp_path)
    (tmp_path / "model.onnx").unlink()
    with pytest.raises(ModelError, match="incomplete: model.onnx is missing"):
        read_verified(tmp_path)


def test_changed_file_is_reported_as_corrupt(tmp_path):
    make_model_dir(tmp_path)
    (tmp_path / "tokenizer.json").write_text('{"changed": true}')
    with pytest.raises(ModelError, match="corrupt: tokenizer.json"):
        read_verified(tmp_path)


def test_manifest_without_required_files_is_rejected(tmp_path):
    manifest = make_model_dir(tmp_path)
    manifest.files = {"tokenizer.json": manifest.files["tokenizer.json"]}
    manifest.write(tmp_path)
    with pytest.raises(ModelError, match="does not list model.onnx"):
        read_verified(tmp_path)


@pytest.mark.parametrize(
    "change, message",
    [
        ({"format_version": 99}, "unsupported format_version"),
        ({"quantization": "int4"}, "unknown quantization"),
        ({"surprise": 1}, "unknown keys"),
        ({"fim": {"format": "starcoder"}}, "invalid"),
    ],
)
def test_malformed_manifest_is_a_model_error(tmp_path, change, message):
    make_model_dir(tmp_path)
    data = {**json.loads((tmp_path / MANIFEST_FILE).read_text()), **change}
    (tmp_path / MANIFEST_FILE).write_text(json.dumps(data))
    with pytest.raises(ModelError, match=message):
        Manifest.read(tmp_path)


def test_unparsable_manifest_is_a_model_error(tmp_path):
    (tmp_path / MANIFEST_FILE).write_text("{not json")
    with pytest.raises(ModelError, match="invalid"):
        Manifest.read(tmp_path)


def test_manifest_is_readable_by_everyone_like_the_model_files(tmp_path):
    make_model_dir(tmp_path)
    assert (tmp_path / MANIFEST_FILE).stat().st_mode & 0o777 == 0o644
