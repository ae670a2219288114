"""Side by side with the peers: our ONNX runtime vs llama.cpp vs PyTorch eager on the same weights, in one run.

    bash bench/setup_peers.sh                 # once: llama-cpp-python (+ its server) built from source, the GGUF converter
    python bench/peers.py                     # the default model (bench/stdlib-4m/hf) and a random ~100M-parameter Llama
    python bench/peers.py --hf-dir DIR        # any Llama checkpoint instead of the default model
    python bench/peers.py --random-llama 6x192 --no-scaling --repeats 2   # quick run on a small random Llama

The same checkpoint is exported with `codegen-train export --quantize none|int8` and converted to GGUF (f32, f16,
q8_0) with llama.cpp's own convert_hf_to_gguf.py; every engine gets the same token ids and runs in its own
subprocess (peak RSS is its own), with the same number of threads; the engines stay loaded and take turns, one round
of every measurement each, so that a machine whose speed drifts (a shared VM) slows every row alike. Before timing,
llama.cpp f32 must give the same greedy tokens as our fp32 runtime. Columns: prefill tokens/s at 512 and 2,048
tokens (capped at the context length), decode tokens/s after a 512-token prompt, first token after appending 1-5
tokens to a cached long prompt (llama.cpp's prefix match in its context vs our KV prefix reuse), peak RSS; each cell
is median [min-max] over the repeats with its ratio to our int8 runtime. Then the keystroke-typing scenario of
bench/server_latency.py against our server and against llama-cpp-python's OpenAI-compatible server
(`/v1/completions`, the same FIM prompt), and a CUDA section that runs only where a CUDA device is present.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import ROOT, WORK_DIR, build_random_llama, code_token_ids, exported, summary  # noqa: E402

LLAMA_CPP_PYTHON_VERSION = "0.3.36"
PEERS_PYTHON = ROOT / "bench" / ".venv-peers" / "bin" / "python"
CONVERTER_DIR = ROOT / ".cache" / "peers" / f"llama_cpp_python-{LLAMA_CPP_PYTHON_VERSION}" / "vendor" / "llama.cpp"
SETUP_HINT = "run `bash bench/setup_peers.sh` first"
SHORT_PROMPT = 512
LONG_PROMPT = 2048
APPENDED_MAX = 5
PARITY_PROMPT = 128
PARITY_TOKENS = 16
SETTLE_S = 0.2  # pause before each engine's turn: the previous engine's worker threads stop spinning
BASELINE = "our runtime int8"


# ----------------------------------------------------------------------------------------------------------------
# Engines: each runs inside a worker subprocess and offers the same four operations on token ids.


class OurRuntime:
    """model.load + the runtime's own decoding loop (model.generate.run), fed token ids; `lookup=False` turns its
    prompt lookup (model/lookup.py) off: one model run per generated token."""

    def __init__(self, path: str, threads: int, device: str = "cpu", lookup: bool = True) -> None:
        import model
        from model.generate import Request, run
        from model.lookup import LOOKUP_TOKENS

        self._request, self._run = Request, run
        self._lookup_tokens = LOOKUP_TOKENS if lookup else 0
        self.model = model.load(path, device=device)

    def generate(self, tokens: list[int], new_tokens: int) -> tuple[list[int], float, float]:
        """Greedy, exactly `new_tokens` tokens (no end token): (ids, first token s, total s)."""
        request = self._request(max_new_tokens=new_tokens, lookup_tokens=self._lookup_tokens)
        generation = self._run(self.model.decoder, self.model.tokenizer, tokens, frozenset(), request)
        return generation.token_ids, generation.first_token_s, generation.total_s

    def forget(self) -> None:
        self.model.decoder.cache.clear()

    def extend(self, cached: list[int], appended: list[list[int]]) -> list[float]:
        """First-token seconds for `cached + each appended`, each time with exactly `cached` in the prefix cache."""
        decoder = self.model.decoder
        self.forget()
        _, past, _ = decoder.start(cached)
        seconds = []
        for tokens in appended:
            decoder.cache.clear()
            decoder.remember(past)
            seconds.append(self.generate(cached + tokens, 1)[1])
        return seconds


class TorchEager:
    """transformers' model forward in eager mode with a DynamicCache, greedy, last-position logits only."""

    def __init__(self, path: str, threads: int, dtype: str = "float32", device: str = "cpu") -> None:
        import torch
        from transformers import AutoModelForCausalLM, DynamicCache

        torch.set_num_threads(threads)
        self._torch, self._new_cache, self._device = torch, DynamicCache, device
        self.model = AutoModelForCausalLM.from_pretrained(path, dtype=getattr(torch, dtype)).to(device).eval()

    def _forward(self, tokens: list[int], cache) -> int:
        ids = self._torch.tensor([tokens], device=self._device)
        output = self.model(input_ids=ids, past_key_values=cache, use_cache=True, logits_to_keep=1)
        return int(output.logits[0, -1].argmax())  # int() waits for the device

    def generate(self, tokens: list[int], new_tokens: int) -> tuple[list[int], float, float]:
        with self._torch.inference_mode():
            started = time.perf_counter()
            cache = self._new_cache()
            ids = [self._forward(tokens, cache)]
            first = time.perf_counter() - started
            while len(ids) < new_tokens:
                ids.append(self._forward(ids[-1:], cache))
        return ids, first, time.perf_counter() - started

    def forget(self) -> None:
        """Nothing is kept between calls."""

    def extend(self, cached: list[int], appended: list[list[int]]) -> list[float]:
        seconds = []
        with self._torch.inference_mode():
            cache = self._new_cache()
            self._forward(cached, cache)
            for tokens in appended:
                cache.crop(len(cached))
                started = time.perf_counter()
                self._forward(tokens, cache)
                seconds.append(time.perf_counter() - started)
        return seconds


