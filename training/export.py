"""`codegen-train export`: a Hugging Face causal-LM checkpoint -> a validated ONNX model directory.

The ONNX graph is our fused decoder graph for Llama-style checkpoints (training/fused_graph.py: onnxruntime's
GroupQueryAttention with an in-place cache) and optimum's "text-generation-with-past" export for the other families,
optionally quantized (int8 for CPU, fp16 for CUDA).
Before anything is published the export is validated against the PyTorch model (logits on a few prompts, and
identical greedy tokens for an unquantized export); the directory is assembled beside the target and renamed into
place, so a failure or crash never leaves a partial model. See ARCHITECTURE.md for the directory format.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import importlib.metadata
import os
import shutil
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

from model.manifest import ONNX_FILE, TOKENIZER_FILE, FimTokens, Manifest
from training import fused_graph
from training.errors import TrainingError
from training.gguf_import import GgufModel, as_float, read_gguf

QUANTIZE_CHOICES = ("auto", "none", "int8", "fp16", "gguf")
TASK = "text-generation-with-past"
CUSTOM_ONNX_FAMILIES = ("starcoder2",)  # optimum-onnx 0.1.0 has no ONNX config for these

# Max |logit difference| ONNX vs PyTorch that validation accepts, relative to the largest |logit| of the
# PyTorch model on the same prompts (so one number serves tiny random models and trained ones alike).
# Measured on the tiny random test models of every family: none <= 3e-6, fp16 <= 6e-3, int8 <= 0.21 (random
# weights are int8's worst case); a wrong graph is off by about 1.
# gguf keeps a GGUF's weights exactly (the reference is the same file dequantized) and rounds activations to int8 per
# block of 32, as int8 rounds them per tensor: int8's tolerance.
RELATIVE_TOLERANCE = {"none": 1e-4, "int8": 0.3, "fp16": 1e-2, "gguf": 0.3}
GREEDY_TOKENS = 16
VALIDATION_PROMPTS = (
    "def fibonacci(n):\n",
    "import os\n\n\nclass Config:\n    def __init__(self, path):\n        self.path = ",
)
FIM_VALIDATION = ("def add(a, b):\n    ", "\n\n\nprint(add(1, 2))\n")


@dataclass(frozen=True)
class FimConvention:
    """A family's FIM tokens as they appear in a vocabulary; the optional tokens are tried in order."""

    format: str
    prefix: str
    suffix: str
    middle: str
    file_separators: tuple[str, ...] = ()
    repo_names: tuple[str, ...] = ()


# Most specific first.
FIM_CONVENTIONS = (
    FimConvention("qwen", "<|fim_prefix|>", "<|fim_suffix|>", "<|fim_middle|>", ("<|file_sep|>",), ("<|repo_name|>",)),
    # StarCoder2 spells them <file_sep>/<repo_name>, StarCoder <filename>/<reponame>.
    FimConvention(
        "starcoder", "<fim_prefix>", "<fim_suffix>", "<fim_middle>", ("<file_sep>", "<filename>"), ("<repo_name>", "<reponame>")
    ),
    FimConvention("starcoder", "<fim-prefix>", "<fim-suffix>", "<fim-middle>"),  # SantaCoder
    FimConvention("deepseek", "<｜fim▁begin｜>", "<｜fim▁hole｜>", "<｜fim▁end｜>"),
    FimConvention("codellama", "▁<PRE>", "▁<SUF>", "▁<MID>"),
    FimConvention("codellama", "<PRE>", "<SUF>", "<MID>"),
)
TOKENIZER_SOURCES = (TOKENIZER_FILE, "tokenizer.model", "vocab.json")  # files a fast tokenizer can be built from
END_OF_INFILL_TOKENS = ("▁<EOT>", "<EOT>")  # CodeLlama ends an infill with <EOT> rather than eos
# The code that shapes an exported model directory: caches of exports (test fixtures, benchmarks) key on it.
EXPORT_SOURCES = (
    Path(__file__),
    Path(__file__).with_name("fused_graph.py"),
    Path(__file__).with_name("gguf_import.py"),
    Path(__file__).resolve().parents[1] / "model" / "manifest.py",
)
HF_FILE_PATTERNS = (
    "config.json",
    "generation_config.json",
    "*.safetensors",
    "model.safetensors.index.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "vocab.json",
    "merges.txt",
    "tokenizer.model",
    "added_tokens.json",
    "chat_template.jinja",
    "corpus_split.json",  # provenance of a `codegen-train pretrain` checkpoint: its held-out files
    "training_log.json",  # ... and its training curve
)


