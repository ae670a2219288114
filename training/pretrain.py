"""`codegen-train pretrain`: a small Llama-style code model from scratch (the shipped default model)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from training.config import PRESETS, TrainConfig, preset
from training.corpus import (
    SourceFile, file_chunks, is_held_out, read_python_tree, sample_test_files, split_stdlib, stdlib_dir)
from training.errors import TrainingError

SPLIT_FILE = "corpus_split.json"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--corpus", nargs="+", type=Path, default=None,
                        help="directories of Python sources (default: this interpreter's standard library)")
    parser.add_argument("--out", type=Path, required=True, help="output Hugging Face checkpoint directory")
    parser.add_argument("--preset", choices=sorted(PRESETS), default="cpu", help="model and optimisation size")
    parser.add_argument("--minutes", type=float, default=None, help="wall-clock training budget")
    parser.add_argument("--max-steps", type=int, default=None, help="upper bound on optimizer steps")
    parser.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.pt after a kill")
    parser.add_argument("--test-share", type=float, default=None,
                        help="share of test-suite files to train on (default: the preset's, 0.2)")


def load_corpus(dirs: list[Path] | None, fraction: float, test_share: float = 1.0) -> tuple[list[SourceFile], list[SourceFile]]:
    """(train, held_out) files, with `test_share` of the test-suite files kept for training. The standard library
    uses its test-suite-aware split; other corpora a plain one."""
    if dirs is None:
        train, held = split_stdlib(read_python_tree(stdlib_dir()), fraction)
        return sample_test_files(train, test_share), held
    files = []
    for directory in dirs:
        if not directory.is_dir():
            raise TrainingError(f"corpus directory not found: {directory}")
        files += read_python_tree(directory)
    held = [f for f in files if is_held_out(f.rel, fraction)]
    train = sample_test_files([f for f in files if not is_held_out(f.rel, fraction)], test_share)
    if not train or not held:
        raise TrainingError(f"corpus too small to split: {len(files)} Python files in {', '.join(map(str, dirs))}")
    return train, held


def build_model(config: TrainConfig, tokenizer_vocab: int):
    from transformers import LlamaConfig, LlamaForCausalLM

    return LlamaForCausalLM(LlamaConfig(
        vocab_size=tokenizer_vocab, hidden_size=config.d_model, intermediate_size=config.d_ff,
        num_hidden_layers=config.n_layer, num_attention_heads=config.n_head, num_key_value_heads=config.n_kv_head,
        max_position_embeddings=config.context_length, rope_theta=config.rope_theta, tie_word_embeddings=True,
        bos_token_id=0, eos_token_id=0, pad_token_id=4, fim_order=config.fim_prompt_order))


def run(args: argparse.Namespace) -> int:
    import torch
    from tokenizers import Tokenizer

    from training.tokenizer import save_hf_tokenizer, train_tokenizer
    from training.train import PackedBatches, load_checkpoint, train

    if args.test_share is not None and not 0 <= args.test_share <= 1:
        raise TrainingError(f"--test-share must be between 0 and 1, got {args.test_share}")
    config = preset(args.preset, minutes=args.minutes, max_steps=args.max_steps, test_share=args.test_share)
    out: Path = args.out
    train_files, held_files = load_corpus(args.corpus, config.holdout_fraction, config.test_share)
    print(f"corpus: {len(train_files)} training files, {len(held_files)} held-out files "
          f"({sum(len(f.text) for f in train_files) / 1e6:.1f} MB of training text)")
    out.mkdir(parents=True, exist_ok=True)
    tokenizer_path = out / "tokenizer.json"
    if args.resume and tokenizer_path.exists():
        tokenizer = Tokenizer.from_file(str(tokenizer_path))
    else:
        tokenizer = train_tokenizer((f.text for f in train_files), config.vocab_size)
        save_hf_tokenizer(tokenizer, out, config.context_length)
    (out / SPLIT_FILE).write_text(json.dumps({"held_out": [f.rel for f in held_files]}, indent=0))
    train_chunks = file_chunks(train_files, tokenizer, config.block_size)
    val_chunks = file_chunks(held_files, tokenizer, config.block_size)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    torch.manual_seed(config.seed)
    model = build_model(config, tokenizer.get_vocab_size()).to(device)
    print(f"model: Llama, {sum(p.numel() for p in model.parameters()) / 1e6:.1f}M parameters, "
          f"{config.n_layer} layers x {config.d_model}, context {config.context_length}; device {device}")
    train(model, PackedBatches(train_chunks, tokenizer, config), PackedBatches(val_chunks, tokenizer, config, 1),
          config, out, resume=args.resume)
    model.save_pretrained(out, safe_serialization=True)
    print(f"saved checkpoint to {out} — export it with `codegen-train export {out} --out MODEL_DIR`")
    return 0