class LlamaCpp:
    """llama-cpp-python's Llama (in-context prefix match, greedy sampler), fed token ids."""

    def __init__(self, path: str, threads: int, context_length: int, extra_buffer_types: bool = True, gpu_layers: int = 0) -> None:
        llama_cpp = llama_cpp_module(extra_buffer_types)
        self.llm = llama_cpp.Llama(
            model_path=path, n_ctx=context_length, n_threads=threads, n_threads_batch=threads, n_gpu_layers=gpu_layers, verbose=False,
        )

    def _tokens(self, tokens: list[int]):
        return self.llm.generate(tokens, top_k=1, temp=0.0, repeat_penalty=1.0)

    def generate(self, tokens: list[int], new_tokens: int) -> tuple[list[int], float, float]:
        started = time.perf_counter()
        ids, first = [], 0.0
        for token in self._tokens(tokens):
            first = first or time.perf_counter() - started
            ids.append(token)
            if len(ids) >= new_tokens:
                break
        return ids, first, time.perf_counter() - started

    def forget(self) -> None:
        self.llm.reset()

    def extend(self, cached: list[int], appended: list[list[int]]) -> list[float]:
        """Each request shares exactly `cached` with the previous one (the appended runs start with different tokens)."""
        self.forget()
        self.generate(cached, 1)
        return [self.generate(cached + tokens, 1)[1] for tokens in appended]


def llama_cpp_module(extra_buffer_types: bool):
    """`llama_cpp`, with weight repacking into extra buffer types turned off when asked (CPUs where repacking fails)."""
    try:
        import llama_cpp
    except ImportError as error:
        raise SystemExit(f"llama_cpp is not importable ({error}) — {SETUP_HINT}") from error
    if not extra_buffer_types:
        defaults = llama_cpp.llama_cpp.llama_model_default_params

        def without_extra_buffer_types():
            params = defaults()
            params.use_extra_bufts = False
            return params

        llama_cpp.llama_cpp.llama_model_default_params = without_extra_buffer_types
    return llama_cpp


ENGINES = {"ours": OurRuntime, "torch": TorchEager, "llama.cpp": LlamaCpp}


def open_engine(spec: dict):
    options = dict(spec.get("options", {}))
    if spec["engine"] == "llama.cpp":
        options["context_length"] = spec["context_length"]
    return ENGINES[spec["engine"]](spec["path"], spec["threads"], **options)


def measure_round(engine, spec: dict) -> dict:
    """One round of timings: each prefill length once, one decode, the appended runs once."""
    ids = spec["ids"]
    prefill = {}
    for length in spec["prefill_lengths"]:
        engine.forget()
        prefill[str(length)] = length / engine.generate(ids[:length], 1)[1]
    engine.forget()
    _, first, total = engine.generate(ids[: spec["decode_prompt"]], spec["new_tokens"])
    decode = (spec["new_tokens"] - 1) / (total - first)
    return {"prefill": prefill, "decode": decode, "extend": engine.extend(ids[: spec["cached_length"]], spec["appended"])}