class ExportError(TrainingError):
    """The checkpoint cannot be exported, or its export failed validation; nothing was written."""


# --- pure helpers -------------------------------------------------------------------------------------------


def detect_fim(vocab: Mapping[str, int]) -> FimTokens | None:
    """The FIM convention whose prefix/suffix/middle tokens are all in `vocab`, or None (no FIM support)."""
    for convention in FIM_CONVENTIONS:
        if all(token in vocab for token in (convention.prefix, convention.suffix, convention.middle)):
            return FimTokens(
                convention.format,
                convention.prefix,
                convention.suffix,
                convention.middle,
                file_separator=next((t for t in convention.file_separators if t in vocab), None),
                repo_name=next((t for t in convention.repo_names if t in vocab), None),
            )
    return None


def stop_tokens(eos_tokens: Sequence[str], fim: FimTokens | None, vocab: Mapping[str, int]) -> list[str]:
    """Tokens after which a completion is over: eos, the file separator, CodeLlama's end-of-infill."""
    candidates = [*eos_tokens, fim.file_separator if fim else None, *END_OF_INFILL_TOKENS]
    return list(dict.fromkeys(token for token in candidates if token and token in vocab))


def resolve_quantization(requested: str, providers: Sequence[str], gguf: bool = False) -> str:
    """`auto` -> fp16 where onnxruntime has the CUDA provider, else int8 (a GGUF source: its own blocks, gguf);
    `gguf` only for a GGUF source; other choices pass through."""
    if requested not in QUANTIZE_CHOICES:
        raise ExportError(f"unknown quantization {requested!r}; choose one of {', '.join(QUANTIZE_CHOICES)}")
    if requested == "gguf" and not gguf:
        raise ExportError("--quantize gguf keeps a GGUF file's quantized blocks: the source must be a .gguf file")
    if requested != "auto":
        return requested
    if "CUDAExecutionProvider" in providers:
        return "fp16"
    return "gguf" if gguf else "int8"


def as_id_list(value: int | Sequence[int] | None) -> list[int]:
    """A config's eos_token_id (None, an int or a list) as a list."""
    if value is None:
        return []
    return [value] if isinstance(value, int) else list(value)


def context_length_of(config: Any) -> int:
    """The positions a config's model accepts (the attribute name differs per family)."""
    for name in ("max_position_embeddings", "n_positions", "n_ctx", "seq_length"):
        value = getattr(config, name, None)
        if isinstance(value, int) and value > 0:
            return value
    raise ExportError(f"cannot tell the context length of this {config.model_type} config (no max_position_embeddings)")


def compare_logits(reference: Sequence[Any], candidate: Sequence[Any]) -> dict[str, float]:
    """Max |reference - candidate|, max |reference| and the share of positions with the same argmax."""
    import numpy as np

    pairs = list(zip(reference, candidate, strict=True))
    same_top1 = sum(int(np.sum(r.argmax(-1) == c.argmax(-1))) for r, c in pairs)
    return {
        "max_abs_logit_diff": max(float(np.max(np.abs(r - c))) for r, c in pairs),
        "max_abs_logit": max(float(np.max(np.abs(r))) for r in reference),
        "top1_agreement": same_top1 / sum(len(r) for r in reference),
    }


# --- the checkpoint ----------------------------------------------------------------------------------------


@dataclass
class Checkpoint:
    """A checked Hugging Face checkpoint directory: config and fast tokenizer loaded."""

    path: Path
    config: Any
    tokenizer: Any
    generation_config: Any = None

    @property
    def family(self) -> str:
        return self.config.model_type

    @property
    def architecture(self) -> str:
        return (self.config.architectures or [f"{self.family}ForCausalLM"])[0]


