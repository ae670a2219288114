"""A decoder graph built from onnxruntime's fused contrib ops, for Llama-style checkpoints (Llama, Qwen2, Mistral).

optimum's export traces PyTorch op by op: ~800 small kernels per token for a 6-layer model (masks rebuilt with
`Where`, rotary with `Slice`/`Concat`, the whole key/value cache concatenated into new tensors every step), so a small
model's decode step is mostly kernel overhead. This graph has, per layer, one packed QKV `MatMul`, one
`GroupQueryAttention` (rotary positions, causal mask and the cache update inside one kernel, keys/values written in
place into a buffer of the full context), one output `MatMul`, two `SkipSimplifiedLayerNormalization` and a SwiGLU
MLP: ~15 kernels per layer. Weights come from the loaded PyTorch model; the graph is validated against it like any
other export.

Graph interface (model/session.py reads it):
  inputs  input_ids int64 [batch, sequence]; seqlens_k int32 [batch] (cached + new tokens - 1);
          total_sequence_length int32 []; logit_positions int64 [positions] (which of the new tokens get logits:
          the last one while generating, all of them for validation - the LM head is a third of a small model's
          prefill, and the last layer's output projection and MLP run on these rows only);
          past_key_values.{i}.key/value float [batch, kv_heads, context, head_dim]
  outputs logits float [batch, positions, vocab]; present.{i}.key/value: the same buffers, updated in place when
          bound to the past inputs' memory.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

FUSED_ARCHITECTURES = ("LlamaForCausalLM", "Qwen2ForCausalLM", "MistralForCausalLM")
OPSET = 17


def supports(config: Any) -> bool:
    """Whether `config` describes a model this builder reproduces exactly (else optimum's export is used)."""
    architecture = (config.architectures or [""])[0]
    return (
        architecture in FUSED_ARCHITECTURES
        and getattr(config, "hidden_act", "silu") == "silu"
        and not getattr(config, "mlp_bias", False)
        and getattr(config, "partial_rotary_factor", 1.0) == 1.0
        and not (getattr(config, "use_sliding_window", False) and getattr(config, "sliding_window", None))
        and (getattr(config, "rope_scaling", None) or {}).get("rope_type", "default") in ("default", "linear", "llama3")
    )


def rotary_tables(config: Any, positions: int) -> tuple[np.ndarray, np.ndarray]:
    """cos/sin caches [positions, head_dim / 2] as transformers computes them for `config`'s rope type."""
    import torch
    from transformers.modeling_rope_utils import ROPE_INIT_FUNCTIONS

    rope_type = (getattr(config, "rope_scaling", None) or {}).get("rope_type", "default")
    inv_freq, scaling = ROPE_INIT_FUNCTIONS[rope_type](config, torch.device("cpu"))
    angles = np.outer(np.arange(positions, dtype=np.float32), inv_freq.float().numpy())
    return (np.cos(angles) * scaling).astype(np.float32), (np.sin(angles) * scaling).astype(np.float32)


class _Builder:
    def __init__(self) -> None:
        self.nodes: list = []
        self.initializers: list = []

    def weight(self, name: str, array: np.ndarray) -> str:
        from onnx import numpy_helper

        self.initializers.append(numpy_helper.from_array(np.ascontiguousarray(array, dtype=np.float32), name))
        return name

    def node(self, op: str, inputs: list[str], outputs: list[str] | str, domain: str = "", **attributes) -> list[str]:
        from onnx import helper

        outputs = [outputs] if isinstance(outputs, str) else outputs
        self.nodes.append(helper.make_node(op, inputs, outputs, name=outputs[0] + "_node", domain=domain, **attributes))
        return outputs


def build_graph(torch_model: Any, out_path: Path) -> Path:
    """Write the fused fp32 decoder graph of `torch_model` (a supported Llama-style model) to `out_path`."""
    import onnx
    from onnx import TensorProto, helper

    config = torch_model.config
    weights = {name: tensor.detach().float().numpy() for name, tensor in torch_model.state_dict().items()}
    heads, kv_heads = config.num_attention_heads, getattr(config, "num_key_value_heads", None) or config.num_attention_heads
    head_dim = getattr(config, "head_dim", None) or config.hidden_size // heads
    context, eps = config.max_position_embeddings, float(config.rms_norm_eps)
    b = _Builder()
    cos, sin = rotary_tables(config, context)
    b.weight("cos_cache", cos)
    b.weight("sin_cache", sin)
    b.weight("embed_tokens", weights["model.embed_tokens.weight"])
    hidden = b.node("Gather", ["embed_tokens", "input_ids"], "embeddings")[0]

    inputs = [
        helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch_size", "sequence_length"]),
        helper.make_tensor_value_info("seqlens_k", TensorProto.INT32, ["batch_size"]),
        helper.make_tensor_value_info("total_sequence_length", TensorProto.INT32, []),
        helper.make_tensor_value_info("logit_positions", TensorProto.INT64, ["positions"]),
    ]
    outputs = [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch_size", "positions", config.vocab_size])]
    pending = None  # the previous block's output, added to `hidden` by the next fused norm
    for layer in range(config.num_hidden_layers):
        prefix = f"model.layers.{layer}."
        normed, hidden = _norm(b, f"l{layer}_in", hidden, pending, weights[prefix + "input_layernorm.weight"], eps)
        attention = prefix + "self_attn."
        qkv_weight = np.concatenate([weights[attention + p + ".weight"] for p in ("q_proj", "k_proj", "v_proj")]).T
        qkv = b.node("MatMul", [normed, b.weight(f"l{layer}_qkv", qkv_weight)], f"l{layer}_qkv_out")[0]
        if attention + "q_proj.bias" in weights:
            bias = np.concatenate([weights[attention + p + ".bias"] for p in ("q_proj", "k_proj", "v_proj")])
            qkv = b.node("Add", [qkv, b.weight(f"l{layer}_qkv_bias", bias)], f"l{layer}_qkv_biased")[0]
        past_key, past_value = f"past_key_values.{layer}.key", f"past_key_values.{layer}.value"
        cache_shape = ["batch_size", kv_heads, "max_sequence_length", head_dim]
        inputs += [helper.make_tensor_value_info(name, TensorProto.FLOAT, cache_shape) for name in (past_key, past_value)]
        outputs += [helper.make_tensor_value_info(name, TensorProto.FLOAT, cache_shape)
                    for name in (f"present.{layer}.key", f"present.{layer}.value")]
        attended = b.node(
            "GroupQueryAttention",
            [qkv, "", "", past_key, past_value, "seqlens_k", "total_sequence_length", "cos_cache", "sin_cache"],
            [f"l{layer}_attn", f"present.{layer}.key", f"present.{layer}.value"],
            domain="com.microsoft", num_heads=heads, kv_num_heads=kv_heads, do_rotary=1, rotary_interleaved=0,
            scale=float(head_dim ** -0.5))[0]
        if layer == config.num_hidden_layers - 1:
            # Past this point only the rows that get logits matter (every row's keys and values are in the cache
            # already): the last layer's output projection and MLP run on those rows alone, a prompt's last token.
            attended = b.node("Gather", [attended, "logit_positions"], "last_attention_kept", axis=1)[0]
            hidden = b.node("Gather", [hidden, "logit_positions"], "last_residual_kept", axis=1)[0]
        projected = b.node("MatMul", [attended, b.weight(f"l{layer}_o", weights[attention + "o_proj.weight"].T)],
                           f"l{layer}_o_out")[0]
        normed, hidden = _norm(b, f"l{layer}_post", hidden, projected, weights[prefix + "post_attention_layernorm.weight"], eps)
        mlp = prefix + "mlp."
        gate = b.node("MatMul", [normed, b.weight(f"l{layer}_gate", weights[mlp + "gate_proj.weight"].T)], f"l{layer}_gate_out")[0]
        up = b.node("MatMul", [normed, b.weight(f"l{layer}_up", weights[mlp + "up_proj.weight"].T)], f"l{layer}_up_out")[0]
        sigmoid = b.node("Sigmoid", [gate], f"l{layer}_sigmoid")[0]
        silu = b.node("Mul", [gate, sigmoid], f"l{layer}_silu")[0]
        product = b.node("Mul", [silu, up], f"l{layer}_swiglu")[0]
        pending = b.node("MatMul", [product, b.weight(f"l{layer}_down", weights[mlp + "down_proj.weight"].T)],
                         f"l{layer}_down_out")[0]
    normed, _ = _norm(b, "final", hidden, pending, weights["model.norm.weight"], eps)
    lm_head = weights.get("lm_head.weight", weights["model.embed_tokens.weight"])
    b.node("MatMul", [normed, b.weight("lm_head", lm_head.T)], "logits")

    graph = helper.make_graph(b.nodes, "fused_decoder", inputs, outputs, b.initializers)
    onnx_model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", OPSET), helper.make_opsetid("com.microsoft", 1)],
        producer_name="codegen-lsp")
    large = sum(t.ByteSize() for t in b.initializers) > 1_800_000_000
    out_path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save_model(onnx_model, out_path, save_as_external_data=large, location=out_path.name + "_data")
    return out_path


def _norm(b: _Builder, name: str, hidden: str, pending: str | None, gamma: np.ndarray, eps: float) -> tuple[str, str]:
    """RMS-normalise `hidden` (+ `pending`, fused): (normalised, the new residual stream)."""
    weight = b.weight(f"{name}_norm", gamma)
    if pending is None:
        return b.node("SimplifiedLayerNormalization", [hidden, weight], f"{name}_normed", axis=-1, epsilon=eps)[0], hidden
    normed, _, _, summed = b.node(
        "SkipSimplifiedLayerNormalization", [pending, hidden, weight],
        [f"{name}_normed", "", "", f"{name}_residual"], domain="com.microsoft", epsilon=eps)
    return normed, summed
