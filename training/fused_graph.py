"""A decoder graph built from onnxruntime's fused contrib ops, for Llama-style checkpoints (Llama, Qwen2, Mistral).

optimum's export traces PyTorch op by op: ~800 small kernels per token for a 6-layer model (masks rebuilt with
`Where`, rotary with `Slice`/`Concat`, the whole key/value cache concatenated into new tensors every step), so a small
model's decode step is mostly kernel overhead. This graph has, per layer, one packed QKV `MatMul`, one
`GroupQueryAttention` (rotary positions, causal mask and the cache update inside one kernel, keys/values written in
place into a buffer of the full context), one output `MatMul`, two `SkipSimplifiedLayerNormalization` and a SwiGLU
MLP: ~15 kernels per layer. Weights come as float arrays (a PyTorch model's) or as a GGUF file's quantized blocks,
which become `MatMulNBits` / `GatherBlockQuantized` nodes computing with the very same weights; the graph is
validated against PyTorch like any other export.

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
from typing import Any, Mapping

import numpy as np

from training.gguf_import import BLOCK, BlockWeights, as_float, concat_rows

FUSED_ARCHITECTURES = ("LlamaForCausalLM", "Qwen2ForCausalLM", "MistralForCausalLM")
OPSET = 17
INT8_COMPUTE = 4  # MatMulNBits accuracy_level: activations rounded to int8 per block (the fast CPU kernels)


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
    """cos/sin caches [positions, head_dim / 2] as transformers computes them for `config`'s rope type (the default
    type in numpy, so that a GGUF converts without torch)."""
    rope_type = (getattr(config, "rope_scaling", None) or {}).get("rope_type", "default")
    if rope_type == "default":
        dim = getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads
        inv_freq = 1.0 / (np.float32(config.rope_theta) ** (np.arange(0, dim, 2, dtype=np.float32) / np.float32(dim)))
        scaling = 1.0
    else:
        import torch
        from transformers.modeling_rope_utils import ROPE_INIT_FUNCTIONS

        inv, scaling = ROPE_INIT_FUNCTIONS[rope_type](config, torch.device("cpu"))
        inv_freq = inv.float().numpy()
    angles = np.outer(np.arange(positions, dtype=np.float32), inv_freq.astype(np.float32))
    return (np.cos(angles) * scaling).astype(np.float32), (np.sin(angles) * scaling).astype(np.float32)


def torch_weights(torch_model: Any) -> dict[str, np.ndarray]:
    """A PyTorch model's parameters as float32 arrays, by their Hugging Face names."""
    return {name: tensor.detach().float().numpy() for name, tensor in torch_model.state_dict().items()}


