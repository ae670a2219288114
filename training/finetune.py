"""`codegen-train finetune REPO`: adapt a model to a repository, prove the gain on held-out files, publish it.

Steps: collect the repository's source files (filters, secrets, duplicates: training.repo_data) and split them;
evaluate the base on held-out cut points; fine-tune (full or LoRA, optionally layer-wise) with the shared loop
(training.train: FIM, packing, AdamW warmup + cosine, time budget, early stopping, checkpoints); re-export with
validation; evaluate again on the same points; publish into the model store (or `--out`). Under torchrun the same
command trains data-parallel (DDP); rank 0 evaluates, exports and publishes.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import os
import re
import shutil
from pathlib import Path

from training.config import TrainConfig
from training.errors import TrainingError

LAYER_INDEX = re.compile(r"\.(?:layers|h|blocks)\.(\d+)\.")
EMBEDDING_NAMES = ("embed_tokens", "wte", "wpe", "word_embeddings")
BEFORE_CACHE = "eval_before.json"
REPORT_FILE = "finetune_report.json"


# --- pure helpers -------------------------------------------------------------------------------------------


def layer_of(param_name: str) -> int | None:
    """The transformer block index a parameter belongs to, or None (embeddings, final norm, head)."""
    match = LAYER_INDEX.search(param_name)
    return int(match.group(1)) if match else None


def is_embedding(param_name: str) -> bool:
    return any(name in param_name for name in EMBEDDING_NAMES)


def layer_lr_scale(param_name: str, n_layers: int, decay: float) -> float:
    """Layer-wise learning-rate multiplier: decay ** (distance from the top block); embeddings sit below block 0."""
    layer = layer_of(param_name)
    if layer is not None:
        return decay ** (n_layers - 1 - layer)
    return decay ** n_layers if is_embedding(param_name) else 1.0


def is_frozen(param_name: str, freeze_layers: int) -> bool:
    """Whether `--freeze-layers N` keeps this parameter fixed: the lowest N blocks and (N > 0) the embeddings."""
    if freeze_layers <= 0:
        return False
    layer = layer_of(param_name)
    return (layer is not None and layer < freeze_layers) or (layer is None and is_embedding(param_name))


def default_work_dir(repo: Path) -> Path:
    """Where checkpoints of fine-tuning `repo` live (stable per repository path, so --resume finds them)."""
    from model.store import default_store_root

    repo = repo.resolve()
    digest = hashlib.sha256(str(repo).encode()).hexdigest()[:10]
    return default_store_root().parent / "finetune" / f"{repo.name}-{digest}"


def finetune_config(args: argparse.Namespace, context_length: int) -> TrainConfig:
    """The training configuration of a fine-tuning run."""
    peak = args.lr or (2e-3 if args.lora else 1e-3)
    return TrainConfig(
        block_size=min(args.block_size, context_length), batch_size=args.batch_size, grad_accum=args.grad_accum,
        learning_rate=peak, min_lr=peak / 10,
        warmup_steps=args.warmup_steps, weight_decay=0.0 if args.lora else 0.1, max_steps=args.max_steps,
        minutes=args.minutes, eval_interval=args.eval_interval, eval_sequences=args.eval_sequences,
        checkpoint_minutes=args.checkpoint_minutes, seed=args.seed, holdout_fraction=0.1)


# --- base model ----------------------------------------------------------------------------------------------


def resolve_base(base: Path | None) -> tuple[Path, Path | None]:
    """(Hugging Face checkpoint dir, exported model dir or None) of `--base` (default: the default model)."""
    import model

    path = base or model.default_model_path()
    if (path / "manifest.json").is_file():
        if not (path / "hf" / "config.json").is_file() and model.Manifest.read(path).provenance:
            raise TrainingError(f"{path} was converted from a GGUF file; fine-tuning a "
                                "GGUF import is not supported yet — pass --base with a Hugging Face checkpoint "
                                "directory that has FIM tokens (e.g. bench/stdlib-4m/hf)")
        if not (path / "hf" / "config.json").is_file():
            raise TrainingError(f"the model directory {path} has no hf/ PyTorch weights to fine-tune — pass --base "
                                "HF_DIR, or export with `codegen-train export HF_DIR --out DIR --keep-hf`")
        return path / "hf", path
    if (path / "config.json").is_file():
        return path, None
    raise TrainingError(f"--base {path} is neither a model directory (manifest.json) nor a Hugging Face checkpoint "
                        "(config.json) — pass one of those")


def load_tokenizer(hf_dir: Path):
    """The base's `tokenizers.Tokenizer`. The shared loop's FIM augmentation writes StarCoder-style FIM tokens:
    the base vocabulary must have them."""
    from tokenizers import Tokenizer

    from training.tokenizer import EOS, FIM_MIDDLE, FIM_PREFIX, FIM_SUFFIX

    if not (hf_dir / "tokenizer.json").is_file():
        raise TrainingError(f"{hf_dir} has no tokenizer.json — save a fast tokenizer there with save_pretrained")
    tokenizer = Tokenizer.from_file(str(hf_dir / "tokenizer.json"))
    missing = [t for t in (EOS, FIM_PREFIX, FIM_SUFFIX, FIM_MIDDLE) if tokenizer.token_to_id(t) is None]
    if missing:
        raise TrainingError(f"the tokenizer of {hf_dir} lacks {', '.join(missing)} — fine-tuning supports bases "
                            "with StarCoder-style FIM tokens (the default model, StarCoder-family checkpoints)")
    return tokenizer


def load_trainable(hf_dir: Path, args: argparse.Namespace):
    """The base model prepared for training: LoRA adapters or full weights, frozen lower blocks."""
    import torch
    from transformers import AutoModelForCausalLM

    torch.manual_seed(args.seed)
    network = AutoModelForCausalLM.from_pretrained(hf_dir, dtype=torch.float32, local_files_only=True)
    if args.lora:
        from peft import LoraConfig, get_peft_model

        network = get_peft_model(network, LoraConfig(r=args.lora_rank, lora_alpha=2 * args.lora_rank,
                                                     lora_dropout=0.05, target_modules="all-linear"))
    for name, param in network.named_parameters():
        if is_frozen(name, args.freeze_layers):
            param.requires_grad_(False)
    return network


def save_merged(network, tokenizer_dir: Path, out: Path) -> Path:
    """Save the trained weights (LoRA merged into them) with the base's tokenizer as a checkpoint at `out`."""
    from transformers import AutoTokenizer

    if hasattr(network, "merge_and_unload"):
        network = network.merge_and_unload()
    shutil.rmtree(out, ignore_errors=True)
    network.save_pretrained(out, safe_serialization=True)
    AutoTokenizer.from_pretrained(tokenizer_dir, local_files_only=True).save_pretrained(out)
    return out