def peak_rss_mb() -> float:
    """This process's peak resident set since its exec (VmHWM; ru_maxrss would carry the parent's over exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def worker_main(spec_path: str) -> int:
    """`peers.py worker SPEC.json`: load one engine, print its greedy tokens, then answer each line of stdin
    (`round`: one round of timings; `rss`: peak RSS, then exit) with one JSON line."""
    spec = json.loads(Path(spec_path).read_text())
    started = time.perf_counter()
    engine = open_engine(spec)
    engine.forget()
    greedy = engine.generate(spec["ids"][: spec["parity_prompt"]], spec["parity_tokens"])[0]
    print(json.dumps({"load_s": time.perf_counter() - started, "greedy": greedy}), flush=True)
    for command in sys.stdin:
        if command.strip() == "round":
            print(json.dumps(measure_round(engine, spec)), flush=True)
        else:
            print(json.dumps({"peak_rss_mb": peak_rss_mb()}), flush=True)
            return 0
    return 0


# ----------------------------------------------------------------------------------------------------------------
# GGUF conversion with llama.cpp's own converter (run from the unpacked sdist, never copied into this repository).


def convert_main(hf_dir: str, outtype: str, outfile: str) -> int:
    """`peers.py convert HF_DIR OUTTYPE OUTFILE`: convert_hf_to_gguf.py, with the BPE pre-tokenizer falling back to
    `gpt-2` (our byte-level BPE splits like GPT-2; the converter only knows published vocabularies by hash)."""
    import runpy

    sys.path[:0] = [str(CONVERTER_DIR), str(CONVERTER_DIR / "gguf-py")]
    from conversion.base import TextModel

    recognised = TextModel.get_vocab_base_pre

    def with_gpt2_fallback(self, tokenizer) -> str:
        try:
            return recognised(self, tokenizer)
        except NotImplementedError:
            return "gpt-2"

    TextModel.get_vocab_base_pre = with_gpt2_fallback
    sys.argv = ["convert_hf_to_gguf.py", hf_dir, "--outtype", outtype, "--outfile", outfile]
    runpy.run_path(str(CONVERTER_DIR / "convert_hf_to_gguf.py"), run_name="__main__")
    return 0


def gguf(hf_dir: Path, outtype: str, out_root: Path) -> Path:
    """The checkpoint as GGUF `outtype` (f32 | f16 | q8_0), converted once and cached."""
    out = out_root / f"model-{outtype}.gguf"
    if not out.is_file():
        if not (CONVERTER_DIR / "convert_hf_to_gguf.py").is_file():
            raise SystemExit(f"llama.cpp's converter is missing at {CONVERTER_DIR} — {SETUP_HINT}")
        print(f"converting {hf_dir} -> {out} ...", file=sys.stderr)
        partial = out.with_suffix(".partial")
        completed = subprocess.run([sys.executable, __file__, "convert", str(hf_dir), outtype, str(partial)], capture_output=True, text=True)
        if completed.returncode != 0:
            raise SystemExit(f"GGUF conversion of {hf_dir} to {outtype} failed:\n{completed.stderr[-3000:]}")
        partial.rename(out)
    return out


# ----------------------------------------------------------------------------------------------------------------
# The benchmark: prepare the weights, run one worker per row, print the tables.


@dataclass
class Weights:
    """One checkpoint in every format the rows need."""

    name: str
    hf_dir: Path
    onnx: dict[str, Path] = field(default_factory=dict)  # "none" | "int8" | "fp16" -> model directory
    gguf: dict[str, Path] = field(default_factory=dict)  # "f32" | "f16" | "q8_0" -> file
    context_length: int = 0


@dataclass
class Row:
    name: str
    spec: dict
    result: dict | None = None
    note: str = ""


def cache_dir(hf_dir: Path, work_dir: Path) -> Path:
    """Where the exports of `hf_dir` are cached: keyed by its path and its weight files' sizes and times."""
    stamp = [str(hf_dir.resolve())] + [f"{p.name}:{p.stat().st_size}:{p.stat().st_mtime_ns}" for p in sorted(hf_dir.glob("*.safetensors"))]
    return work_dir / "peers" / f"{hf_dir.parent.name}-{hashlib.sha256('|'.join(stamp).encode()).hexdigest()[:10]}"


