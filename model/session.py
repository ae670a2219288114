"""onnxruntime session creation (providers, threads) and the decoder graph's inputs and outputs."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import onnxruntime as ort

from model.cpu_load import allowed_cpus
from model.errors import ModelError

log = logging.getLogger(__name__)

CPU = "CPUExecutionProvider"
CUDA = "CUDAExecutionProvider"
DEVICES = ("auto", "cpu", "cuda")
_PAST_NAME = re.compile(r"^past_key_values\.(\d+)\.(key|value|key_value)$")
# Largest model.onnx that gets second sessions for its decode steps and for idle machines (create_step_session,
# create_spinning_session).
SMALL_MODEL_MAX_BYTES = 32 << 20
_ONNX_TYPES = {"tensor(float)": np.float32, "tensor(float16)": np.float16, "tensor(int64)": np.int64, "tensor(int32)": np.int32}


def choose_providers(available: Sequence[str], device: str) -> list[str]:
    """Execution providers for a device setting given onnxruntime's available providers."""
    if device not in DEVICES:
        raise ModelError(f"unknown device {device!r}; use one of {', '.join(DEVICES)}")
    if device == "cpu":
        return [CPU]
    if CUDA in available:
        return [CUDA, CPU]
    if device == "cuda":
        raise ModelError(
            "device 'cuda' requested but this onnxruntime has no CUDA execution provider — "
            "install onnxruntime-gpu (see README, GPU) or set device to auto/cpu"
        )
    return [CPU]


def physical_core_count() -> int:
    """Physical cores this process may run on (hyper-threads counted once); falls back to the logical count."""
    cores = set()
    for cpu in allowed_cpus():
        topology = Path(f"/sys/devices/system/cpu/cpu{cpu}/topology")
        try:
            cores.add(((topology / "physical_package_id").read_text().strip(), (topology / "core_id").read_text().strip()))
        except OSError:
            cores.add(("cpu", str(cpu)))
    return max(1, len(cores))


_shared_cpu_arena = False


def share_cpu_arena() -> None:
    """Register one CPU memory arena with onnxruntime's environment (once per process) for sessions to share.

    A small model's sessions (main, one-thread step, spinning) would each grow their own arena to the largest run's
    scratch memory; sharing one, what a run frees serves the next run on any session (default model, 3 sessions,
    prefill and decode on each: peak RSS 124 -> 118 MB).
    """
    global _shared_cpu_arena
    if not _shared_cpu_arena:
        memory = ort.OrtMemoryInfo("Cpu", ort.OrtAllocatorType.ORT_ARENA_ALLOCATOR, 0, ort.OrtMemType.DEFAULT)
        ort.create_and_register_allocator(memory, ort.OrtArenaCfg(0, -1, -1, -1))  # onnxruntime's defaults
        _shared_cpu_arena = True


def session_options(threads: int | None = None, spinning: bool = False) -> ort.SessionOptions:
    """Options for one interactive request at a time: `threads` (default: all physical cores) inside ops, sequential
    graph, CPU memory from the process's shared arena (share_cpu_arena). Idle threads sleep, unless `spinning`: then
    they spin between the kernels of a run, and stop at its end."""
    share_cpu_arena()
    options = ort.SessionOptions()
    options.add_session_config_entry("session.use_env_allocators", "1")
    options.intra_op_num_threads = physical_core_count() if threads is None else threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    # Sleeping by default: the editor and the rest of the machine need the cores between ops, and spinning threads that
    # share their cores with other work run slower (see create_spinning_session).
    options.add_session_config_entry("session.intra_op.allow_spinning", "1" if spinning else "0")
    if spinning:
        options.add_session_config_entry("session.force_spinning_stop", "1")
    options.log_severity_level = 3
    return options