# --- distributed ---------------------------------------------------------------------------------------------


def init_distributed() -> int:
    """Join the process group of a torchrun / accelerate launch (WORLD_SIZE > 1); returns this process's rank."""
    import torch

    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return 0
    backend = "nccl" if torch.cuda.is_available() else "gloo"
    if torch.cuda.is_available():
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    torch.distributed.init_process_group(backend)
    return torch.distributed.get_rank()


def wrap_distributed(network):
    """DistributedDataParallel around `network` when a process group is running."""
    import torch

    if not (torch.distributed.is_available() and torch.distributed.is_initialized()):
        return network
    device_ids = [torch.cuda.current_device()] if torch.cuda.is_available() else None
    return torch.nn.parallel.DistributedDataParallel(network, device_ids=device_ids)


def leave_process_group() -> None:
    """Wait for every rank, then leave the process group (when one is running)."""
    import torch

    if torch.distributed.is_available() and torch.distributed.is_initialized():
        torch.distributed.barrier()
        torch.distributed.destroy_process_group()


# --- evaluation around training ------------------------------------------------------------------------------


def evaluate_base(base_model_dir: Path | None, hf_dir: Path, work_dir: Path, held_out, points, quantize: str):
    """The base's evaluation on `points`, cached in the work directory (a resumed run does not repeat it)."""
    from training.evaluate import EvalResult, evaluate_model
    from training.publish import export_candidate

    cache = work_dir / BEFORE_CACHE
    key = {"base": str(hf_dir.resolve()), "points": [dataclasses.astuple(p) for p in points]}
    if cache.is_file():
        saved = json.loads(cache.read_text(encoding="utf-8"))
        if saved["key"] == key:
            return EvalResult(**saved["result"])
    if base_model_dir is None:  # an HF checkpoint: export it the same way the result will be exported
        base_model_dir = export_candidate(hf_dir, work_dir / "base", quantize)
    result = evaluate_model(base_model_dir, held_out, points)
    cache.write_text(json.dumps({"key": key, "result": dataclasses.asdict(result)}), encoding="utf-8")
    return result


