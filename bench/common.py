"""Helpers shared by the benchmarks: random Llama checkpoints, cached exports, code prompts, median [min-max] cells.

Imports only the standard library at module level: bench/peers.py runs its llama.cpp workers in a separate venv.
"""

from __future__ import annotations

import hashlib
import statistics
import sys
import sysconfig
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORK_DIR = ROOT / ".cache" / "bench"


def summary(values: list[float], scale: float = 1.0, digits: int = 0) -> str:
    """`median [min-max]` of `values` times `scale`, or "-" when there are none."""
    if not values:
        return "-"
    median = statistics.median(values) * scale
    return f"{median:.{digits}f} [{min(values) * scale:.{digits}f}-{max(values) * scale:.{digits}f}]"


def build_random_llama(work_dir: Path, layers: int, hidden: int, vocab: int, context_length: int = 2048) -> Path:
    """A random-initialised Llama checkpoint with a byte-level BPE trained on the standard library (cached)."""
    suffix = "" if context_length == 2048 else f"-c{context_length}"
    hf_dir = work_dir / f"random-llama-{layers}x{hidden}-v{vocab}{suffix}" / "hf"
    if (hf_dir / "config.json").is_file():
        return hf_dir
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    from training.corpus import read_python_tree, stdlib_dir
    from training.tokenizer import EOS, save_hf_tokenizer, train_tokenizer

    print(f"building a random {layers}-layer/{hidden} Llama in {hf_dir} ...", file=sys.stderr)
    texts = [source.text for source in read_python_tree(stdlib_dir())[:400]]
    tokenizer = train_tokenizer(texts, vocab)
    config = LlamaConfig(
        vocab_size=tokenizer.get_vocab_size(), hidden_size=hidden, intermediate_size=hidden * 8 // 3,
        num_hidden_layers=layers, num_attention_heads=hidden // 64, num_key_value_heads=hidden // 64,
        max_position_embeddings=context_length, eos_token_id=tokenizer.token_to_id(EOS), bos_token_id=tokenizer.token_to_id(EOS),
    )
    torch.manual_seed(0)
    LlamaForCausalLM(config).save_pretrained(hf_dir)
    save_hf_tokenizer(tokenizer, hf_dir, context_length=context_length)
    return hf_dir


def export_code_version() -> str:
    """A hash of the code that shapes an export, so a cached export from older code is never measured."""
    from training.export import EXPORT_SOURCES

    digest = hashlib.sha256()
    for path in EXPORT_SOURCES:
        digest.update(path.read_bytes())
    return digest.hexdigest()[:10]


def exported(hf_dir: Path, quantize: str, out_root: Path | None = None) -> Path:
    """`codegen-train export HF_DIR --out OUT_ROOT/model-QUANTIZE-VERSION --quantize QUANTIZE`, cached (default root:
    next to HF_DIR; VERSION: export_code_version)."""
    out = (hf_dir.parent if out_root is None else out_root) / f"model-{quantize}-{export_code_version()}"
    if not (out / "manifest.json").is_file():
        from training.export import export_model

        print(f"exporting {hf_dir} -> {out} ({quantize}) ...", file=sys.stderr)
        export_model(hf_dir, out, quantize=quantize, keep_hf=False)
    return out


def code_prompt(tokenizer, tokens: int) -> str:
    """About `tokens` tokens (of a `tokenizers.Tokenizer`) of real Python source: the standard library's argparse, typing."""
    return tokenizer.decode(code_token_ids(tokenizer, tokens))


def code_token_ids(tokenizer, tokens: int) -> list[int]:
    """The first `tokens` token ids of real Python source (the standard library's argparse.py then typing.py)."""
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    text = "".join((stdlib / name).read_text(encoding="utf-8") for name in ("argparse.py", "typing.py"))
    return tokenizer.encode(text, add_special_tokens=False).ids[:tokens]
