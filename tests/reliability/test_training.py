"""Training and the model store under abuse: SIGKILL at several moments of an export and of a fine-tune never leaves a
half-written model where a server would load it; secrets in many forms never reach a tokenized training example;
corrupt repositories give clear messages, not tracebacks."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

import pytest

from model.manifest import read_verified
from model.store import ModelStore
from tests.e2e.test_finetune import finetune_argv
from tests.fixtures.repos import python_module, write_fixture_repo
from training.cli import main

from .figures import record
from .lsp_process import REPO_ROOT

KILL_TIMEOUT_S = 300
POLL_S = 0.02


def run_until(argv: list[str], moment: Callable[[], bool]) -> bool:
    """Run `python -m training *argv`, SIGKILL it as soon as `moment()` holds; whether it was killed (False: it
    finished first)."""
    process = subprocess.Popen([sys.executable, "-m", "training", *argv], cwd=REPO_ROOT,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + KILL_TIMEOUT_S
    try:
        while process.poll() is None:
            if moment():
                process.send_signal(signal.SIGKILL)
                process.wait()
                return True
            assert time.monotonic() < deadline, "the command neither reached the moment nor finished"
            time.sleep(POLL_S)
        assert process.returncode == 0, process.stderr.read().decode()[-2000:]
        return False
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def staged(parent: Path, prefix: str, inside: str = "") -> Callable[[], bool]:
    """The moment a staging directory `parent/prefix*` (holding `inside`, when given) exists."""
    return lambda: any(path.exists() for path in parent.glob(f"{prefix}*/{inside}" if inside else f"{prefix}*"))


@pytest.mark.slow
def test_killed_exports_never_leave_a_partial_model_directory(tmp_path, tiny_hf_checkpoint):
    checkpoint = tiny_hf_checkpoint("llama", fim="starcoder")
    out = tmp_path / "exported"
    moments = {
        "ONNX graph being written": staged(tmp_path, ".exported.export-", "onnx"),
        "validating (manifest written)": staged(tmp_path, ".exported.export-", "manifest.json"),
    }
    killed = 0
    for name, moment in moments.items():
        killed += run_until(["export", str(checkpoint), "--out", str(out), "--quantize", "none", "--force"], moment)
        assert not out.exists() or read_verified(out), name  # absent, or complete and verified
        assert all(path.name.startswith(".") for path in tmp_path.iterdir() if path != out)  # leftovers are hidden
    assert killed >= 1
    record("faults: export killed (SIGKILL)", killed)


@pytest.mark.slow
def test_killed_finetunes_keep_the_store_pointer_on_a_complete_verified_version(tmp_path, tiny_hf_checkpoint,
                                                                              tiny_model):
    base = tiny_hf_checkpoint("llama", fim="starcoder")
    repo, work = write_fixture_repo(tmp_path / "repo"), tmp_path / "work"
    store = ModelStore(tmp_path / "store")
    previous = store.publish(tiny_model)

    def pointer_is_sound() -> str:
        current = store.current()
        assert current is not None and read_verified(store.current_path())
        return current

    argv = finetune_argv(repo, base, work, "--store", str(store.root), "--checkpoint-minutes", "0")
    killed = run_until([*argv, "--max-steps", "1000"], lambda: (work / "checkpoint.pt").exists())
    assert killed and pointer_is_sound() == previous  # killed while training
    import torch

    step = torch.load(work / "checkpoint.pt", weights_only=False)["state"]["step"]
    # The fused graph is written in milliseconds; validation (PyTorch and the runtime side by side) takes longer.
    killed += run_until([*argv, "--resume", "--max-steps", str(step + 1)],
                        staged(work, ".candidate.export-", "manifest.json"))
    assert pointer_is_sound() == previous  # killed while validating the candidate's export
    assert killed == 2
    record("faults: fine-tune killed (SIGKILL)", killed)


# Fake credentials, assembled at run time so that no scanner mistakes this file for a leak.
SECRET_FORMS = {
    "aws_access_key": "AKIA" + "Q4FAKEKEYFORTEST",
    "aws_secret": "wJalrXUtnFEMI/K7MDENG/" + "bPxRfiCYFAKEFAKE12",
    "github_token": "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8",
    "github_pat": "github_pat_" + "11ABCDEFG0123456789_abcdefghijklmnopqrstuv",
    "slack_token": "xoxb-" + "123456789012-abcdefFAKEtoken",
    "password": "hunter2-" + "correct-horse-battery",
    "private_key_body": "MIIEowIBAAKCAQEA" + "fakefakefakeFAKEKEYBODY",
}


def secret_repository(root: Path) -> Path:
    """The fixture repository plus source files holding each fake credential in a different form (one per file:
    a detected secret leaves its whole file out)."""
    write_fixture_repo(root, git=False)
    forms = {
        "config/aws_key.py": f'AWS_ACCESS_KEY_ID = "{SECRET_FORMS["aws_access_key"]}"\n',
        "config/aws_secret.py": f'aws_secret_access_key = "{SECRET_FORMS["aws_secret"]}"\n',
        "config/comment.py": f'# token for the bot: {SECRET_FORMS["github_token"]}\nX = 1\n',
        "config/dict_literal.py": f'SETTINGS = {{"github": "{SECRET_FORMS["github_pat"]}", "debug": True}}\n',
        "config/slack.js": f'const hook = "{SECRET_FORMS["slack_token"]}";\nexport default hook;\n',
        "config/db.py": f'DB_PASSWORD = "{SECRET_FORMS["password"]}"\n',
        "config/key.py": 'KEY = """-----BEGIN RSA PRIVATE KEY-----\n'
                         f'{SECRET_FORMS["private_key_body"]}\n-----END RSA PRIVATE KEY-----"""\n',
        "config/secrets.toml": f'token = "{SECRET_FORMS["github_token"]}"\n',
    }
    for rel, text in forms.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(python_module(Path(rel).stem) + text if rel.endswith(".py") else text)
    return root