# --- command line ------------------------------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of `codegen-train finetune`."""
    from training.evaluate import DEFAULT_POINTS
    from training.export import QUANTIZE_CHOICES

    parser.add_argument("repo", type=Path, metavar="REPO", help="the repository to learn")
    parser.add_argument("--base", type=Path, metavar="MODEL_DIR_OR_HF_DIR",
                        help="model directory (its hf/ weights) or Hugging Face checkpoint (default: the default model)")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--lora", action="store_true", help="train LoRA adapters (merged into the weights on export)")
    mode.add_argument("--full", action="store_true", help="train all weights (the default)")
    parser.add_argument("--lora-rank", type=int, default=16, help="LoRA rank")
    parser.add_argument("--freeze-layers", type=int, default=0, metavar="N", help="keep the lowest N blocks fixed")
    parser.add_argument("--layer-decay", type=float, default=0.9,
                        help="learning-rate factor per block below the top one (1 = the same rate everywhere)")
    parser.add_argument("--minutes", type=float, default=20.0, help="training time budget")
    parser.add_argument("--max-steps", type=int, default=100_000, help="upper bound on optimizer steps")
    parser.add_argument("--resume", action="store_true", help="continue from the work directory's checkpoint")
    parser.add_argument("--holdout", metavar="GLOB", help="held-out files (default: a deterministic 10%% of files)")
    parser.add_argument("--out", type=Path, metavar="MODEL_DIR",
                        help="write the validated model directory here instead of publishing it to the model store")
    parser.add_argument("--store", type=Path, help="model store root (default: the user's store)")
    parser.add_argument("--work-dir", type=Path, help="checkpoints and reports (default: per repository, beside "
                                                       "the model store)")
    parser.add_argument("--quantize", choices=QUANTIZE_CHOICES, help="export quantization (default: the base's)")
    parser.add_argument("--points", type=int, default=DEFAULT_POINTS, help="held-out cut points evaluated")
    parser.add_argument("--lr", type=float, help="peak learning rate (default: 1e-3 full, 2e-3 LoRA)")
    parser.add_argument("--batch-size", type=int, default=8, help="sequences per micro-batch")
    parser.add_argument("--grad-accum", type=int, default=2, help="micro-batches per optimizer step")
    parser.add_argument("--block-size", type=int, default=512, help="tokens per training sequence")
    parser.add_argument("--warmup-steps", type=int, default=10, help="linear warmup steps")
    parser.add_argument("--eval-interval", type=int, default=10, help="steps between held-out loss measurements")
    parser.add_argument("--eval-sequences", type=int, default=16, help="held-out sequences per measurement")
    parser.add_argument("--patience", type=int, default=4,
                        help="stop after this many measurements without a better held-out loss")
    parser.add_argument("--checkpoint-minutes", type=float, default=2.0, help="minutes between checkpoints")
    parser.add_argument("--seed", type=int, default=1234, help="fixes data order, FIM choices and adapters")


