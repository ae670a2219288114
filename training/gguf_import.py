"""Read a GGUF file (llama.cpp's format) into what the fused graph builder needs: config, weights, tokenizer.

Torch-free (numpy, the `gguf` package, `tokenizers`), so that the default model can be built on a machine that
has only the server installed; `codegen-train export FILE.gguf` validates the same conversion against transformers.

Quantized weights are kept as their blocks where onnxruntime has a kernel that computes with them exactly
(`BlockWeights`: Q4_0 and Q4_1 as 4-bit `MatMulNBits`, Q8_0 as 8-bit `MatMulNBits` / `GatherBlockQuantized`);
float tensors and other block types are dequantized to float32.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from model.manifest import file_sha256
from training.errors import TrainingError

SUPPORTED_ARCHITECTURES = {"llama": "LlamaForCausalLM"}
BLOCK = 32  # weights per block of Q4_0, Q4_1 and Q8_0
LAYER_TENSORS = {
    "attn_norm": "input_layernorm",
    "ffn_norm": "post_attention_layernorm",
    "attn_q": "self_attn.q_proj",
    "attn_k": "self_attn.k_proj",
    "attn_v": "self_attn.v_proj",
    "attn_output": "self_attn.o_proj",
    "ffn_gate": "mlp.gate_proj",
    "ffn_up": "mlp.up_proj",
    "ffn_down": "mlp.down_proj",
}
GLOBAL_TENSORS = {"token_embd": "model.embed_tokens", "output_norm": "model.norm", "output": "lm_head"}
# llama.cpp's pre-tokenizer regex per `tokenizer.ggml.pre` (digits first split one by one where it says so).
GPT2_PATTERN = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"
SINGLE_DIGIT_PRE_TOKENIZERS = ("smollm", "starcoder", "refact", "codeshell")


class GgufError(TrainingError):
    """The file is not a GGUF this importer can convert; nothing was written."""


@dataclass
class BlockWeights:
    """A [rows, columns] weight matrix as blocks of BLOCK columns: value = scale * (code - zero) + offset.

    `codes` are laid out as `MatMulNBits` reads them: [rows, blocks, BLOCK * bits / 8] bytes, two 4-bit codes per
    byte (low nibble first); `zero` is the kernel's default zero point (8 for 4 bits, 128 for 8 bits); `offsets`
    (Q4_1's per-block minimum, folded with the zero point) are None for symmetric blocks.
    """

    bits: int
    codes: np.ndarray  # uint8 [rows, blocks, BLOCK * bits // 8]
    scales: np.ndarray  # float32 [rows, blocks]
    offsets: np.ndarray | None = None  # float32 [rows, blocks]: added to every weight of the block

    @property
    def shape(self) -> tuple[int, int]:
        return self.scales.shape[0], self.scales.shape[1] * BLOCK

    @property
    def zero(self) -> int:
        return 1 << (self.bits - 1)

    def unpacked_codes(self) -> np.ndarray:
        """uint8 [rows, blocks, BLOCK], one code per weight."""
        if self.bits == 8:
            return self.codes
        low, high = self.codes & 0x0F, self.codes >> 4
        return np.stack([low, high], axis=-1).reshape(*self.codes.shape[:2], BLOCK)

    def dequantize(self) -> np.ndarray:
        """The float32 [rows, columns] matrix."""
        values = (self.unpacked_codes().astype(np.float32) - self.zero) * self.scales[..., None]
        if self.offsets is not None:
            values += self.offsets[..., None]
        return values.reshape(self.shape)

    def take_rows(self, rows: np.ndarray) -> BlockWeights:
        return BlockWeights(self.bits, self.codes[rows], self.scales[rows],
                            None if self.offsets is None else self.offsets[rows])


def concat_rows(parts: list[np.ndarray | BlockWeights]) -> np.ndarray | BlockWeights:
    """Stack weight matrices by rows (the fused QKV and gate+up projections); float when the kinds differ."""
    if all(isinstance(p, np.ndarray) for p in parts):
        return np.concatenate(parts)
    if all(isinstance(p, BlockWeights) for p in parts) and len({p.bits for p in parts}) == 1 \
            and len({p.offsets is None for p in parts}) == 1:
        offsets = None if parts[0].offsets is None else np.concatenate([p.offsets for p in parts])
        return BlockWeights(parts[0].bits, np.concatenate([p.codes for p in parts]),
                            np.concatenate([p.scales for p in parts]), offsets)
    return np.concatenate([as_float(p) for p in parts])


def as_float(weight: np.ndarray | BlockWeights) -> np.ndarray:
    return weight.dequantize() if isinstance(weight, BlockWeights) else weight


@dataclass
class LlamaConfig:
    """The subset of a Hugging Face LlamaConfig that the fused graph builder reads."""

    vocab_size: int
    hidden_size: int
    intermediate_size: int
    num_hidden_layers: int
    num_attention_heads: int
    num_key_value_heads: int
    max_position_embeddings: int
    rms_norm_eps: float
    rope_theta: float
    head_dim: int
    tie_word_embeddings: bool
    model_type: str = "llama"
    architectures: list[str] = field(default_factory=lambda: ["LlamaForCausalLM"])
    hidden_act: str = "silu"
    rope_scaling: dict | None = None


@dataclass
class GgufModel:
    """A GGUF file read into Hugging Face names: config, weights, tokenizer and its special tokens."""

    path: Path
    sha256: str
    config: LlamaConfig
    weights: dict[str, np.ndarray | BlockWeights]
    tokens: list[str]
    tokenizer_json: str
    bos_token: str | None
    eos_token: str | None
    end_tokens: list[str]  # tokens after which a completion is over
    chat_template: str | None
    metadata: dict[str, Any]

    @property
    def name(self) -> str:
        return str(self.metadata.get("general.name") or self.path.stem)


def read_gguf(path: Path | str) -> GgufModel:
    """Read and check a GGUF file; GgufError (one line) when it is truncated, malformed or unsupported."""
    from gguf import GGUFReader

    path = Path(path)
    if not path.is_file():
        raise GgufError(f"{path} does not exist")
    try:
        reader = GGUFReader(path)
    except (ValueError, IndexError, OSError, KeyError, TypeError) as error:
        raise GgufError(f"{path} is not a readable GGUF file (truncated or corrupt?): {error}") from error
    metadata = {}
    for key, value in reader.fields.items():
        if key.startswith("tokenizer.ggml.") and key in ("tokenizer.ggml.tokens", "tokenizer.ggml.merges",
                                                           "tokenizer.ggml.token_type"):
            continue
        try:
            metadata[key] = value.contents()
        except (ValueError, IndexError, TypeError):
            pass
    architecture = metadata.get("general.architecture")
    if architecture not in SUPPORTED_ARCHITECTURES:
        raise GgufError(f"{path}: unsupported architecture {architecture!r} — supported: "
                        f"{', '.join(SUPPORTED_ARCHITECTURES)}")
    config = _llama_config(metadata, path)
    weights = _read_weights(reader, config, path)
    tokens = reader.fields["tokenizer.ggml.tokens"].contents()
    merges = reader.fields["tokenizer.ggml.merges"].contents() if "tokenizer.ggml.merges" in reader.fields else []
    token_types = reader.fields["tokenizer.ggml.token_type"].contents()
    if metadata.get("tokenizer.ggml.model") != "gpt2":
        raise GgufError(f"{path}: tokenizer model {metadata.get('tokenizer.ggml.model')!r} is not supported "
                        "(byte-level BPE, 'gpt2', is)")

    def token(key: str) -> str | None:
        index = metadata.get(f"tokenizer.ggml.{key}_token_id")
        return tokens[index] if index is not None and 0 <= index < len(tokens) else None

    bos, eos = token("bos"), token("eos")
    # Raw text (code) ends with the end-of-text token, a chat answer with eos: stop on both.
    end_tokens = list(dict.fromkeys(t for t in (eos, "<|endoftext|>", "<|im_end|>") if t in tokens))
    tokenizer_json = build_tokenizer_json(tokens, merges, token_types, metadata.get("tokenizer.ggml.pre", "default"))
    return GgufModel(path, file_sha256(path), config, weights, tokens, tokenizer_json, bos, eos, end_tokens,
                     metadata.get("tokenizer.chat_template"), metadata)


def _llama_config(metadata: Mapping[str, Any], path: Path) -> LlamaConfig:
    def get(key: str, default: Any = None) -> Any:
        value = metadata.get(f"llama.{key}", default)
        if value is None:
            raise GgufError(f"{path}: metadata llama.{key} is missing")
        return value

    heads = int(get("attention.head_count"))
    hidden = int(get("embedding_length"))
    rope_dim = int(get("rope.dimension_count", hidden // heads))
    if rope_dim != hidden // heads:
        raise GgufError(f"{path}: partial rotary embeddings (rope.dimension_count {rope_dim}) are not supported")
    return LlamaConfig(
        vocab_size=int(metadata.get("llama.vocab_size") or 0),
        hidden_size=hidden,
        intermediate_size=int(get("feed_forward_length")),
        num_hidden_layers=int(get("block_count")),
        num_attention_heads=heads,
        num_key_value_heads=int(get("attention.head_count_kv", heads)),
        max_position_embeddings=int(get("context_length")),
        rms_norm_eps=float(get("attention.layer_norm_rms_epsilon")),
        rope_theta=float(get("rope.freq_base", 10000.0)),
        head_dim=hidden // heads,
        tie_word_embeddings=True,  # corrected below when the file has its own output matrix
    )


def _read_weights(reader: Any, config: LlamaConfig, path: Path) -> dict[str, np.ndarray | BlockWeights]:
    weights: dict[str, np.ndarray | BlockWeights] = {}
    for tensor in reader.tensors:
        name = _hf_name(tensor.name)
        if name is None:
            continue
        try:
            weights[name] = _tensor(tensor)
        except (ValueError, TypeError) as error:
            raise GgufError(f"{path}: cannot read tensor {tensor.name} ({error}) — truncated file?") from error
    config.vocab_size = config.vocab_size or weights["model.embed_tokens.weight"].shape[0]
    config.tie_word_embeddings = "lm_head.weight" not in weights
    expected = ["model.embed_tokens.weight", "model.norm.weight"] + [
        f"model.layers.{layer}.{part}.weight" for layer in range(config.num_hidden_layers) for part in LAYER_TENSORS.values()]
    missing = [name for name in expected if name not in weights]
    if missing:
        raise GgufError(f"{path}: {len(missing)} tensors missing (first: {missing[0]}) — truncated or not a llama model")
    for layer in range(config.num_hidden_layers):
        attention = f"model.layers.{layer}.self_attn."
        for projection, heads in (("q_proj", config.num_attention_heads), ("k_proj", config.num_key_value_heads)):
            weight = weights[attention + projection + ".weight"]
            rows = unpermute_rows(weight.shape[0], heads)
            weights[attention + projection + ".weight"] = weight.take_rows(rows) if isinstance(weight, BlockWeights) \
                else weight[rows]
    return weights


def unpermute_rows(rows: int, heads: int) -> np.ndarray:
    """Row order that undoes llama.cpp's conversion of Q/K projections (rotary pairs interleaved per head) and gives
    back the Hugging Face layout (pairs half a head apart), the order transformers also restores on loading."""
    half = rows // heads // 2
    return np.arange(rows).reshape(heads, half, 2).swapaxes(1, 2).reshape(rows)


def _hf_name(gguf_name: str) -> str | None:
    stem, _, kind = gguf_name.rpartition(".")
    if kind != "weight":
        return None
    if stem in GLOBAL_TENSORS:
        return GLOBAL_TENSORS[stem] + ".weight"
    parts = stem.split(".")
    if len(parts) == 3 and parts[0] == "blk" and parts[2] in LAYER_TENSORS:
        return f"model.layers.{parts[1]}.{LAYER_TENSORS[parts[2]]}.weight"
    return None


def _tensor(tensor: Any) -> np.ndarray | BlockWeights:
    """One tensor: blocks kept for Q4_0, Q4_1 and Q8_0, float32 for everything else."""
    from gguf import GGMLQuantizationType as Q
    from gguf import quants

    rows = int(np.prod(tensor.shape[1:])) if len(tensor.shape) > 1 else 1
    columns = int(tensor.shape[0])
    raw = np.asarray(tensor.data)
    kind = tensor.tensor_type
    if kind in (Q.Q4_0, Q.Q4_1, Q.Q8_0) and columns % BLOCK == 0:
        block_bytes = {Q.Q4_0: 18, Q.Q4_1: 20, Q.Q8_0: 34}[kind]
        blocks = raw.reshape(rows, columns // BLOCK, block_bytes)
        scales = blocks[..., 0:2].copy().view(np.float16)[..., 0].astype(np.float32)
        if kind == Q.Q8_0:
            codes = (blocks[..., 2:].view(np.int8).astype(np.int16) + 128).astype(np.uint8)
            return BlockWeights(8, codes, scales)
        start = 4 if kind == Q.Q4_1 else 2
        packed = blocks[..., start:]  # byte j: weight j (low nibble), weight j + 16 (high nibble)
        values = np.concatenate([packed & 0x0F, packed >> 4], axis=-1)  # [rows, blocks, 32] in weight order
        codes = (values[..., 0::2] | (values[..., 1::2] << 4)).astype(np.uint8)  # MatMulNBits: pairs per byte
        if kind == Q.Q4_0:
            return BlockWeights(4, codes, scales)  # value = scale * (code - 8)
        minimum = blocks[..., 2:4].copy().view(np.float16)[..., 0].astype(np.float32)
        return BlockWeights(4, codes, scales, offsets=minimum + 8 * scales)  # scale * code + min
    values = np.ascontiguousarray(raw if kind in (Q.F32, Q.F16) else quants.dequantize(raw, kind), dtype=np.float32)
    return values.reshape(rows, columns) if len(tensor.shape) > 1 else values.reshape(columns)


def build_tokenizer_json(tokens: list[str], merges: list[str], token_types: list[int], pre: str) -> str:
    """A `tokenizers` byte-level BPE tokenizer from the GGUF vocabulary, with llama.cpp's pre-tokenization for `pre`;
    control and user-defined tokens (types 3 and 4) become special added tokens."""
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, pre_tokenizers

    vocab = {token: index for index, token in enumerate(tokens)}
    pairs = [tuple(merge.split(" ", 1)) for merge in merges]
    tokenizer = Tokenizer(models.BPE(vocab=vocab, merges=pairs, fuse_unk=False, byte_fallback=False))
    split = pre_tokenizers.Split(Regex(GPT2_PATTERN), behavior="isolated")
    byte_level = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
    steps = [split, byte_level]
    if pre in SINGLE_DIGIT_PRE_TOKENIZERS:
        steps.insert(0, pre_tokenizers.Digits(individual_digits=True))
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence(steps)
    tokenizer.decoder = decoders.ByteLevel()
    control = [token for token, kind in zip(tokens, token_types) if kind in (3, 4)]
    tokenizer.add_special_tokens([AddedToken(token, special=True, normalized=False) for token in control])
    return tokenizer.to_str()
