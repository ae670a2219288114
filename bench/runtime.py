"""Runtime benchmark: time to first token and decode speed, PyTorch eager vs the ONNX runtime (cold, prefix reuse,
fp32 and int8), on one model in one run. Prints a markdown table of medians [min-max] and ratios against eager.

    python bench/runtime.py                       # builds and exports a random 12-layer/768 Llama (train extra)
    python bench/runtime.py --model-dir DIR ...   # one row group per model directory; eager from DIR/hf or --hf-dir

Targets (2-core CPU): decode >= 2x PyTorch eager; prefix-reuse first token >= 10x faster than cold at 1,500 tokens.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from dataclasses import dataclass, field
from typing import Callable
from pathlib import Path

import onnxruntime

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
# PyTorch's OpenMP threads sleep when idle, as the runtime's do (model.session): a fair fight on a busy machine.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import model  # noqa: E402
from model.cpu_load import allowed_cpus  # noqa: E402
from bench.common import build_random_llama, code_prompt, exported, summary  # noqa: E402

# Keystrokes appended one request at a time (each adds a few tokens to the previous prompt), as typing does.
TYPED = "\n    def handle(self, request):\n        response = self.process(request.body)\n        return"


@dataclass
class Timing:
    """Per-repeat measurements of one configuration."""

    name: str
    first_token_s: list[float] = field(default_factory=list)
    decode_tokens_per_s: list[float] = field(default_factory=list)
    computed_prompt_tokens: list[int] = field(default_factory=list)

    def add(self, first_token_s: float, decoded_tokens: int, decode_s: float, computed_prompt_tokens: int) -> None:
        self.first_token_s.append(first_token_s)
        if decoded_tokens > 0:
            self.decode_tokens_per_s.append(decoded_tokens / decode_s)
        self.computed_prompt_tokens.append(computed_prompt_tokens)

    def add_generation(self, generation: model.Generation) -> None:
        self.add(
            generation.first_token_s, len(generation.token_ids) - 1, generation.total_s - generation.first_token_s,
            generation.prompt_tokens - generation.reused_tokens,
        )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model-dir", type=Path, action="append", help="model directory to measure (repeatable)")
    parser.add_argument("--hf-dir", type=Path, help="checkpoint for PyTorch eager (default: the first model's hf/)")
    parser.add_argument("--random-llama", action="store_true", help="build and export a random Llama (the default without --model-dir)")
    parser.add_argument("--layers", type=int, default=12)
    parser.add_argument("--hidden", type=int, default=768)
    parser.add_argument("--vocab", type=int, default=16384, help="tokenizer size of the random Llama")
    parser.add_argument("--work-dir", type=Path, default=Path(__file__).resolve().parents[1] / ".cache" / "bench")
    parser.add_argument("--prompt-tokens", type=int, default=1500)
    parser.add_argument("--new-tokens", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3, help="cold runs per configuration (prefix reuse: 5 keystrokes)")
    parser.add_argument("--device", default="cpu", choices=("auto", "cpu", "cuda"))
    parser.add_argument("--no-eager", action="store_true", help="skip PyTorch eager")
    return parser.parse_args(argv)


def eager_runner(hf_dir: Path, ids: list[int], new_tokens: int) -> Callable[[Timing], None]:
    """A function timing one transformers `generate` (greedy, exactly `new_tokens`) per token through a streamer."""
    import torch
    from transformers import AutoModelForCausalLM

    torch.set_num_threads(len(allowed_cpus()))
    reference = AutoModelForCausalLM.from_pretrained(hf_dir, dtype=torch.float32).eval()
    input_ids = torch.tensor([ids])

    class Stamps:
        """Streamer protocol: put() is called with the prompt, then once per generated token."""

        def __init__(self) -> None:
            self.times: list[float] = []

        def put(self, value) -> None:
            self.times.append(time.perf_counter())

        def end(self) -> None:
            pass

    def run(timing: Timing) -> None:
        stamps = Stamps()
        with torch.inference_mode():
            started = time.perf_counter()
            reference.generate(
                input_ids, attention_mask=torch.ones_like(input_ids), max_new_tokens=new_tokens, min_new_tokens=new_tokens,
                do_sample=False, streamer=stamps, pad_token_id=reference.config.eos_token_id,
            )
        generated = stamps.times[1:]
        timing.add(generated[0] - started, len(generated) - 1, generated[-1] - generated[0], len(ids))

    return run


def runtime_label(loaded: model.Model) -> str:
    quantization = loaded.manifest.quantization
    return f"runtime {'fp32' if quantization == 'none' else quantization}"


def measure(runs: list[tuple[Timing, Callable[[Timing], None]]], repeats: int) -> None:
    """Round-robin over the configurations, so that a change in background load hits all of them alike."""
    for repeat in range(repeats):
        for timing, run in runs:
            print(f"{timing.name}: run {repeat + 1}/{repeats} ...", file=sys.stderr)
            run(timing)


def cold_runner(loaded: model.Model, prompt: str, new_tokens: int) -> Callable[[Timing], None]:
    """A function timing one generation from an empty prefix cache."""

    def run(timing: Timing) -> None:
        loaded.decoder.cache.clear()
        timing.add_generation(loaded.generate_detailed(prompt, max_new_tokens=new_tokens))

    return run


def typing_runner(loaded: model.Model, prompt: str, new_tokens: int) -> Callable[[Timing], None]:
    """A function timing the next keystroke: a few typed characters appended to the previous request's prompt."""
    loaded.generate(prompt, max_new_tokens=new_tokens)  # the request before the first keystroke (not timed)
    typed = iter(range(4, len(TYPED), 4))

    def run(timing: Timing) -> None:
        timing.add_generation(loaded.generate_detailed(prompt + TYPED[: next(typed)], max_new_tokens=new_tokens))

    return run


