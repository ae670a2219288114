"""Training configuration: one dataclass, one comment per default, and named presets (nanoGPT style)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass


@dataclass
class TrainConfig:
    # --- model (Llama-style decoder, so it exports like any other family) ---
    vocab_size: int = 8192  # byte-level BPE vocabulary, special tokens included
    d_model: int = 256  # hidden size
    n_layer: int = 8  # transformer blocks
    n_head: int = 4  # attention heads (head_dim = d_model / n_head)
    n_kv_head: int = 4  # key/value heads (< n_head gives grouped-query attention)
    d_ff: int = 688  # SwiGLU inner size (~8/3 * d_model, rounded)
    context_length: int = 2048  # max positions the exported model accepts
    block_size: int = 1024  # tokens per training sequence (packed)
    rope_theta: float = 10000.0  # rotary embedding base
    # --- data ---
    fim_rate: float = 0.5  # share of examples turned into fill-in-the-middle examples
    spm_rate: float = 0.5  # share of FIM examples in suffix-prefix-middle order (rest prefix-suffix-middle)
    fim_prompt_order: str = "spm"  # the order the exported model is prompted in (config.json `fim_order`): SPM puts the
                                   # prefix's end next to the generation, which a small model completes far better
    fim_line_rate: float = 0.5  # share of FIM examples cut at line starts, middle = 1-3 lines (rest: any character)
    holdout_fraction: float = 0.05  # share of files held out for validation, never trained on
    test_share: float = 0.2  # share of test-suite files trained on (the stdlib's tests are 62% of its text)
    # --- optimisation ---
    batch_size: int = 16  # sequences per optimizer step (before accumulation)
    grad_accum: int = 1  # micro-batches accumulated per optimizer step
    learning_rate: float = 2e-3  # peak AdamW learning rate
    min_lr: float = 1e-4  # floor of the cosine decay
    warmup_steps: int = 100  # linear warmup steps
    weight_decay: float = 0.1  # AdamW weight decay on matrices (not norms/biases)
    beta2: float = 0.95  # AdamW beta2
    grad_clip: float = 1.0  # global gradient-norm clip
    max_steps: int = 100_000  # upper bound on steps; the time budget usually ends training first
    minutes: float | None = None  # wall-clock budget; the LR schedule follows elapsed time when set
    # --- bookkeeping ---
    eval_interval: int = 100  # steps between validation-loss measurements
    eval_sequences: int = 32  # held-out sequences per validation measurement
    checkpoint_minutes: float = 5.0  # minutes between resumable checkpoints
    bf16: bool = True  # mixed precision where the hardware has it natively (CPU AMX/AVX512-BF16, CUDA)
    seed: int = 1234  # fixes data order, FIM choices and initialisation

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


PRESETS: dict[str, TrainConfig] = {
    # seconds on a laptop: for tests of the pipeline itself
    "tiny": TrainConfig(vocab_size=1024, d_model=64, n_layer=2, n_head=2, n_kv_head=2, d_ff=172,
                        context_length=256, block_size=128, batch_size=4, warmup_steps=2, eval_interval=5,
                        eval_sequences=4, max_steps=10),
    # ~4M parameters, sized for ~1.5k tokens/s of fp32 training on a 2-core AVX2 CPU (no native bf16)
    "cpu": TrainConfig(d_model=192, n_layer=6, n_head=3, n_kv_head=3, d_ff=512, context_length=1024,
                       block_size=1024, batch_size=8, warmup_steps=50, eval_interval=50, eval_sequences=16),
    # ~85M parameters: for a lent GPU (H100), ~30 minutes
    "gpu": TrainConfig(vocab_size=16384, d_model=768, n_layer=12, n_head=12, n_kv_head=4, d_ff=2048,
                       block_size=2048, context_length=4096, batch_size=64, learning_rate=1e-3,
                       warmup_steps=300, eval_interval=250),
}


def preset(name: str, **overrides) -> TrainConfig:
    """Return a copy of a named preset with `overrides` applied (None values are ignored)."""
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}")
    return dataclasses.replace(PRESETS[name], **{k: v for k, v in overrides.items() if v is not None})