def prepare(name: str, hf_dir: Path, work_dir: Path, cuda: bool) -> Weights:
    from model.manifest import read_verified

    out_root = cache_dir(hf_dir, work_dir)
    weights = Weights(name, hf_dir)
    for quantize in ("none", "int8") + (("fp16",) if cuda else ()):
        weights.onnx[quantize] = exported(hf_dir, quantize, out_root)
    for outtype in ("f32", "f16", "q8_0"):
        weights.gguf[outtype] = gguf(hf_dir, outtype, out_root)
    weights.context_length = read_verified(weights.onnx["none"]).context_length
    return weights


def appended_runs(continuation: list[int], count: int = APPENDED_MAX) -> list[list[int]]:
    """Runs of 1..count tokens taken from `continuation`, each starting with a token no earlier run starts with (so a
    prefix-matching engine keeps exactly the cached prompt between requests)."""
    runs, firsts, start = [], set(), 0
    for length in range(1, count + 1):
        while continuation[start] in firsts:
            start += 1
        runs.append(continuation[start : start + length])
        firsts.add(continuation[start])
        start += length
    return runs


def prompt_lengths(context_length: int) -> tuple[int, int]:
    """(short, long) prompt lengths: 512 and 2,048 tokens, capped to leave room for the appended tokens."""
    room = context_length - APPENDED_MAX - 3
    return min(SHORT_PROMPT, room), min(LONG_PROMPT, room)


def base_spec(weights: Weights, args: argparse.Namespace, threads: int) -> dict:
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(weights.onnx["none"] / "tokenizer.json"))
    short, long = prompt_lengths(weights.context_length)
    ids = code_token_ids(tokenizer, long + 200)
    if len(ids) < long + 100:
        raise SystemExit(f"the code prompt has only {len(ids)} tokens; need {long + 100}")
    return {
        "ids": ids[:long], "threads": threads, "context_length": weights.context_length,
        "prefill_lengths": sorted({short, long}), "decode_prompt": short, "new_tokens": args.new_tokens,
        "cached_length": long - APPENDED_MAX - 15, "appended": appended_runs(ids[long - APPENDED_MAX - 15 :]),
        "parity_prompt": PARITY_PROMPT, "parity_tokens": PARITY_TOKENS,
    }


class Worker:
    """One row's engine in its own subprocess (project venv, or the peers venv for llama.cpp), kept for the whole
    table so that its rounds can be interleaved with the other rows'."""

    def __init__(self, row: Row, python: Path) -> None:
        self.row = row
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as spec_file:
            json.dump(row.spec, spec_file)
        self._spec_path = spec_file.name
        self._stderr = tempfile.TemporaryFile("w+")
        self._process = subprocess.Popen([str(python), __file__, "worker", self._spec_path], stdin=subprocess.PIPE,
                                         stdout=subprocess.PIPE, stderr=self._stderr, text=True)

    def answer(self, command: str | None = None) -> dict:
        """Send `command` (None: only read the next line) and read the worker's JSON reply."""
        if command is not None:
            self._process.stdin.write(command + "\n")
            self._process.stdin.flush()
        line = self._process.stdout.readline()
        if not line:
            self._process.wait()
            self._stderr.seek(0)
            raise SystemExit(f"{self.row.name} failed (exit {self._process.returncode}):\n{self._stderr.read()[-3000:]}")
        return json.loads(line)

    def close(self) -> None:
        if self._process.poll() is None:
            self._process.kill()
        self._process.wait()
        self._stderr.close()
        os.unlink(self._spec_path)


def measure_rows(rows: list[Row], repeats: int, python: Callable[[Row], Path]) -> None:
    """Fill each row's result: greedy tokens, `repeats` rounds of timings, peak RSS. Every engine stays loaded and the
    rounds go round-robin over the rows (after one unrecorded warm-up round each), so a machine whose speed drifts
    during the run slows every row alike instead of whichever ran last."""
    workers = []
    try:
        for row in rows:
            print(f"  {row.name} ...", file=sys.stderr, flush=True)
            workers.append(Worker(row, python(row)))
            row.result = {**workers[-1].answer(), "prefill": {}, "decode": [], "extend": []}
        for round_index in range(repeats + 1 if repeats else 0):  # repeats=0: greedy tokens only, no timing
            for worker in workers[round_index % len(workers):] + workers[: round_index % len(workers)]:
                time.sleep(SETTLE_S)
                timings = worker.answer("round")
                if round_index == 0:
                    continue
                result = worker.row.result
                for length, rate in timings["prefill"].items():
                    result["prefill"].setdefault(length, []).append(rate)
                result["decode"].append(timings["decode"])
                result["extend"] += timings["extend"]
        for worker in workers:
            worker.row.result.update(worker.answer("rss"))
    finally:
        for worker in workers:
            worker.close()