def test_secrets_in_many_forms_never_reach_a_tokenized_training_example(tmp_path, tiny_hf_checkpoint):
    from tokenizers import Tokenizer

    from training.config import TrainConfig
    from training.corpus import file_chunks
    from training.repo_data import collect_repository, split_files
    from training.train import PackedBatches

    tokenizer = Tokenizer.from_file(str(tiny_hf_checkpoint("llama", fim="starcoder") / "tokenizer.json"))
    data = collect_repository(secret_repository(tmp_path / "repo"))
    train_files, held_out = split_files(data.files)
    config = TrainConfig(block_size=64, batch_size=8, fim_rate=0.5)
    chunks = file_chunks(train_files + held_out, tokenizer, config.block_size)
    examples = [tokenizer.decode(tokenizer.encode(chunk.text).ids, skip_special_tokens=False) for chunk in chunks]
    batches = PackedBatches(chunks, tokenizer, config)  # and packed, FIM-rearranged batches as training sees them
    examples += [tokenizer.decode(row.tolist(), skip_special_tokens=False) for i in range(20) for row in batches.batch(i)]
    text = "\n".join(examples)
    assert "def core_step_0" in text  # the clean training text is there
    leaked = [name for name, secret in SECRET_FORMS.items() if secret in text or secret[:12] in text]
    assert leaked == []
    assert not any(f.rel.startswith("config/") for f in data.files)
    record("secret forms seeded", len(SECRET_FORMS))


def broken_repository(root: Path) -> Path:
    """A repository in which no file can be used: invalid UTF-8, an unreadable file, symlink loops."""
    root.mkdir(parents=True)
    (root / "latin1.py").write_bytes("caf\u00e9 = 'cr\u00e8me'\n".encode("latin-1"))
    (root / "truncated.py").write_bytes("x = '\u00e9'\n".encode("utf-8")[:-3])
    (root / "locked.py").write_text("x = 1\n")
    os.symlink("self_loop.py", root / "self_loop.py")
    (root / "sub").mkdir()
    os.symlink("..", root / "sub" / "up")
    os.symlink("b.py", root / "a.py")
    os.symlink("a.py", root / "b.py")
    return root


def test_corrupt_repositories_give_a_clear_message_and_no_traceback(tmp_path, tiny_hf_checkpoint, monkeypatch,
                                                                    capsys):
    from training import repo_data

    repo = broken_repository(tmp_path / "broken")
    real_read_bytes = Path.read_bytes

    def read_bytes(path: Path) -> bytes:
        if path.name == "locked.py":  # tests run as root, so chmod cannot make it unreadable
            raise PermissionError(13, "Permission denied", str(path))
        return real_read_bytes(path)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    report = repo_data.collect_repository(repo).excluded.to_json()
    assert report["unreadable"]["files"] == 1 and report["binary"]["files"] == 2
    base = tiny_hf_checkpoint("llama", fim="starcoder")
    cases = {"broken": repo, "empty": tmp_path / "empty", "missing": tmp_path / "missing"}
    cases["empty"].mkdir()
    (cases["empty"] / "README.md").write_text("# nothing to learn\n")
    for name, path in cases.items():
        code = main(finetune_argv(path, base, tmp_path / f"work-{name}", "--out", str(tmp_path / f"out-{name}")))
        error = capsys.readouterr().err
        assert code == 2, name
        assert error.count("\n") == 1 and error.startswith("codegen-train: error: "), error
        assert not (tmp_path / f"out-{name}").exists()
