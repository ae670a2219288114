"""Fine-tuning gain on a repository the default model never saw: a pure-Python package from site-packages,
copied into a fresh git repository, fine-tuned with `codegen-train finetune --minutes N`. Prints the before/after
table (held-out next-line exact match, edit similarity, loss) with ratios. Not a test.

    python bench/finetune_gain.py [--package urllib3] [--minutes 20] [--base MODEL_DIR] [--work DIR]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from training.evaluate import EvalResult, format_table  # noqa: E402


def package_repository(package: str, target: Path) -> Path:
    """A git repository holding a copy of site-packages/`package` (its Python sources, no caches)."""
    source = Path(sysconfig.get_paths()["purelib"]) / package
    if not source.is_dir():
        sys.exit(f"no package {package!r} in {source.parent} — pass --package NAME of an installed pure-Python package")
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__", "*.so", "*.pyc"))
    git = ["git", "-C", str(target)]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "-c", "user.name=bench", "-c", "user.email=bench@localhost", "commit", "-q", "-m", package],
                   check=True)
    return target


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--package", default="urllib3", help="installed pure-Python package to learn")
    parser.add_argument("--minutes", type=float, default=20.0, help="fine-tuning time budget")
    parser.add_argument("--base", type=Path, help="base model directory (default: the default model)")
    parser.add_argument("--work", type=Path, help="working directory (default: a new temporary directory)")
    args, finetune_options = parser.parse_known_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="finetune-gain-"))
    repo = package_repository(args.package, work / args.package)
    size = sum(p.stat().st_size for p in repo.rglob("*.py"))
    print(f"repository: {args.package} ({size / 1e6:.2f} MB of Python) at {repo}", flush=True)
    command = [sys.executable, "-m", "training", "finetune", str(repo), "--minutes", str(args.minutes),
               "--work-dir", str(work / "run"), "--out", str(work / "model"), *finetune_options]
    if args.base:
        command += ["--base", str(args.base)]
    if subprocess.run(command).returncode != 0:
        return 1
    report = json.loads((work / "model" / "finetune_report.json").read_text())
    results = {name: EvalResult(**result) for name, result in report["results"].items()}
    training = report["training"]
    print(f"\n{args.package}: {training['steps']} steps, {training['tokens'] / 1e6:.2f}M tokens, "
          f"{training['minutes']} min of training")
    print(format_table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