def table(timings: list[Timing], baseline: Timing | None) -> str:
    """Markdown table: medians [min-max] and ratios against PyTorch eager."""
    lines = [
        "| configuration | prompt tokens computed | first token ms | decode tok/s | first token vs eager | decode vs eager |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for timing in timings:
        ttft_ratio = decode_ratio = "-"
        if baseline is not None and timing.first_token_s and timing.decode_tokens_per_s:
            ttft_ratio = f"{statistics.median(baseline.first_token_s) / statistics.median(timing.first_token_s):.1f}x"
            decode_ratio = f"{statistics.median(timing.decode_tokens_per_s) / statistics.median(baseline.decode_tokens_per_s):.2f}x"
        lines.append(
            f"| {timing.name} | {statistics.median(timing.computed_prompt_tokens):.0f} | {summary(timing.first_token_s, 1000)} "
            f"| {summary(timing.decode_tokens_per_s, digits=1)} | {ttft_ratio} | {decode_ratio} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.model_dir and not args.random_llama:
        model_dirs, hf_dir = args.model_dir, args.hf_dir or args.model_dir[0] / "hf"
    else:
        hf_dir = args.hf_dir or build_random_llama(args.work_dir, args.layers, args.hidden, args.vocab)
        model_dirs = [exported(hf_dir, "none"), exported(hf_dir, "int8")]
    loaded_models = [model.load(path, device=args.device) for path in model_dirs]
    prompt = code_prompt(loaded_models[0].tokenizer, args.prompt_tokens)
    ids = loaded_models[0].tokenize(prompt)

    runs, baseline = [], None
    if not args.no_eager and (hf_dir / "config.json").is_file():
        baseline = Timing("PyTorch eager fp32")
        runs.append((baseline, eager_runner(hf_dir, ids, args.new_tokens)))
    cold = [Timing(f"{runtime_label(loaded)} cold") for loaded in loaded_models]
    runs += [(timing, cold_runner(loaded, prompt, args.new_tokens)) for timing, loaded in zip(cold, loaded_models)]
    measure(runs, args.repeats)
    reuse = [Timing(f"{runtime_label(loaded)} prefix reuse") for loaded in loaded_models]
    measure([(timing, typing_runner(loaded, prompt, args.new_tokens)) for timing, loaded in zip(reuse, loaded_models)], 5)

    timings = ([baseline] if baseline else []) + [t for pair in zip(cold, reuse) for t in pair]
    reuse_lines = [
        f"- {warm.name}: first token {statistics.median(cold_timing.first_token_s) / statistics.median(warm.first_token_s):.0f}x "
        "faster than cold (target >= 10x)"
        for cold_timing, warm in zip(cold, reuse)
    ]
    first = loaded_models[0].manifest
    print(
        f"model: {first.architecture} from {hf_dir}; prompt {len(ids)} tokens, {args.new_tokens} new tokens; "
        f"device {loaded_models[0].device}; onnxruntime {onnxruntime.__version__}; {platform.processor() or platform.machine()}, "
        f"{len(allowed_cpus())} cores\n"
    )
    print(table(timings, baseline))
    print()
    print("\n".join(reuse_lines))
    if baseline is not None:
        best = max(statistics.median(t.decode_tokens_per_s) for t in timings[1:] if t.decode_tokens_per_s)
        print(f"- best runtime decode {best / statistics.median(baseline.decode_tokens_per_s):.2f}x PyTorch eager (target >= 2x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