def check_source(source: Path) -> None:
    """ExportError unless `source` exists (a hub id names no local path: no hub is reached)."""
    if source.exists():
        return
    if len(source.parts) == 2 and not str(source).startswith((".", "/", "~")):
        raise ExportError(f"{source} does not exist here; no model hub is reached — pass a local checkpoint "
                          "directory (save_pretrained) or a .gguf file")
    raise ExportError(f"{source} does not exist — pass a local checkpoint directory or a .gguf file")


def is_gguf(source: Path) -> bool:
    """Whether `source` is a GGUF file (by its magic bytes)."""
    if not source.is_file():
        return False
    with open(source, "rb") as stream:
        return stream.read(4) == b"GGUF"


def open_checkpoint(hf_dir: Path) -> Checkpoint:
    """Load the config and fast tokenizer of `hf_dir`; ExportError naming the problem when it is not usable."""
    from transformers import AutoConfig, AutoTokenizer, GenerationConfig

    if not (hf_dir / "config.json").is_file():
        raise ExportError(
            f"{hf_dir} is not a Hugging Face checkpoint directory (no config.json) nor a GGUF file — "
            "pass a directory written by `save_pretrained` or a .gguf file"
        )
    try:
        config = AutoConfig.from_pretrained(hf_dir, local_files_only=True)
    except (ValueError, KeyError, OSError) as error:
        raise ExportError(f"cannot read {hf_dir / 'config.json'}: {first_line(error)}") from error
    check_supported(config.model_type)
    if not any((hf_dir / name).is_file() for name in TOKENIZER_SOURCES):
        raise ExportError(
            f"missing tokenizer in {hf_dir} (no {TOKENIZER_FILE}) — save it there with `tokenizer.save_pretrained`"
        )
    try:
        tokenizer = AutoTokenizer.from_pretrained(hf_dir, use_fast=True, local_files_only=True)
    except (ValueError, KeyError, OSError, TypeError, AttributeError) as error:
        raise ExportError(
            f"no usable tokenizer in {hf_dir} ({first_line(error)}) — save one there with `tokenizer.save_pretrained`"
        ) from error
    if not getattr(tokenizer, "is_fast", False):
        raise ExportError(f"the tokenizer in {hf_dir} has no fast (tokenizer.json) form — save a fast tokenizer there")
    try:
        generation_config = GenerationConfig.from_pretrained(hf_dir, local_files_only=True)
    except OSError:
        generation_config = None
    return Checkpoint(hf_dir, config, tokenizer, generation_config)


def check_supported(family: str) -> None:
    """ExportError unless optimum (or our custom ONNX config) can export `family` with past key/values."""
    import optimum.exporters.onnx.model_configs  # noqa: F401  (fills the exporter registry)
    from optimum.exporters.tasks import TasksManager

    if family in CUSTOM_ONNX_FAMILIES:
        return
    try:
        tasks = TasksManager.get_supported_tasks_for_model_type(family, "onnx", library_name="transformers")
    except KeyError:
        tasks = {}
    if TASK not in tasks:
        raise ExportError(
            f"unsupported architecture {family!r}: optimum cannot export it as a causal LM with past key/values "
            "— use a gpt2, llama, qwen2, gpt_bigcode or starcoder2 checkpoint"
        )


def first_line(error: BaseException) -> str:
    """The first line of an exception's message."""
    return (str(error).strip().splitlines() or [type(error).__name__])[0]


