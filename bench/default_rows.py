"""The models that the default model's benchmarks compare (bench/default_model.py, bench/code_actions.py), by row name.

    reference   transformers float32 on the default's GGUF file, dequantized by transformers (bench/torch_reference.py)
    fp32        our runtime on `codegen-train export FILE.gguf --quantize none` (validated, cached in .cache/bench)
    default     our runtime on the default model as `codegen-lsp setup` builds it (its GGUF blocks kept)
    stdlib-4m   the former default, 4.2M parameters pretrained here on the standard library (bench/stdlib-4m)
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import model  # noqa: E402
from bench.common import WORK_DIR, export_code_version  # noqa: E402
from training.default_model import build_default_model, source_gguf  # noqa: E402

ROWS = ("reference", "fp32", "default", "stdlib-4m")
STDLIB_4M = Path(__file__).resolve().parent / "stdlib-4m"


def fp32_export() -> Path:
    """The default's GGUF exported unquantized (cached per export code version)."""
    out = WORK_DIR / f"smollm2-none-{export_code_version()}"
    if not (out / "manifest.json").is_file():
        from training.export import export_model

        print(f"exporting the default's GGUF unquantized to {out} ...", file=sys.stderr)
        export_model(source_gguf(), out, quantize="none")
    return out


def load_row(name: str) -> Any:
    """The model of row `name` (see the module docstring)."""
    if name == "reference":
        from bench.torch_reference import TorchReference

        return TorchReference(source_gguf(), build_default_model())
    if name == "fp32":
        return model.load(fp32_export())
    if name == "default":
        return model.load(build_default_model())
    if name == "stdlib-4m":
        return model.load(STDLIB_4M)
    raise SystemExit(f"unknown row {name!r}; rows: {', '.join(ROWS)}")