def native_bf16() -> bool:
    """Whether the CPU computes bf16 natively (AVX512-BF16 or AMX); emulated bf16 is slower than fp32, not a peer."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def cpu_rows(weights: Weights, spec: dict, extra_buffer_types: bool = True) -> list[Row]:
    def row(name: str, engine: str, path: Path, **options) -> Row:
        return Row(name, {**spec, "engine": engine, "path": str(path), "options": options})

    rows = [row("PyTorch eager fp32", "torch", weights.hf_dir)]
    if native_bf16():
        rows.append(row("PyTorch eager bf16", "torch", weights.hf_dir, dtype="bfloat16"))
    rows += [
        row("our runtime fp32", "ours", weights.onnx["none"]),
        row(BASELINE, "ours", weights.onnx["int8"]),
        row(BASELINE + ", no prompt lookup", "ours", weights.onnx["int8"], lookup=False),
        row("llama.cpp f16", "llama.cpp", weights.gguf["f16"]),
        row("llama.cpp q8_0", "llama.cpp", weights.gguf["q8_0"], extra_buffer_types=extra_buffer_types),
    ]
    return rows


def python_for(row: Row) -> Path:
    return PEERS_PYTHON if row.spec["engine"] == "llama.cpp" else Path(sys.executable)


def check_parity(weights: Weights, spec: dict) -> list[int]:
    """Our fp32 runtime's greedy tokens, after checking that llama.cpp f32 gives the same (SystemExit otherwise)."""
    rows = [Row("parity: our runtime fp32", {**spec, "engine": "ours", "path": str(weights.onnx["none"])}),
            Row("parity: llama.cpp f32", {**spec, "engine": "llama.cpp", "path": str(weights.gguf["f32"])})]
    measure_rows(rows, 0, python_for)
    ours, theirs = (row.result for row in rows)
    if ours["greedy"] != theirs["greedy"]:
        raise SystemExit(
            f"{weights.name}: llama.cpp f32 and our fp32 runtime disagree on greedy tokens "
            f"({ours['greedy']} vs {theirs['greedy']}) — the GGUF is not the same model; check the conversion"
        )
    print(f"  parity: llama.cpp f32 = our fp32 runtime on {len(ours['greedy'])} greedy tokens", file=sys.stderr)
    return ours["greedy"]


def ratio_cell(values: list[float], baseline: list[float] | None, scale: float = 1.0, digits: int = 0, faster_is_lower: bool = False) -> str:
    """`median [min-max] (ratio)`; the ratio says how many times faster (or, for memory, bigger) than the baseline."""
    if not values:
        return "-"
    cell = summary(values, scale, digits)
    if baseline:
        ratio = statistics.median(baseline) / statistics.median(values) if faster_is_lower else statistics.median(values) / statistics.median(baseline)
        cell += f" ({ratio:.2f}x)"
    return cell