def build_manifest(checkpoint: Checkpoint, quantization: str) -> Manifest:
    """The manifest of `checkpoint`'s export (files and validation are filled in later)."""
    tokenizer, config = checkpoint.tokenizer, checkpoint.config
    vocab = tokenizer.get_vocab()
    fim = detect_fim(vocab)
    if fim is not None and getattr(config, "fim_order", "psm") != fim.order:  # set by our pretraining (TrainConfig)
        fim = dataclasses.replace(fim, order=config.fim_order)
    eos_tokens = [tokenizer.eos_token] if tokenizer.eos_token else []
    stops = stop_tokens(eos_tokens, fim, vocab)
    generation_eos = getattr(checkpoint.generation_config, "eos_token_id", None)
    eos_ids = [*as_id_list(generation_eos), *as_id_list(config.eos_token_id), *(vocab[token] for token in stops)]
    bos = tokenizer.bos_token_id
    add_bos = bos is not None and tokenizer("x")["input_ids"][:1] == [bos]
    return Manifest(
        family=checkpoint.family,
        architecture=checkpoint.architecture,
        context_length=context_length_of(config),
        eos_token_ids=list(dict.fromkeys(eos_ids)),
        fim=fim,
        bos_token_id=bos if add_bos else None,
        stop_tokens=stops,
        add_bos=add_bos,
        quantization=quantization,
        source=str(checkpoint.path.resolve()),
        tools=tool_versions(),
    )


def tool_versions() -> dict[str, str]:
    """Installed versions of the packages that shape an export."""
    versions = {}
    for name in ("transformers", "optimum", "optimum-onnx", "onnxruntime", "onnxruntime-gpu", "onnx", "torch"):
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            pass
    return versions


# --- ONNX export and quantization ---------------------------------------------------------------------------


def export_onnx(torch_model: Any, out_dir: Path) -> Path:
    """The fp32 decoder graph of `torch_model` in `out_dir`: fused where supported, else optimum's
    text-generation-with-past export; returns the model.onnx path."""
    if fused_graph.supports(torch_model.config):
        return fused_graph.build_graph(torch_model.config, fused_graph.torch_weights(torch_model), out_dir / ONNX_FILE)

    import optimum.exporters.onnx.model_configs  # noqa: F401  (fills the exporter registry)
    import torch
    from optimum.exporters.onnx import onnx_export_from_model

    custom = None
    if torch_model.config.model_type in CUSTOM_ONNX_FAMILIES:
        custom = {"model": custom_onnx_config(torch_model.config)}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", torch.jit.TracerWarning)  # expected for shape-dependent branches
        onnx_export_from_model(
            torch_model, out_dir, task=TASK, custom_onnx_configs=custom, do_validation=False, preprocessors=[]
        )
    return out_dir / ONNX_FILE


def custom_onnx_config(config: Any) -> Any:
    """Starcoder2's decoder has the Qwen2 interface (GQA, rotary positions), so Qwen2's ONNX config describes it."""
    from optimum.exporters.onnx.model_configs import Qwen2OnnxConfig

    return Qwen2OnnxConfig(config, task="text-generation", use_past=True, use_past_in_inputs=True)


