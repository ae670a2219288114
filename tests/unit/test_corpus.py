"""Pretraining data: the deterministic file split, FIM examples, chunks and packed batches."""

from pathlib import Path

import numpy as np
import pytest

from training.config import preset
from training.corpus import SourceFile, file_chunks, is_test_file, line_chunks, sample_test_files, split_stdlib
from training.fim import fim_transform
from training.tokenizer import FILE_SEP, FIM_MIDDLE, FIM_PREFIX, FIM_SUFFIX, SPECIAL_TOKENS, train_tokenizer
from training.train import PackedBatches, TrainState, example_text, learning_rate


def source(rel: str, text: str = "x = 1\n") -> SourceFile:
    return SourceFile(Path("/lib") / rel, rel, text)


def stdlib_like_files() -> list[SourceFile]:
    modules = [source(f"pkg{i}/mod{j}.py") for i in range(10) for j in range(10)]
    tests = [source(f"test/test_mod{j}.py") for j in range(10)] + [source("test/test_support.py")]
    return modules + tests


def test_split_is_deterministic_and_holds_out_at_least_the_fraction_of_all_files():
    files = stdlib_like_files()
    train, held = split_stdlib(files, 0.05)
    assert {f.rel for f in held} == {f.rel for f in split_stdlib(files[::-1], 0.05)[1]}  # order-independent
    assert len(held) >= 0.05 * len(files)
    assert not {f.rel for f in held} & {f.rel for f in train}
    assert not any(is_test_file(f.rel) for f in held)


def test_tests_of_a_held_out_module_are_not_trained_on():
    files = stdlib_like_files()
    train, held = split_stdlib(files, 0.05)
    held_stems = {Path(f.rel).stem for f in held}
    trained_tests = {Path(f.rel).stem.removeprefix("test_") for f in train if is_test_file(f.rel)}
    assert not held_stems & trained_tests
    assert "test/test_support.py" in {f.rel for f in train}


@pytest.mark.parametrize("rel, expected", [
    ("test/test_json.py", True), ("idlelib/idle_test/test_x.py", True), ("unittest/tests/a.py", True),
    ("json/decoder.py", False), ("unittest/case.py", False),
])
def test_is_test_file(rel, expected):
    assert is_test_file(rel) is expected


def test_fim_examples_keep_every_character_and_use_both_orders():
    text = "def add(a, b):\n    return a + b\n"
    rng = np.random.default_rng(0)
    seen = set()
    for _ in range(200):
        example = fim_transform(text, rng, fim_rate=0.5, spm_rate=0.5)
        if example == text:
            seen.add("plain")
            continue
        assert example.startswith(FIM_PREFIX) and FIM_MIDDLE in example
        if example.startswith(FIM_PREFIX + FIM_SUFFIX):
            seen.add("spm")
            suffix, rest = example.removeprefix(FIM_PREFIX + FIM_SUFFIX).split(FIM_MIDDLE)
            assert text == rest + suffix
        else:
            seen.add("psm")
            prefix, rest = example.removeprefix(FIM_PREFIX).split(FIM_SUFFIX)
            suffix, middle = rest.split(FIM_MIDDLE)
            assert prefix + middle + suffix == text
    assert seen == {"plain", "psm", "spm"}


def test_line_aligned_fim_middles_are_one_to_three_whole_lines():
    text = "".join(f"line {i}\n" for i in range(10)) + "last line without newline"
    rng = np.random.default_rng(0)
    middles = set()
    for _ in range(300):
        example = fim_transform(text, rng, fim_rate=1.0, spm_rate=0.0, line_rate=1.0)
        prefix, rest = example.removeprefix(FIM_PREFIX).split(FIM_SUFFIX)
        suffix, middle = rest.split(FIM_MIDDLE)
        assert prefix + middle + suffix == text
        assert prefix == "" or prefix.endswith("\n")
        assert 1 <= len(middle.splitlines()) <= 3 and (middle.endswith("\n") or not suffix)
        middles.add(middle)
    assert "line 0\n" in middles and "last line without newline" in middles
    assert {len(m.splitlines()) for m in middles} == {1, 2, 3}


@pytest.fixture(scope="module")
def tokenizer():
    texts = ["def f(x):\n    return x + 1\n" * 50, "class A:\n    pass\n" * 50]
    return train_tokenizer(texts, vocab_size=300)


def test_tokenizer_keeps_special_tokens_whole(tokenizer):
    for token in SPECIAL_TOKENS:
        assert tokenizer.encode(f"a{token}b").tokens.count(token) == 1


def test_line_chunks_split_at_line_boundaries_within_budget(tokenizer):
    text = "".join(f"value_{i} = compute({i})\n" for i in range(200))
    chunks = line_chunks(text, tokenizer, max_tokens=64)
    assert "".join(chunks) == text
    assert len(chunks) > 1 and all(c.endswith("\n") for c in chunks)
    assert all(len(tokenizer.encode(c).ids) <= 64 for c in chunks)


def test_examples_carry_the_file_path_header(tokenizer):
    chunk = file_chunks([source("json/decoder.py", "x = 1\n")], tokenizer, 64)[0]
    config = preset("tiny", fim_rate=0.0)
    assert example_text(chunk, np.random.default_rng(0), config) == f"{FILE_SEP}json/decoder.py\nx = 1\n"


def test_packed_batches_are_reproducible_per_index(tokenizer):
    config = preset("tiny")
    chunks = file_chunks([source("a.py", "def f(x):\n    return x\n" * 20)], tokenizer, 64)
    batches = PackedBatches(chunks, tokenizer, config)
    first = batches.batch(3)
    assert first.shape == (config.batch_size, config.block_size + 1)
    assert (first == PackedBatches(chunks, tokenizer, config).batch(3)).all()
    assert not (first == batches.batch(4)).all()


def test_learning_rate_warms_up_then_decays_on_the_time_budget():
    config = preset("tiny", warmup_steps=10, max_steps=1000, minutes=1.0)
    rates = [learning_rate(config, TrainState(step=s, elapsed=e)) for s, e in [(0, 0), (9, 1), (10, 1), (11, 30), (12, 60)]]
    assert rates[0] < rates[1] == pytest.approx(config.learning_rate)
    assert rates[2] > rates[3] > rates[4] == pytest.approx(config.min_lr)


def test_sample_test_files_keeps_every_library_module_and_a_stable_share_of_the_tests():
    library = [SourceFile(Path(f"m{i}.py"), f"pkg/m{i}.py", "x = 1\n") for i in range(50)]
    tests = [SourceFile(Path(f"t{i}.py"), f"test/test_m{i}.py", "x = 1\n") for i in range(400)]
    half = sample_test_files(library + tests, 0.5)
    assert [f for f in half if f in library] == library
    assert 150 < len(half) - len(library) < 250
    assert half == sample_test_files(library + tests, 0.5)
    assert sample_test_files(library + tests, 0.0) == library
    assert sample_test_files(library + tests, 1.0) == library + tests