def create_session(
    onnx_path: Path,
    device: str = "auto",
    available: Sequence[str] | None = None,
    factory: Callable[..., ort.InferenceSession] = ort.InferenceSession,
) -> ort.InferenceSession:
    """An InferenceSession on the chosen providers; a CUDA session that fails to start falls back to CPU (logged)."""
    providers = choose_providers(ort.get_available_providers() if available is None else available, device)
    if providers[0] == CUDA:
        try:
            session = factory(str(onnx_path), sess_options=session_options(), providers=providers)
        except Exception as error:  # noqa: BLE001 - any CUDA start-up failure means: run on CPU instead
            log.warning("CUDA session for %s failed (%s); using CPU", onnx_path, error)
        else:
            if CUDA in session.get_providers():
                return session
            log.warning("onnxruntime could not start CUDA for %s (missing CUDA/cuDNN libraries?); using CPU", onnx_path)
    try:
        return factory(str(onnx_path), sess_options=session_options(), providers=[CPU])
    except Exception as error:  # noqa: BLE001 - onnxruntime raises several unrelated types for a bad graph
        raise ModelError(f"cannot load {onnx_path}: {error} — re-export the model with `codegen-train export`") from error


def create_step_session(
    onnx_path: Path,
    session: ort.InferenceSession,
    factory: Callable[..., ort.InferenceSession] = ort.InferenceSession,
) -> ort.InferenceSession | None:
    """A one-thread CPU session for the one-token decode steps of a small model on a multi-core CPU, else None (the
    steps run on `session`).

    A small model's step is dozens of kernels of a few microseconds each: waking sleeping worker threads for them costs
    more than it saves (default model, 2 cores: ~1.2 -> ~0.9 ms per token), while prefill still gains from every core.
    Larger models are bandwidth-bound, and their weights are not worth holding twice. Runs of up to 8 tokens (a token
    and its prompt-lookup guesses, a few typed characters) go there too: after 996 cached tokens 2 and 5 tokens took
    1,094 and 1,696 us on it vs 1,088 and 1,644 us on the main session (Intel AVX-512 machine), and they share the
    steps' kept binding (model.decoder.BoundRun).
    """
    return _small_model_session(onnx_path, session, session_options(threads=1), "one-thread step", factory)


def create_spinning_session(
    onnx_path: Path,
    session: ort.InferenceSession,
    factory: Callable[..., ort.InferenceSession] = ort.InferenceSession,
) -> ort.InferenceSession | None:
    """A CPU session on every physical core whose threads spin while a run lasts, for whole requests of a small model
    while no other process wants the cores (model.cpu_load.IdleCores), else None.

    Spinning saves the wake-ups between a small model's short kernels. Default model, 2 cores, idle machine: decode
    1,495 vs 1,227 tok/s for the one-thread steps, prefill of 1,016 tokens 19.6k vs 17.6k tok/s; beside a process that
    keeps one core busy a third of the time still 1,502 vs 1,330 tok/s; beside one that keeps a core busy all the time
    1,238 vs 1,450 tok/s and prefill 25% slower, which is what the idle check keeps it from.
    """
    return _small_model_session(onnx_path, session, session_options(spinning=True), "spinning", factory)


def _small_model_session(
    onnx_path: Path,
    session: ort.InferenceSession,
    options: ort.SessionOptions,
    kind: str,
    factory: Callable[..., ort.InferenceSession],
) -> ort.InferenceSession | None:
    """A second CPU session of `onnx_path` with `options` where `session` runs a small model on a multi-core CPU."""
    if session.get_providers()[0] != CPU or physical_core_count() == 1:
        return None
    if Path(onnx_path).stat().st_size > SMALL_MODEL_MAX_BYTES:
        return None
    try:
        return factory(str(onnx_path), sess_options=options, providers=[CPU])
    except Exception as error:  # noqa: BLE001 - the main session loaded; running on it is the fallback
        log.warning("%s session for %s failed (%s); running on the main session", kind, onnx_path, error)
        return None


@dataclass(frozen=True)
class PastInput:
    """One past key/value input of the graph and the output that returns its next value."""

    name: str
    present_name: str
    shape: tuple[int, ...]  # concrete dims, with 0 on the sequence axis (an empty cache)
    sequence_axis: int
    dtype: type