def quantize_onnx(source: Path, target: Path, quantization: str) -> None:
    """Write `source` (an fp32 ONNX model) to `target` at `quantization`."""
    if quantization in ("none", "gguf"):  # gguf: the graph holds the blocks already
        shutil.copyfile(source, target)
    elif quantization == "int8":
        import onnx
        from onnxruntime.quantization import QuantType, quantize_dynamic

        # Shape inference cannot type the outputs of contrib ops (fused graphs): they are float.
        with without_log_records("Please consider"):  # advice for other graphs than ours
            quantize_dynamic(source, target, weight_type=QuantType.QInt8,
                             extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
    else:
        import onnx
        from onnxruntime.transformers.float16 import convert_float_to_float16

        # The logits stay float32 so the runtime reads every export the same way; the caches become float16 (the
        # runtime reads their type from the graph), so a fused graph keeps updating them in place.
        onnx.save(convert_float_to_float16(onnx.load(source), keep_io_types=["logits"]), target)


@contextlib.contextmanager
def without_log_records(prefix: str) -> Iterator[None]:
    """Drop the root logger's records whose message starts with `prefix` (a library's advice that does not apply)."""
    import logging

    def keep(record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(prefix)

    root = logging.getLogger()
    root.addFilter(keep)
    try:
        yield
    finally:
        root.removeFilter(keep)


# --- validation --------------------------------------------------------------------------------------------


def validation_prompts(manifest: Manifest) -> list[str]:
    """The prompts validation runs: plain code, plus a FIM prompt when the family has FIM tokens."""
    prompts = list(VALIDATION_PROMPTS)
    if manifest.fim:
        prefix, suffix = FIM_VALIDATION
        prompts.append(f"{manifest.fim.prefix}{prefix}{manifest.fim.suffix}{suffix}{manifest.fim.middle}")
    return prompts


def torch_greedy(
    torch_model: Any, input_ids: Sequence[int], end_ids: list[int], max_new_tokens: int = GREEDY_TOKENS
) -> list[int]:
    """PyTorch greedy continuation of `input_ids`, up to (not including) the first of `end_ids`."""
    import torch

    prompt = torch.tensor([list(input_ids)])
    with torch.no_grad():
        output = torch_model.generate(
            prompt,
            attention_mask=torch.ones_like(prompt),
            max_new_tokens=max_new_tokens,
            do_sample=False,
            eos_token_id=end_ids,
            pad_token_id=end_ids[0] if end_ids else 0,
        )
    tokens = output[0, prompt.shape[1] :].tolist()
    return tokens[:-1] if tokens and tokens[-1] in end_ids else tokens


def validate(torch_model: Any, staging: Path, manifest: Manifest, tokenizer: Any) -> dict[str, Any]:
    """Compare the runtime on the staged export with PyTorch; the `validation` record, or ExportError."""
    import torch

    import model

    try:
        runtime = model.load(staging)
    except model.ModelError as error:
        raise ExportError(f"validation failed: the runtime cannot load the export ({error})") from error
    texts = validation_prompts(manifest)
    prompts = [tokenizer(text)["input_ids"] for text in texts]
    with torch.no_grad():
        reference = [torch_model(torch.tensor([ids])).logits[0].float().numpy() for ids in prompts]
    comparison = compare_logits(reference, [runtime.decoder.all_logits(ids).astype("float32") for ids in prompts])
    difference = comparison["max_abs_logit_diff"]
    tolerance = RELATIVE_TOLERANCE[manifest.quantization] * max(comparison["max_abs_logit"], 1.0)
    end_ids = sorted(runtime.end_ids)
    greedy_identical = all(
        torch_greedy(torch_model, ids, end_ids) == runtime.generate_detailed(text, max_new_tokens=GREEDY_TOKENS).token_ids
        for ids, text in zip(prompts, texts)
    )
    record = {
        "prompts": len(prompts),
        **comparison,
        "tolerance": tolerance,
        "greedy_identical": greedy_identical,
        "device": runtime.device,
    }
    if difference > tolerance:
        raise ExportError(
            f"validation failed: ONNX logits differ from PyTorch by {difference:.3g} (tolerance {tolerance:.3g}, "
            f"{manifest.quantization}) — nothing was written; try --quantize none"
        )
    if manifest.quantization == "none" and not greedy_identical:
        raise ExportError("validation failed: the runtime's greedy tokens differ from PyTorch's — nothing was written")
    return record


# --- assembling and publishing ------------------------------------------------------------------------------


def copy_checkpoint(hf_dir: Path, target: Path) -> None:
    """Copy the weights, config and tokenizer files of `hf_dir` into `target` (for further fine-tuning)."""
    target.mkdir()
    for pattern in HF_FILE_PATTERNS:
        for path in sorted(hf_dir.glob(pattern)):
            shutil.copy2(path, target / path.name)


def write_tokenizer(checkpoint: Checkpoint, target: Path) -> None:
    """The checkpoint's tokenizer.json, or the fast tokenizer's serialisation when the checkpoint has none."""
    source = checkpoint.path / TOKENIZER_FILE
    if source.is_file():
        shutil.copyfile(source, target)
    else:
        checkpoint.tokenizer.backend_tokenizer.save(str(target))


def exchange_paths(first: Path, second: Path) -> bool:
    """Swap two existing paths in one atomic step (Linux renameat2 RENAME_EXCHANGE); False where unsupported."""
    import ctypes

    renameat2 = getattr(ctypes.CDLL(None, use_errno=True), "renameat2", None)
    if renameat2 is None:
        return False
    at_fdcwd, rename_exchange = -100, 2
    return renameat2(at_fdcwd, os.fsencode(first), at_fdcwd, os.fsencode(second), rename_exchange) == 0


def publish(staging: Path, out_dir: Path, overwrite: bool) -> None:
    """Rename the finished `staging` directory to `out_dir` (replacing an existing one only when `overwrite`: in one
    atomic swap where the OS has one, so a server loading `out_dir` meanwhile sees the old or the new model)."""
    if not out_dir.exists():
        os.rename(staging, out_dir)
        return
    if not overwrite:
        raise ExportError(f"{out_dir} already exists — choose another --out or pass --force to replace it")
    if exchange_paths(staging, out_dir):
        shutil.rmtree(staging, ignore_errors=True)  # now the previous model
        return
    retired = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.old-", dir=out_dir.parent))
    os.rename(out_dir, retired / out_dir.name)
    os.rename(staging, out_dir)
    shutil.rmtree(retired, ignore_errors=True)


def export_model(
    hf_dir: Path | str,
    out_dir: Path | str,
    quantize: str = "auto",
    keep_hf: bool = False,
    overwrite: bool = False,
) -> Manifest:
    """Export the checkpoint `hf_dir` to the model directory `out_dir` (see the module docstring).

    `quantize`: none | int8 | fp16 | auto (fp16 with a CUDA onnxruntime, else int8). `keep_hf` also copies the
    checkpoint into `out_dir/hf`. Raises ExportError (nothing written) for bad input or a failed validation.
    """
    import onnxruntime
    import torch
    from transformers import AutoModelForCausalLM

    hf_dir, out_dir = Path(hf_dir), Path(out_dir)
    if out_dir.exists() and not overwrite:
        raise ExportError(f"{out_dir} already exists — choose another --out or pass --force to replace it")
    check_source(hf_dir)
    if is_gguf(hf_dir):
        if keep_hf:
            raise ExportError("--keep-hf needs a Hugging Face checkpoint directory; a GGUF is kept as the source file")
        return export_gguf(hf_dir, out_dir, quantize, overwrite)
    checkpoint = open_checkpoint(hf_dir)
    quantization = resolve_quantization(quantize, onnxruntime.get_available_providers())
    manifest = build_manifest(checkpoint, quantization)
    try:
        torch_model = AutoModelForCausalLM.from_pretrained(hf_dir, dtype=torch.float32, local_files_only=True).eval()
    except (OSError, ValueError) as error:
        raise ExportError(f"cannot load the weights in {hf_dir}: {first_line(error)}") from error
    with staging_beside(out_dir) as staging:
        fp32_path = export_onnx(torch_model, staging / "onnx")
        quantize_onnx(fp32_path, staging / ONNX_FILE, quantization)
        shutil.rmtree(staging / "onnx")
        write_tokenizer(checkpoint, staging / TOKENIZER_FILE)
        manifest.record_files(staging).write(staging)
        manifest.validation = validate(torch_model, staging, manifest, checkpoint.tokenizer)
        manifest.write(staging)
        if keep_hf:
            copy_checkpoint(hf_dir, staging / "hf")
        publish(staging, out_dir, overwrite)
    return manifest



def convert_gguf(gguf: GgufModel, target: Path, quantization: str, pin: Mapping[str, str] | None = None) -> Manifest:
    """Write `gguf`'s model.onnx, tokenizer.json and manifest into the directory `target` (torch-free; not validated:
    `export_gguf` validates this same conversion, and the default model's build is tested equal to it)."""
    weights = gguf.weights if quantization == "gguf" else {name: as_float(w) for name, w in gguf.weights.items()}
    fp32_path = fused_graph.build_graph(gguf.config, weights, target / "onnx" / ONNX_FILE)
    quantize_onnx(fp32_path, target / ONNX_FILE, quantization)
    shutil.rmtree(target / "onnx")
    (target / TOKENIZER_FILE).write_text(gguf.tokenizer_json, encoding="utf-8")
    vocab = {token: index for index, token in enumerate(gguf.tokens)}
    manifest = Manifest(
        family=gguf.config.model_type,
        architecture=gguf.config.architectures[0],
        context_length=gguf.config.max_position_embeddings,
        eos_token_ids=[vocab[token] for token in gguf.end_tokens],
        stop_tokens=list(gguf.end_tokens),
        chat_format="chatml" if "<|im_start|>" in (gguf.chat_template or "") else None,
        quantization=quantization,
        source=str(gguf.path.resolve()),
        provenance={"sha256": gguf.sha256, **(pin or {})},
    )
    manifest.record_files(target).write(target)
    return manifest


def export_gguf(gguf_path: Path, out_dir: Path, quantize: str = "auto", overwrite: bool = False,
                pin: Mapping[str, str] | None = None) -> Manifest:
    """Export a GGUF file through the torch-free conversion, validated against transformers' loading of the same
    file (dequantized to float32) before anything is written."""
    import onnxruntime
    import torch
    from tokenizers import Tokenizer
    from transformers import AutoModelForCausalLM, PreTrainedTokenizerFast

    gguf = read_gguf(gguf_path)
    quantization = resolve_quantization(quantize, onnxruntime.get_available_providers(), gguf=True)
    try:
        torch_model = AutoModelForCausalLM.from_pretrained(
            gguf_path.parent, gguf_file=gguf_path.name, dtype=torch.float32, local_files_only=True).eval()
    except (OSError, ValueError, KeyError) as error:
        raise ExportError(f"transformers cannot load {gguf_path} for validation: {first_line(error)}") from error
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=Tokenizer.from_str(gguf.tokenizer_json))
    with staging_beside(out_dir) as staging:
        manifest = convert_gguf(gguf, staging, quantization, pin)
        manifest.tools = tool_versions()
        manifest.validation = validate(torch_model, staging, manifest, tokenizer)
        manifest.write(staging)
        publish(staging, out_dir, overwrite)
    return manifest


@contextlib.contextmanager
def staging_beside(out_dir: Path) -> Iterator[Path]:
    """A fresh directory beside `out_dir` to assemble a model in; removed afterwards unless renamed into place."""
    try:
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.export-", dir=out_dir.parent))
    except OSError as error:
        raise ExportError(f"cannot write beside {out_dir}: {error} — choose a writable --out") from error
    staging.chmod(0o755)  # mkdtemp makes it private; a model directory is readable like any other
    try:
        yield staging
    finally:
        shutil.rmtree(staging, ignore_errors=True)


# --- command line ------------------------------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of `codegen-train export`."""
    parser.add_argument("hf_dir", type=Path, metavar="SOURCE",
                        help="Hugging Face checkpoint directory, or a GGUF file (llama architecture)")
    parser.add_argument("--out", type=Path, required=True, metavar="MODEL_DIR", help="model directory to write")
    parser.add_argument(
        "--quantize",
        choices=QUANTIZE_CHOICES,
        default="auto",
        help="int8 (CPU), fp16 (CUDA), none, or gguf (a GGUF's own 4/8-bit blocks, CPU); auto = fp16 with a CUDA "
             "onnxruntime, else gguf for a GGUF and int8 for a checkpoint (default: %(default)s)",
    )
    parser.add_argument("--keep-hf", action="store_true", help="also copy the checkpoint to MODEL_DIR/hf")
    parser.add_argument("--force", action="store_true", help="replace MODEL_DIR if it exists")


def run(args: argparse.Namespace) -> int:
    """Export and print a one-line summary."""
    manifest = export_model(args.hf_dir, args.out, quantize=args.quantize, keep_hf=args.keep_hf, overwrite=args.force)
    fim = manifest.fim.format if manifest.fim else "none"
    validation = manifest.validation
    print(
        f"exported {manifest.architecture} to {args.out} (quantization {manifest.quantization}, FIM {fim}; "
        f"max |logit diff| {validation['max_abs_logit_diff']:.3g} <= {validation['tolerance']:.3g}, "
        f"greedy identical: {validation['greedy_identical']})"
    )
    return 0
