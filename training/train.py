"""The training loop shared by pretraining and fine-tuning: packing, AdamW + warmup/cosine, clipping,
validation, time budget, resumable checkpoints, a progress bar with tokens/s and ETA."""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from tokenizers import Tokenizer
from tqdm import tqdm

from training.config import TrainConfig
from training.corpus import Chunk
from training.errors import TrainingError
from training.fim import fim_transform
from training.tokenizer import FILE_SEP

CHECKPOINT = "checkpoint.pt"
BEST_WEIGHTS = "best_weights.pt"  # written with keep_best=True: the weights at the best validation loss


class PackedBatches:
    """Deterministic packed batches: batch `k` depends only on (seed, k), so a resumed run sees the same data."""

    def __init__(self, chunks: list[Chunk], tokenizer: Tokenizer, config: TrainConfig, seed_offset: int = 0):
        if not chunks:
            raise TrainingError("no training text: the corpus is empty")
        self.chunks = chunks
        self.tokenizer = tokenizer
        self.config = config
        self.seed_offset = seed_offset
        self.eos_id = tokenizer.token_to_id("<|endoftext|>")

    def batch(self, index: int, sequences: int | None = None) -> torch.Tensor:
        """`sequences` rows of block_size + 1 tokens (inputs and shifted targets), packed across examples."""
        rows = sequences or self.config.batch_size
        need = rows * (self.config.block_size + 1)
        rng = np.random.default_rng([self.config.seed, self.seed_offset, index])
        stream: list[int] = []
        while len(stream) < need:
            picks = rng.integers(0, len(self.chunks), size=rows + 2)
            texts = [example_text(self.chunks[i], rng, self.config) for i in picks]
            for encoding in self.tokenizer.encode_batch(texts, add_special_tokens=False):
                stream.extend(encoding.ids)
                stream.append(self.eos_id)
        return torch.tensor(stream[:need], dtype=torch.long).view(rows, -1)


def example_text(chunk: Chunk, rng: np.random.Generator, config: TrainConfig) -> str:
    """`<file_sep>path` header (as the runtime's prompts carry it) + the chunk, FIM-rearranged at `fim_rate`."""
    return f"{FILE_SEP}{chunk.path}\n{fim_transform(chunk.text, rng, config.fim_rate, config.spm_rate, config.fim_line_rate)}"


@dataclass
class TrainState:
    step: int = 0
    elapsed: float = 0.0  # training seconds spent so far, across resumes
    tokens: int = 0
    best_val_loss: float = math.inf
    evals_without_improvement: int = 0
    history: list[dict] = field(default_factory=list)


def learning_rate(config: TrainConfig, state: TrainState) -> float:
    """Linear warmup, then cosine decay to min_lr over the step or time budget (whichever is nearer its end)."""
    if state.step < config.warmup_steps:
        return config.learning_rate * (state.step + 1) / config.warmup_steps
    progress = (state.step - config.warmup_steps) / max(1, config.max_steps - config.warmup_steps)
    if config.minutes:
        progress = max(progress, state.elapsed / (config.minutes * 60))
    progress = min(progress, 1.0)
    return config.min_lr + 0.5 * (config.learning_rate - config.min_lr) * (1 + math.cos(math.pi * progress))


def make_optimizer(model: torch.nn.Module, config: TrainConfig,
                   lr_scale: Callable[[str], float] = lambda name: 1.0) -> torch.optim.AdamW:
    """AdamW; weight decay on matrices only. `lr_scale(param_name)` gives per-parameter LR multipliers."""
    groups: dict[tuple[float, float], list] = {}
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        decay = config.weight_decay if param.dim() >= 2 else 0.0
        groups.setdefault((decay, lr_scale(name)), []).append(param)
    param_groups = [{"params": p, "weight_decay": d, "lr_scale": s} for (d, s), p in groups.items()]
    return torch.optim.AdamW(param_groups, lr=config.learning_rate, betas=(0.9, config.beta2))


def distributed_rank_and_size() -> tuple[int, int]:
    """(rank, world size) of a torchrun / accelerate launch (torch.distributed initialised), else (0, 1)."""
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_rank(), torch.distributed.get_world_size()
    return 0, 1