def run(args: argparse.Namespace) -> int:
    import torch

    from model.manifest import Manifest
    from model.store import ModelStore
    from training.evaluate import evaluate_model, format_table, sample_cut_points, summary, write_report
    from training.export import context_length_of
    from training.publish import export_candidate, publish_model
    from training.repo_data import collect_repository, split_files
    from training.corpus import file_chunks
    from training.train import BEST_WEIGHTS, PackedBatches, train

    rank = init_distributed()
    say = print if rank == 0 else (lambda *a, **k: None)
    hf_dir, base_model_dir = resolve_base(args.base)
    work_dir = (args.work_dir or default_work_dir(args.repo)).resolve()
    if args.out is not None and args.out.exists():
        raise TrainingError(f"{args.out} already exists — choose another --out or remove it first")
    work_dir.mkdir(parents=True, exist_ok=True)

    data = collect_repository(args.repo)
    train_files, held_out = split_files(data.files, holdout_glob=args.holdout)
    say(f"data: {len(data.files)} files ({sum(len(f.text) for f in data.files) / 1e3:.0f} kB): {len(train_files)} "
        f"train, {len(held_out)} held out; excluded:\n{data.excluded.format() or '  nothing'}")
    tokenizer = load_tokenizer(hf_dir)
    network = load_trainable(hf_dir, args)
    config = finetune_config(args, context_length_of(network.config))
    quantize = args.quantize or (Manifest.read(base_model_dir).quantization if base_model_dir else "auto")

    points = sample_cut_points(held_out, args.points, seed=args.seed)
    before = evaluate_base(base_model_dir, hf_dir, work_dir, held_out, points, quantize) if rank == 0 else None

    device = torch.device(f"cuda:{torch.cuda.current_device()}" if torch.cuda.is_available() else "cpu")
    network.to(device)
    trainable = sum(p.numel() for p in network.parameters() if p.requires_grad)
    say(f"fine-tuning {'LoRA' if args.lora else 'all weights'} of {hf_dir}: {trainable / 1e6:.2f}M trainable "
        f"parameters, frozen blocks {args.freeze_layers}, device {device}, work dir {work_dir}")
    if not args.resume and rank == 0:
        (work_dir / BEST_WEIGHTS).unlink(missing_ok=True)
    n_layers = network.config.num_hidden_layers
    state = train(wrap_distributed(network),
                  PackedBatches(file_chunks(train_files, tokenizer, config.block_size), tokenizer, config),
                  PackedBatches(file_chunks(held_out, tokenizer, config.block_size), tokenizer, config, 1),
                  config, work_dir, resume=args.resume, patience=args.patience, keep_best=True,
                  lr_scale=lambda name: layer_lr_scale(name, n_layers, args.layer_decay), log=say)
    if rank != 0:  # rank 0 exports, evaluates and publishes
        leave_process_group()
        return 0
    if (work_dir / BEST_WEIGHTS).is_file():
        network.load_state_dict(torch.load(work_dir / BEST_WEIGHTS, map_location="cpu", weights_only=True))
    candidate = export_candidate(save_merged(network.cpu(), hf_dir, work_dir / "hf"), work_dir, quantize)
    after = evaluate_model(candidate, held_out, points)
    results = {"base": before, "fine-tuned": after}
    print(format_table(results))
    write_report(candidate / REPORT_FILE, results, repo=str(args.repo.resolve()), base=str(hf_dir),
                 held_out=[f.rel for f in held_out], excluded=data.excluded.to_json(),
                 training={"steps": state.step, "tokens": state.tokens, "minutes": round(state.elapsed / 60, 2),
                           "best_val_loss": state.best_val_loss if state.history else None,
                           "history": state.history},
                 summary={name: summary(result) for name, result in results.items()})
    where = publish_model(candidate, args.out, ModelStore(args.store) if args.store else None)
    print(f"published {where}" + ("" if args.out else " — undo with `codegen-train models rollback`"))
    leave_process_group()
    return 0
