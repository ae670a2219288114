"""Fine-tuning's pure helpers: layer-wise learning rates, frozen blocks, the base model's resolution."""

import pytest

from training.errors import TrainingError
from training.finetune import is_frozen, layer_lr_scale, layer_of, resolve_base


@pytest.mark.parametrize("name, layer", [
    ("model.layers.3.self_attn.q_proj.weight", 3),
    ("base_model.model.model.layers.11.mlp.up_proj.lora_A.default.weight", 11),
    ("transformer.h.0.attn.c_attn.weight", 0),
    ("model.embed_tokens.weight", None),
    ("model.norm.weight", None),
])
def test_layer_of(name, layer):
    assert layer_of(name) == layer


def test_layer_lr_scale_decays_towards_the_bottom():
    scales = [layer_lr_scale(f"model.layers.{i}.mlp.up_proj.weight", 4, 0.5) for i in range(4)]
    assert scales == [0.125, 0.25, 0.5, 1.0]
    assert layer_lr_scale("model.embed_tokens.weight", 4, 0.5) == 0.0625
    assert layer_lr_scale("lm_head.weight", 4, 0.5) == layer_lr_scale("model.norm.weight", 4, 0.5) == 1.0
    assert layer_lr_scale("model.layers.0.mlp.up_proj.weight", 4, 1.0) == 1.0


def test_freeze_layers_keeps_the_lowest_blocks_and_embeddings():
    assert is_frozen("model.layers.1.self_attn.q_proj.weight", 2)
    assert not is_frozen("model.layers.2.self_attn.q_proj.weight", 2)
    assert is_frozen("model.embed_tokens.weight", 2)
    assert not is_frozen("model.norm.weight", 2) and not is_frozen("lm_head.weight", 2)
    assert not is_frozen("model.embed_tokens.weight", 0)


def test_resolve_base(tmp_path, tiny_hf_checkpoint, tiny_model):
    checkpoint = tiny_hf_checkpoint("llama", fim="starcoder")
    assert resolve_base(checkpoint) == (checkpoint, None)
    with pytest.raises(TrainingError, match="no hf/ PyTorch weights"):
        resolve_base(tiny_model)
    with pytest.raises(TrainingError, match="neither a model directory"):
        resolve_base(tmp_path)
    model_dir = tmp_path / "model"
    (model_dir / "hf").mkdir(parents=True)
    (model_dir / "manifest.json").write_text("{}")
    (model_dir / "hf" / "config.json").write_text("{}")
    assert resolve_base(model_dir) == (model_dir / "hf", model_dir)


def test_a_gguf_import_as_base_says_it_cannot_be_fine_tuned_yet(tmp_path):
    from model.manifest import Manifest

    Manifest("llama", "LlamaForCausalLM", 8192, [0], provenance={"sha256": "0" * 64}).write(tmp_path)
    with pytest.raises(TrainingError, match="converted from a GGUF file"):
        resolve_base(tmp_path)