def all_ranks_max(value: float) -> float:
    """The largest `value` over the ranks of a distributed run (so that every rank takes the same decisions)."""
    if distributed_rank_and_size()[1] == 1:
        return value
    tensor = torch.tensor([value], dtype=torch.float64)
    torch.distributed.all_reduce(tensor, op=torch.distributed.ReduceOp.MAX)
    return float(tensor.item())


def unwrapped(model: torch.nn.Module) -> torch.nn.Module:
    """The model inside a DistributedDataParallel wrapper (or the model itself)."""
    return getattr(model, "module", model)


def save_atomically(payload: dict, path: Path) -> None:
    """torch.save to `path` via a temporary file: a kill during the write leaves the previous file intact."""
    tmp = path.with_name(path.name + ".tmp")
    torch.save(payload, tmp)
    os.replace(tmp, path)


def native_bf16(device: torch.device) -> bool:
    """bf16 pays off only with hardware support; emulated bf16 on an AVX2-only CPU is many times slower than fp32."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    return torch.cpu._is_amx_tile_supported() or torch.cpu._is_avx512_bf16_supported()


def autocast(config: TrainConfig, device: torch.device):
    """bf16 autocast where the hardware has it (CPU AMX / AVX512-BF16, CUDA); fp16 on older GPUs; else fp32."""
    if device.type == "cuda" and not torch.cuda.is_bf16_supported():
        return torch.autocast("cuda", dtype=torch.float16, enabled=config.bf16)
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=config.bf16 and native_bf16(device))


@torch.no_grad()
def evaluate_loss(model: torch.nn.Module, batches: PackedBatches, config: TrainConfig, device: torch.device) -> float:
    """Mean next-token loss on a fixed set of held-out sequences."""
    model.eval()
    losses = []
    per_batch = min(config.batch_size, config.eval_sequences)
    for index in range(math.ceil(config.eval_sequences / per_batch)):
        data = batches.batch(index, per_batch).to(device)
        with autocast(config, device):
            losses.append(next_token_loss(model, data).item())
    model.train()
    return float(np.mean(losses))


def next_token_loss(model: torch.nn.Module, data: torch.Tensor) -> torch.Tensor:
    """Next-token cross-entropy of a [rows, block_size + 1] batch."""
    logits = model(input_ids=data[:, :-1]).logits
    return torch.nn.functional.cross_entropy(logits.float().reshape(-1, logits.size(-1)), data[:, 1:].reshape(-1))


def save_checkpoint(out_dir: Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer,
                    state: TrainState, config: TrainConfig) -> None:
    """Write atomically: a kill during the write leaves the previous checkpoint intact."""
    save_atomically({"model": unwrapped(model).state_dict(), "optimizer": optimizer.state_dict(),
                     "state": state.__dict__, "config": config.to_dict()}, out_dir / CHECKPOINT)


def load_checkpoint(out_dir: Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer) -> TrainState:
    payload = torch.load(out_dir / CHECKPOINT, map_location="cpu", weights_only=False)
    unwrapped(model).load_state_dict(payload["model"])
    optimizer.load_state_dict(payload["optimizer"])
    return TrainState(**payload["state"])


def train(model: torch.nn.Module, train_batches: PackedBatches, val_batches: PackedBatches, config: TrainConfig,
          out_dir: Path, resume: bool = False, patience: int | None = None,
          lr_scale: Callable[[str], float] = lambda name: 1.0, log: Callable[[str], None] = print,
          keep_best: bool = False) -> TrainState:
    """Train until max_steps, the time budget, or (with `patience`) no validation improvement; return the state.

    Checkpoints go to `out_dir/checkpoint.pt`; `resume=True` continues from it. With `keep_best`, the weights at
    the best validation loss are kept in `out_dir/best_weights.pt`. Under torchrun (torch.distributed initialised,
    `model` wrapped in DistributedDataParallel) each rank trains on its own batches and rank 0 writes the files.
    """
    torch.manual_seed(config.seed)
    rank, world = distributed_rank_and_size()
    if rank != 0:
        log = lambda message: None  # noqa: E731
    device = next(model.parameters()).device
    optimizer = make_optimizer(model, config, lr_scale)
    state = TrainState()
    if resume and (out_dir / CHECKPOINT).exists():
        state = load_checkpoint(out_dir, model, optimizer)
        log(f"resumed from step {state.step} ({state.elapsed / 60:.1f} min trained)")
    out_dir.mkdir(parents=True, exist_ok=True)
    budget = config.minutes * 60 if config.minutes else None
    tokens_per_step = config.batch_size * config.grad_accum * config.block_size * world
    if budget is not None:  # the time budget ends training first: the bar measures training seconds against it
        bar = tqdm(total=round(budget), initial=round(state.elapsed), unit="s", dynamic_ncols=True, mininterval=2.0,
                   bar_format="{l_bar}{bar}| {n:.0f}/{total} s trained [{elapsed}{postfix}]", disable=rank != 0)
    else:
        bar = tqdm(total=config.max_steps, initial=state.step, unit="step", dynamic_ncols=True, mininterval=2.0,
                   disable=rank != 0)
    last_checkpoint = time.monotonic()
    model.train()
    stop_reason = "max_steps"
    while state.step < config.max_steps:
        if budget is not None and state.elapsed >= budget:
            stop_reason = "time budget"
            break
        started = time.monotonic()
        lr = learning_rate(config, state)
        for group in optimizer.param_groups:
            group["lr"] = lr * group["lr_scale"]
        for micro in range(config.grad_accum):
            data = train_batches.batch((state.step * config.grad_accum + micro) * world + rank).to(device)
            with autocast(config, device):
                loss = next_token_loss(model, data) / config.grad_accum
            loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        state.step += 1
        state.tokens += tokens_per_step
        step_seconds = all_ranks_max(time.monotonic() - started)
        state.elapsed += step_seconds
        train_loss = loss.item() * config.grad_accum
        remaining = (budget - state.elapsed) if budget else step_seconds * (config.max_steps - state.step)
        bar.update(min(step_seconds, bar.total - bar.n) if budget is not None else 1)
        bar.set_postfix_str(f"step {state.step} loss {train_loss:.3f} lr {lr:.2e} {tokens_per_step / step_seconds:,.0f} tok/s "
                            f"ETA {max(0.0, remaining) / 60:.1f} min", refresh=False)
        if state.step % config.eval_interval == 0 or state.step == config.max_steps:
            val_loss = all_ranks_max(evaluate_loss(model, val_batches, config, device))
            state.history.append({"step": state.step, "tokens": state.tokens, "elapsed": round(state.elapsed, 1),
                                  "train_loss": round(train_loss, 4), "val_loss": round(val_loss, 4)})
            bar.write(f"step {state.step}: train {train_loss:.3f} val {val_loss:.3f} "
                      f"({state.tokens / 1e6:.1f}M tokens, {state.elapsed / 60:.1f} min)")
            if val_loss < state.best_val_loss:
                state.best_val_loss, state.evals_without_improvement = val_loss, 0
                if keep_best and rank == 0:
                    save_atomically(unwrapped(model).state_dict(), out_dir / BEST_WEIGHTS)
            else:
                state.evals_without_improvement += 1
                if patience is not None and state.evals_without_improvement >= patience:
                    stop_reason = "early stopping"
                    break
        if rank == 0 and time.monotonic() - last_checkpoint > config.checkpoint_minutes * 60:
            save_checkpoint(out_dir, model, optimizer, state, config)
            last_checkpoint = time.monotonic()
    bar.close()
    if rank == 0:
        save_checkpoint(out_dir, model, optimizer, state, config)
        (out_dir / "training_log.json").write_text(json.dumps(
            {"stop_reason": stop_reason, "config": config.to_dict(), **state.__dict__}, indent=1))
    log(f"stopped ({stop_reason}) at step {state.step}, {state.tokens / 1e6:.1f}M tokens, "
        f"{state.elapsed / 60:.1f} min, best val loss {state.best_val_loss:.4f}")
    return state