def cpu_table(rows: list[Row], greedy: list[int], lengths: list[int], context_length: int) -> str:
    base = next(row.result for row in rows if row.name == BASELINE)
    short, long = lengths[0], lengths[-1]
    long_label = f"prefill {long} tok/s" + (" (context cap)" if long < LONG_PROMPT else "")
    lines = [
        f"| engine | greedy = our fp32 | prefill {short} tok/s | {long_label} | decode tok/s | first token after +1-5 tokens, ms | peak RSS MB |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in rows:
        result = row.result
        same = sum(a == b for a, b in zip(result["greedy"], greedy))
        lines.append(
            f"| {row.name} | {same}/{len(greedy)} "
            f"| {ratio_cell(result['prefill'][str(short)], base['prefill'][str(short)])} "
            f"| {ratio_cell(result['prefill'][str(long)], base['prefill'][str(long)])} "
            f"| {ratio_cell(result['decode'], base['decode'], digits=1)} "
            f"| {ratio_cell(result['extend'], base['extend'], scale=1000, digits=1, faster_is_lower=True)} "
            f"| {ratio_cell([result['peak_rss_mb']], [base['peak_rss_mb']])} |"
        )
    return "\n".join(lines)


def benchmark_weights(weights: Weights, args: argparse.Namespace, threads: int) -> str:
    spec = base_spec(weights, args, threads)
    greedy = check_parity(weights, spec)
    rows = cpu_rows(weights, spec, not args.no_extra_bufts)
    measure_rows(rows, args.repeats, python_for)
    short, long = spec["prefill_lengths"][0], spec["prefill_lengths"][-1]
    return (
        f"### {weights.name}: {weights.hf_dir}\n\n"
        f"context {weights.context_length}; prefill {short} and {long} tokens; decode {args.new_tokens} tokens after {short}; "
        f"first token after appending 1-5 tokens to a cached {spec['cached_length']}-token prompt; {args.repeats} repeats; "
        f"{threads} threads for every engine. Cells: median [min-max] (x our int8 runtime: speed, >1 = faster; "
        f"for RSS, >1 = more memory).\n\n" + cpu_table(rows, greedy, spec["prefill_lengths"], weights.context_length)
    )


# ----------------------------------------------------------------------------------------------------------------
# End to end: keystrokes against our server (bench/server_latency.py) and llama-cpp-python's server.


def serve_main(gguf_path: str, port: str, threads: str, context_length: str, extra_buffer_types: str) -> int:
    """`peers.py serve GGUF PORT THREADS CONTEXT EXTRA_BUFTS`: llama-cpp-python's OpenAI-compatible server on 127.0.0.1."""
    llama_cpp_module(extra_buffer_types == "1")
    import uvicorn
    from llama_cpp.server.app import create_app
    from llama_cpp.server.settings import ModelSettings, ServerSettings

    app = create_app(
        server_settings=ServerSettings(host="127.0.0.1", port=int(port)),
        model_settings=[ModelSettings(model=gguf_path, n_ctx=int(context_length), n_threads=int(threads),
                                      n_threads_batch=int(threads), verbose=False)],
    )
    uvicorn.run(app, host="127.0.0.1", port=int(port), log_level="warning")
    return 0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def post_json(connection, path: str, body: dict) -> dict:
    connection.request("POST", path, json.dumps(body), {"Content-Type": "application/json"})
    response = connection.getresponse()
    payload = response.read()
    if response.status != 200:
        raise SystemExit(f"llama.cpp server answered {response.status} on {path}: {payload[:300]!r}")
    return json.loads(payload)


def wait_until_serving(port: int, server: subprocess.Popen, timeout_s: float = 300) -> None:
    import http.client

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"llama.cpp server exited with {server.returncode}: {server.stderr.read()[-2000:]}")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("GET", "/v1/models")
            if connection.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.5)
    raise SystemExit(f"llama.cpp server did not answer on 127.0.0.1:{port} within {timeout_s:.0f} s")


def llama_server_typing(weights: Weights, source: str, max_tokens: int, threads: int, extra_buffer_types: str) -> dict:
    """The keystroke scenario sent to llama-cpp-python's `/v1/completions` with the FIM prompt our server builds."""
    import http.client

    import model
    from bench.server_latency import INSERT_BEFORE, TYPED
    from codegen_lsp.engine import CompletionRequest, prepare
    from codegen_lsp.settings import parse_settings

    loaded = model.load(weights.onnx["int8"], device="cpu")  # only for its tokenizer-based prompt budget
    settings, _ = parse_settings({"maxTokens": max_tokens})
    port = free_port()
    server = subprocess.Popen(
        [str(PEERS_PYTHON), __file__, "serve", str(weights.gguf["q8_0"]), str(port), str(threads), str(weights.context_length), extra_buffer_types],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    try:
        wait_until_serving(port, server)
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)

        def complete(text: str, offset: int) -> tuple[float, str]:
            prompt, _ = prepare(loaded, CompletionRequest(text, offset, "python", "textwrap.py"), settings)
            started = time.perf_counter()
            answer = post_json(connection, "/v1/completions", {
                "prompt": prompt, "max_tokens": max_tokens, "temperature": 0.0, "stop": list(loaded.manifest.stop_tokens)})
            return (time.perf_counter() - started) * 1000, answer["choices"][0]["text"]

        text, offset = source, source.index(INSERT_BEFORE)
        cold_ms, first = complete(text, offset)
        latencies = []
        for char in TYPED:
            text, offset = text[:offset] + char + text[offset:], offset + 1
            latencies.append(complete(text, offset)[0])
        return {"latencies": latencies, "cold_ms": cold_ms, "first": first, "generations": len(TYPED) + 1, "cache_hits": 0}
    finally:
        server.terminate()
        server.wait(timeout=30)