@dataclass(frozen=True)
class DecoderGraph:
    """What a text-generation-with-past graph expects: discovered from the session's metadata, fed by name.

    Two interfaces: optimum's (attention_mask/position_ids; each run returns new, longer `present` tensors) and the
    fused one of training/fused_graph.py (seqlens_k/total_sequence_length; `present` is the `past` buffer, updated in
    place, so the caller sizes the buffers and binds each present output to its past input).
    """

    input_ids_dtype: type
    has_attention_mask: bool
    has_position_ids: bool
    past: tuple[PastInput, ...]
    output_names: tuple[str, ...]
    shared_cache: bool = False
    has_logit_positions: bool = False  # logits only where asked (fused graphs), else at every position
    vocab_size: int | None = None  # the logits' last dimension, when the graph fixes it

    @classmethod
    def of(cls, session: ort.InferenceSession) -> DecoderGraph:
        """Read the graph's inputs; ModelError when it is not a decoder exported with past key/values."""
        inputs = {node.name: node for node in session.get_inputs()}
        output_nodes = {node.name: node for node in session.get_outputs()}
        outputs = set(output_nodes)
        past = tuple(sorted((_past_input(node, outputs) for node in inputs.values() if _PAST_NAME.match(node.name)), key=_layer_order))
        if "input_ids" not in inputs or "logits" not in outputs or not past:
            raise ModelError(
                "model.onnx is not a text-generation-with-past graph (needs input_ids, past_key_values.* and logits) — "
                "re-export with `codegen-train export`"
            )
        return cls(
            input_ids_dtype=_ONNX_TYPES[inputs["input_ids"].type],
            has_attention_mask="attention_mask" in inputs,
            has_position_ids="position_ids" in inputs,
            past=past,
            output_names=("logits", *(p.present_name for p in past)),
            shared_cache={"seqlens_k", "total_sequence_length"} <= inputs.keys(),
            has_logit_positions="logit_positions" in inputs,
            vocab_size=next((dim for dim in output_nodes["logits"].shape[-1:] if isinstance(dim, int)), None),
        )

    def empty_past(self, positions: int = 0) -> list[np.ndarray]:
        """Zeroed caches with room for `positions` (a zero-length cache for a first run of optimum's graphs)."""
        return [np.zeros(p.shape[: p.sequence_axis] + (positions,) + p.shape[p.sequence_axis + 1 :], dtype=p.dtype)
                for p in self.past]

    def feed(self, tokens: Sequence[int], past_length: int, all_logits: bool = False) -> dict[str, np.ndarray]:
        """The non-cache inputs for running `tokens` after `past_length` cached positions (batch of one), asking for
        the logits of the last token only unless `all_logits` (graphs without the choice return them all)."""
        ids = np.asarray([tokens], dtype=self.input_ids_dtype)
        feed = {"input_ids": ids}
        if self.has_logit_positions:
            feed["logit_positions"] = np.arange(0 if all_logits else len(tokens) - 1, len(tokens), dtype=np.int64)
        if self.shared_cache:
            total = past_length + len(tokens)
            feed["seqlens_k"] = np.asarray([total - 1], dtype=np.int32)
            feed["total_sequence_length"] = np.asarray(total, dtype=np.int32)
        if self.has_attention_mask:
            feed["attention_mask"] = np.ones((1, past_length + len(tokens)), dtype=np.int64)
        if self.has_position_ids:
            feed["position_ids"] = np.arange(past_length, past_length + len(tokens), dtype=np.int64)[None, :]
        return feed


def _layer_order(past: PastInput) -> tuple[int, str]:
    match = _PAST_NAME.match(past.name)
    return int(match.group(1)), match.group(2)


def _past_input(node: ort.NodeArg, outputs: set[str]) -> PastInput:
    present_name = node.name.replace("past_key_values", "present", 1)
    symbolic = [axis for axis, dim in enumerate(node.shape) if isinstance(dim, str) and "sequence" in dim]
    concrete_elsewhere = all(isinstance(dim, int) or axis in symbolic or axis == 0 for axis, dim in enumerate(node.shape))
    if present_name not in outputs or len(symbolic) != 1 or not concrete_elsewhere or node.type not in _ONNX_TYPES:
        raise ModelError(f"unsupported cache input {node.name} {node.shape} {node.type} — re-export with `codegen-train export`")
    shape = tuple(0 if axis == symbolic[0] else 1 if axis == 0 else dim for axis, dim in enumerate(node.shape))
    return PastInput(node.name, present_name, shape, symbolic[0], _ONNX_TYPES[node.type])
