"""Shared fixtures: tiny random models of every family (tests/fixtures/factory.py), cached across sessions."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fixtures.factory import TinyModelFactory

# Keyed inside by a hash of the factory/export code and library versions, so a stale entry is never used.
TINY_MODEL_CACHE = Path(__file__).parent / ".cache" / "tiny-models"


@pytest.fixture(scope="session")
def tiny_models() -> TinyModelFactory:
    """The factory of tiny checkpoints and exported model directories."""
    return TinyModelFactory(TINY_MODEL_CACHE)


@pytest.fixture(scope="session")
def tiny_hf_checkpoint(tiny_models):
    """`tiny_hf_checkpoint(family, fim=None) -> Path`: a tiny Hugging Face checkpoint directory."""
    return tiny_models.checkpoint


@pytest.fixture(scope="session")
def tiny_model_dir(tiny_models):
    """`tiny_model_dir(family, quantize="none", fim=None) -> Path`: a tiny exported model directory."""
    return tiny_models.model_dir


@pytest.fixture(scope="session")
def tiny_model(tiny_model_dir) -> Path:
    """The default test model directory: Llama with StarCoder FIM tokens, unquantized (load it with model.load)."""
    return tiny_model_dir("llama", fim="starcoder")