def typing_table(weights: Weights, max_tokens: int, threads: int, extra_buffer_types: bool) -> str:
    import asyncio
    import textwrap

    from bench.server_latency import percentile, run

    source = Path(textwrap.__file__).read_text(encoding="utf-8")
    results = {}
    for name, debug in (("our server (int8)", {}), ("our server (int8), no completion cache", {"completionCache": False})):
        print(f"  typing: {name} ...", file=sys.stderr, flush=True)
        results[name] = asyncio.run(run(source, {"model": str(weights.onnx["int8"]), "maxTokens": max_tokens, "debug": debug}))
    print("  typing: llama-cpp-python server (q8_0) ...", file=sys.stderr, flush=True)
    results["llama-cpp-python server (q8_0), /v1/completions"] = llama_server_typing(weights, source, max_tokens, threads, "1" if extra_buffer_types else "0")
    base = percentile(next(iter(results.values()))["latencies"], 0.5)
    lines = [
        f"### keystrokes: {weights.name}, typing {len(results[next(iter(results))]['latencies'])} characters into textwrap.py, maxTokens {max_tokens}\n",
        "| server | p50 ms | p95 ms | first request ms | model runs | p50 vs our server |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for name, result in results.items():
        p50, p95 = percentile(result["latencies"], 0.5), percentile(result["latencies"], 0.95)
        lines.append(f"| {name} | {p50:.1f} | {p95:.1f} | {result['cold_ms']:.0f} | {result['generations']} | {p50 / base:.2f}x |")
    return "\n".join(lines)


# ----------------------------------------------------------------------------------------------------------------
# CUDA: runs only where a CUDA device is present.


def cuda_available() -> str | None:
    """None when both onnxruntime and PyTorch can use CUDA, else why not."""
    import onnxruntime

    if "CUDAExecutionProvider" not in onnxruntime.get_available_providers():
        return "this onnxruntime has no CUDAExecutionProvider"
    import torch

    return None if torch.cuda.is_available() else "PyTorch sees no CUDA device"


def cuda_section(weights: Weights, spec: dict, repeats: int) -> str:
    """CUDA execution provider fp16 vs PyTorch CUDA fp16 on the same weights, and the decode bandwidth limit."""
    import torch

    rows = [
        Row("PyTorch CUDA fp16", {**spec, "engine": "torch", "path": str(weights.hf_dir), "options": {"dtype": "float16", "device": "cuda"}}),
        Row(BASELINE.replace("int8", "fp16") + " (CUDA EP)", {**spec, "engine": "ours", "path": str(weights.onnx["fp16"]), "options": {"device": "cuda"}}),
    ]
    measure_rows(rows, repeats, python_for)
    block = torch.empty(1 << 28, dtype=torch.uint8, device="cuda")
    torch.cuda.synchronize()
    started = time.perf_counter()
    for _ in range(20):
        block.clone()
    torch.cuda.synchronize()
    bandwidth = 2 * block.numel() * 20 / (time.perf_counter() - started)  # each clone reads and writes the block
    model_bytes = (weights.onnx["fp16"] / "model.onnx").stat().st_size + sum(p.stat().st_size for p in weights.onnx["fp16"].glob("*.data"))
    lines = [
        f"### CUDA ({torch.cuda.get_device_name()}): {weights.name}\n",
        "| engine | prefill tok/s | decode tok/s | first token after +1-5 tokens, ms |", "| --- | --- | --- | --- |",
    ]
    for row in rows:
        result = row.result
        lines.append(f"| {row.name} | {summary(result['prefill'][str(spec['prefill_lengths'][-1])])} | "
                     f"{summary(result['decode'], digits=1)} | {summary(result['extend'], 1000, 2)} |")
    lines.append(f"| physical limit: {model_bytes / 1e6:.0f} MB of weights / {bandwidth / 1e9:.0f} GB/s measured | - | {bandwidth / model_bytes:.0f} | - |")
    return "\n".join(lines)


# ----------------------------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hf-dir", type=Path, help="checkpoint to compare on (default: bench/stdlib-4m/hf)")
    parser.add_argument("--random-llama", metavar="LAYERSxHIDDEN", help="compare on a random Llama of this shape instead (context 1024)")
    parser.add_argument("--no-scaling", action="store_true", help="skip the random ~100M-parameter Llama (12x768)")
    parser.add_argument("--no-typing", action="store_true", help="skip the end-to-end keystroke scenario")
    parser.add_argument("--repeats", type=int, default=5, help="rounds of timings per engine")
    parser.add_argument("--new-tokens", type=int, default=32)
    parser.add_argument("--max-tokens", type=int, default=16, help="maxTokens of the keystroke scenario")
    parser.add_argument("--threads", type=int, help="pin the run (every engine and server) to this many CPUs (default: all)")
    parser.add_argument("--no-extra-bufts", action="store_true",
                        help="q8_0 without weight repacking (use_extra_bufts=False), for CPUs where repacking fails")
    parser.add_argument("--work-dir", type=Path, default=WORK_DIR)
    return parser.parse_args(argv)


def checkpoints(args: argparse.Namespace) -> list[tuple[str, Path]]:
    if args.random_llama:
        layers, hidden = (int(part) for part in args.random_llama.lower().split("x"))
        chosen = [(f"random Llama {layers}x{hidden}", build_random_llama(args.work_dir, layers, hidden, 16384, context_length=1024))]
    else:
        hf_dir = args.hf_dir or ROOT / "bench" / "stdlib-4m" / "hf"
        if not (hf_dir / "config.json").is_file():
            raise SystemExit(f"no checkpoint at {hf_dir} — train the default model first, or pass --hf-dir / --random-llama 6x192")
        chosen = [("default model" if args.hf_dir is None else hf_dir.parent.name, hf_dir)]
    if not args.no_scaling:
        chosen.append(("random Llama 12x768 (~110M parameters)", build_random_llama(args.work_dir, 12, 768, 16384)))
    return chosen


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not PEERS_PYTHON.is_file():
        raise SystemExit(f"no peers venv at {PEERS_PYTHON} — {SETUP_HINT}")
    import onnxruntime

    from model.session import physical_core_count

    if args.threads:
        # Children inherit the affinity; our runtime sizes its thread pool from it, the others get `threads`.
        os.sched_setaffinity(0, sorted(os.sched_getaffinity(0))[: args.threads])
    threads = physical_core_count()
    cuda_missing = cuda_available()
    weights_sets = [prepare(name, hf_dir, args.work_dir, cuda_missing is None) for name, hf_dir in checkpoints(args)]
    load = os.getloadavg()[0]
    print(
        f"# peers: {platform.processor() or platform.machine()}, {os.cpu_count()} logical CPUs, {threads} threads per engine "
        f"(pinned to CPUs {sorted(os.sched_getaffinity(0))}), "
        f"load average {load:.1f} at start; onnxruntime {onnxruntime.__version__}, llama-cpp-python {LLAMA_CPP_PYTHON_VERSION}; "
        f"PyTorch bf16 row {'included' if native_bf16() else 'skipped: this CPU has no native bf16 (AVX512-BF16/AMX)'}\n"
    )
    for weights in weights_sets:
        print(f"{weights.name}:", file=sys.stderr)
        print(benchmark_weights(weights, args, threads) + "\n", flush=True)
    if not args.no_typing:
        print(typing_table(weights_sets[0], args.max_tokens, threads, not args.no_extra_bufts) + "\n", flush=True)
    if cuda_missing is None:
        for weights in weights_sets:
            print(cuda_section(weights, base_spec(weights, args, threads), args.repeats) + "\n", flush=True)
    else:
        print(f"CUDA section skipped: {cuda_missing}.")
    print(f"load average at the end {os.getloadavg()[0]:.1f} (above {threads} on this {os.cpu_count()}-CPU machine means other work "
          "shared the CPU: figures are contended)")
    return 0


COMMANDS = {"worker": worker_main, "convert": convert_main, "serve": serve_main}

if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] in COMMANDS:
        raise SystemExit(COMMANDS[sys.argv[1]](*sys.argv[2:]))
    raise SystemExit(main())