class _Builder:
    def __init__(self) -> None:
        self.nodes: list = []
        self.initializers: list = []
        self._block_sum_matrices: dict[int, str] = {}  # columns -> [columns, blocks] of ones where a column is in a block
        self._sums: dict[str, str] = {}  # input -> its block sums

    def constant(self, name: str, array: np.ndarray) -> str:
        from onnx import numpy_helper

        self.initializers.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def weight(self, name: str, array: np.ndarray) -> str:
        return self.constant(name, np.asarray(array, dtype=np.float32))

    def node(self, op: str, inputs: list[str], outputs: list[str] | str, domain: str = "", **attributes) -> list[str]:
        from onnx import helper

        outputs = [outputs] if isinstance(outputs, str) else outputs
        self.nodes.append(helper.make_node(op, inputs, outputs, name=outputs[0] + "_node", domain=domain, **attributes))
        return outputs

    def linear(self, name: str, x: str, weight: np.ndarray | BlockWeights, out: str | None = None) -> str:
        """`x` times the transpose of `weight` [out, in]: a float MatMul, or MatMulNBits on blocks (its activations
        rounded to int8 per block of 32 columns), plus each block's offset times the block's sum of `x` (Q4_1)."""
        out = out or f"{name}_out"
        if isinstance(weight, np.ndarray):
            return self.node("MatMul", [x, self.weight(name, weight.T)], out)[0]
        rows, columns = weight.shape
        product = self.node(
            "MatMulNBits", [x, self.constant(name, weight.codes), self.weight(f"{name}_scales", weight.scales.reshape(-1))],
            out if weight.offsets is None else f"{name}_blocks_out", domain="com.microsoft",
            K=columns, N=rows, bits=weight.bits, block_size=BLOCK, accuracy_level=INT8_COMPUTE)[0]
        if weight.offsets is None:
            return product
        shift = self.node("MatMul", [self._block_sums(x, columns), self.weight(f"{name}_offsets", weight.offsets.T)],
                          f"{name}_offset_out")[0]
        return self.node("Add", [product, shift], out)[0]

    def _block_sums(self, x: str, columns: int) -> str:
        """`x` summed over each block of BLOCK columns (computed once per input)."""
        if x not in self._sums:
            if columns not in self._block_sum_matrices:
                matrix = np.zeros((columns, columns // BLOCK), dtype=np.float32)
                matrix[np.arange(columns), np.arange(columns) // BLOCK] = 1.0
                self._block_sum_matrices[columns] = self.weight(f"block_sums_{columns}", matrix)
            self._sums[x] = self.node("MatMul", [x, self._block_sum_matrices[columns]], f"{x}_block_sums")[0]
        return self._sums[x]

    def embedding(self, weight: np.ndarray | BlockWeights, ids: str) -> str:
        """Rows of the embedding matrix: Gather, or GatherBlockQuantized on 8-bit symmetric blocks."""
        if isinstance(weight, BlockWeights) and weight.bits == 8 and weight.offsets is None:
            rows, columns = weight.shape
            return self.node(
                "GatherBlockQuantized",
                [self.constant("embed_tokens", weight.codes.reshape(rows, columns)), ids,
                 self.weight("embed_tokens_scales", weight.scales),
                 self.constant("embed_tokens_zero", np.full(weight.scales.shape, weight.zero, dtype=np.uint8))],
                "embeddings", domain="com.microsoft", gather_axis=0, quantize_axis=1, block_size=BLOCK, bits=8)[0]
        return self.node("Gather", [self.weight("embed_tokens", as_float(weight)), ids], "embeddings")[0]


def build_graph(config: Any, weights: Mapping[str, np.ndarray | BlockWeights], out_path: Path) -> Path:
    """Write the fused decoder graph of a supported Llama-style model to `out_path`, from its `config` and its
    `weights` by Hugging Face name: float arrays, or blocks (training/gguf_import.py) kept as they are."""
    import onnx
    from onnx import TensorProto, helper

    heads, kv_heads = config.num_attention_heads, getattr(config, "num_key_value_heads", None) or config.num_attention_heads
    head_dim = getattr(config, "head_dim", None) or config.hidden_size // heads
    context, eps = config.max_position_embeddings, float(config.rms_norm_eps)
    b = _Builder()
    cos, sin = rotary_tables(config, context)
    b.weight("cos_cache", cos)
    b.weight("sin_cache", sin)
    hidden = b.embedding(weights["model.embed_tokens.weight"], "input_ids")

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
        qkv_weight = concat_rows([weights[attention + p + ".weight"] for p in ("q_proj", "k_proj", "v_proj")])
        qkv = b.linear(f"l{layer}_qkv", normed, qkv_weight)
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
        projected = b.linear(f"l{layer}_o", attended, weights[attention + "o_proj.weight"])
        normed, hidden = _norm(b, f"l{layer}_post", hidden, projected, weights[prefix + "post_attention_layernorm.weight"], eps)
        mlp = prefix + "mlp."
        gate = b.linear(f"l{layer}_gate", normed, weights[mlp + "gate_proj.weight"])
        up = b.linear(f"l{layer}_up", normed, weights[mlp + "up_proj.weight"])
        sigmoid = b.node("Sigmoid", [gate], f"l{layer}_sigmoid")[0]
        silu = b.node("Mul", [gate, sigmoid], f"l{layer}_silu")[0]
        product = b.node("Mul", [silu, up], f"l{layer}_swiglu")[0]
        pending = b.linear(f"l{layer}_down", product, weights[mlp + "down_proj.weight"])
    normed, _ = _norm(b, "final", hidden, pending, weights["model.norm.weight"], eps)
    lm_head = weights.get("lm_head.weight", weights["model.embed_tokens.weight"])
    b.linear("lm_head", normed, lm_head, out="logits")

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
