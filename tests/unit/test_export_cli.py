"""`codegen-train export` end to end on a tiny checkpoint: the published directory, and bad input."""

import json
import shutil
import subprocess
import sys

import pytest

from model.manifest import Manifest, file_sha256
from training import export
from training.cli import SUBCOMMANDS, main, subcommand_module


def run_cli(capsys, *argv):
    code = main(list(map(str, argv)))
    return code, capsys.readouterr()


def leftovers(parent):
    """Staging directories an export left behind."""
    return [path.name for path in parent.iterdir() if path.name.startswith(".")]


def test_export_int8_with_keep_hf_publishes_a_complete_model_directory(tiny_hf_checkpoint, tmp_path, capsys, caplog):
    checkpoint = tiny_hf_checkpoint("gpt_bigcode")
    out = tmp_path / "model"
    code, output = run_cli(capsys, "export", checkpoint, "--out", out, "--quantize", "int8", "--keep-hf")
    assert code == 0, output.err
    assert "pre-processing" not in output.err + caplog.text  # onnxruntime's advice for other graphs is not shown
    assert "quantization int8, FIM starcoder" in output.out
    manifest = Manifest.read(out)
    manifest.verify(out)
    assert manifest.family == "gpt_bigcode"
    assert manifest.architecture == "GPTBigCodeForCausalLM"
    assert manifest.quantization == "int8"
    assert manifest.fim.format == "starcoder" and manifest.fim.file_separator == "<file_sep>"
    assert manifest.stop_tokens == ["<|endoftext|>", "<file_sep>"]
    assert manifest.eos_token_ids[0] == 0 and not manifest.add_bos
    assert manifest.context_length == 256
    assert manifest.source == str(checkpoint.resolve())
    assert set(manifest.tools) >= {"transformers", "optimum", "optimum-onnx", "torch", "onnx"}
    validation = manifest.validation
    assert validation["prompts"] == 3 and validation["max_abs_logit_diff"] <= validation["tolerance"]
    assert sorted(path.name for path in (out / "hf").iterdir()) == sorted(path.name for path in checkpoint.iterdir())
    assert file_sha256(out / "tokenizer.json") == file_sha256(checkpoint / "tokenizer.json")
    assert leftovers(tmp_path) == []


def test_codellama_checkpoint_gets_bos_and_end_of_infill(tiny_model_dir):
    manifest = Manifest.read(tiny_model_dir("llama"))
    assert manifest.fim.format == "codellama" and manifest.fim.prefix == "<PRE>"
    assert manifest.add_bos and manifest.bos_token_id == 1
    assert manifest.stop_tokens == ["</s>", "<EOT>"]
    assert manifest.validation["greedy_identical"] is True


def test_not_a_checkpoint_is_one_error_line_and_writes_nothing(tmp_path, capsys):
    source = tmp_path / "src"
    source.mkdir()
    (source / "notes.txt").write_text("hello")
    code, output = run_cli(capsys, "export", source, "--out", tmp_path / "out")
    assert code == 2
    assert output.err.count("\n") == 1
    assert output.err.startswith("codegen-train: error: ") and "not a Hugging Face checkpoint" in output.err
    assert sorted(path.name for path in tmp_path.iterdir()) == ["src"]


def test_unsupported_architecture_is_rejected(tmp_path, capsys):
    from transformers import AutoConfig

    AutoConfig.for_model("bert", num_hidden_layers=1, hidden_size=32, num_attention_heads=2).save_pretrained(tmp_path / "bert")
    code, output = run_cli(capsys, "export", tmp_path / "bert", "--out", tmp_path / "out")
    assert code == 2 and "unsupported architecture 'bert'" in output.err
    assert not (tmp_path / "out").exists()


def test_missing_tokenizer_is_rejected(tiny_hf_checkpoint, tmp_path, capsys):
    source = tmp_path / "src"
    source.mkdir()
    for name in ("config.json", "model.safetensors"):
        shutil.copy(tiny_hf_checkpoint("llama") / name, source / name)
    code, output = run_cli(capsys, "export", source, "--out", tmp_path / "out")
    assert code == 2 and "missing tokenizer" in output.err
    assert sorted(path.name for path in tmp_path.iterdir()) == ["src"]


def test_missing_weights_are_rejected(tiny_hf_checkpoint, tmp_path, capsys):
    source = tmp_path / "src"
    shutil.copytree(tiny_hf_checkpoint("qwen2"), source, ignore=shutil.ignore_patterns("*.safetensors"))
    code, output = run_cli(capsys, "export", source, "--out", tmp_path / "out")
    assert code == 2 and output.err.startswith("codegen-train: error: cannot load the weights in")
    assert output.err.count("\n") == 1
    assert sorted(path.name for path in tmp_path.iterdir()) == ["src"]


def test_existing_output_is_kept_without_force(tiny_hf_checkpoint, tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    code, output = run_cli(capsys, "export", tiny_hf_checkpoint("gpt2"), "--out", out)
    assert code == 2 and "already exists" in output.err and "--force" in output.err
    assert (out / "keep.txt").read_text() == "mine"


def test_failed_validation_publishes_nothing(tiny_hf_checkpoint, tmp_path, monkeypatch):
    monkeypatch.setitem(export.RELATIVE_TOLERANCE, "none", 0.0)
    with pytest.raises(export.ExportError, match="validation failed"):
        export.export_model(tiny_hf_checkpoint("gpt2"), tmp_path / "out", quantize="none")
    assert list(tmp_path.iterdir()) == []


def test_force_replaces_an_existing_model_directory(tiny_hf_checkpoint, tiny_model_dir, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(tiny_model_dir("gpt2"), out)
    manifest = export.export_model(tiny_hf_checkpoint("qwen2"), out, quantize="none", overwrite=True)
    assert Manifest.read(out).family == manifest.family == "qwen2"
    assert leftovers(tmp_path) == []


def test_help_does_not_import_torch():
    probe = (
        "import sys, contextlib, io\n"
        "from training.cli import main\n"
        "for argv in (['--help'], ['export', '--help']):\n"
        "    with contextlib.suppress(SystemExit), contextlib.redirect_stdout(io.StringIO()):\n"
        "        main(argv)\n"
        "print(sorted(m for m in ('torch', 'transformers', 'optimum') if m in sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert json.loads(result.stdout.replace("'", '"')) == []


@pytest.mark.parametrize("name", sorted(SUBCOMMANDS))
def test_every_subcommand_module_defines_add_arguments_and_run(name):
    module = subcommand_module(name)
    assert callable(module.add_arguments) and callable(module.run)
