"""Re-export a fine-tuned checkpoint and publish it: into the model store (atomic pointer switch) or to `--out`.

Also `codegen-train models list | use VERSION | rollback`, the store's command line.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

from model.errors import ModelError
from model.manifest import Manifest
from model.store import ModelStore
from training.errors import TrainingError


def export_candidate(hf_dir: Path, work_dir: Path, quantize: str) -> Path:
    """Export `hf_dir` (with validation, keeping its weights in hf/) to `work_dir/candidate`, replacing an older
    candidate; ExportError (and no candidate) when the export fails."""
    from training.export import export_model

    candidate = work_dir / "candidate"
    shutil.rmtree(candidate, ignore_errors=True)
    export_model(hf_dir, candidate, quantize=quantize, keep_hf=True)
    return candidate


def publish_model(model_dir: Path, out: Path | None = None, store: ModelStore | None = None) -> str:
    """Publish a validated model directory: copied to `out` (renamed into place, never replacing an existing
    directory), else as a new current version of `store` (default: the user's store). Returns where it went."""
    if out is None:
        store = store or ModelStore()
        return f"version {store.publish(model_dir)} of the model store {store.root}"
    if out.exists():
        raise TrainingError(f"{out} already exists — choose another --out or remove it first")
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.publish-", dir=out.parent))
    try:
        shutil.copytree(model_dir, staging, dirs_exist_ok=True)
        staging.chmod(0o755)
        staging.rename(out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return str(out)


# --- `codegen-train models` ----------------------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of `codegen-train models`."""
    parser.add_argument("action", nargs="?", choices=("list", "use", "rollback"), default="list",
                        help="list versions (default), make VERSION current, or return to the previous version")
    parser.add_argument("version", nargs="?", metavar="VERSION", help="the version for `use`")
    parser.add_argument("--store", type=Path, help="model store root (default: $CODEGEN_LSP_HOME/models or "
                                                    "~/.local/share/codegen-lsp/models)")


def run(args: argparse.Namespace) -> int:
    """List, switch or roll back; the server picks up a switch between requests."""
    store = ModelStore(args.store)
    if args.action == "use":
        if not args.version:
            raise TrainingError("`models use` needs a VERSION — `codegen-train models list` shows them")
        store.use(args.version)
        print(f"current model: {args.version}")
    elif args.action == "rollback":
        print(f"current model: {store.rollback()}")
    else:
        print(format_versions(store))
    return 0


def format_versions(store: ModelStore) -> str:
    """One line per published version ('*' marks the current one), or a hint when there are none."""
    versions = store.list()
    if not versions:
        return f"no model versions in {store.root} — publish one with `codegen-train finetune REPO`"
    current = store.current()
    lines = []
    for version in versions:
        try:
            manifest = Manifest.read(store.versions_dir / version)
            details = f"{manifest.family}, {manifest.quantization}, from {manifest.source}"
        except ModelError as error:  # a broken version is listed with its problem
            details = f"unreadable: {error}"
        lines.append(f"{'*' if version == current else ' '} {version}  ({details})")
    return "\n".join(lines)
