"""Model store: publish, switch, roll back, resolve (model.store)."""

import pytest

import model
from model import ModelError
from model.manifest import Manifest
from model.runtime import resolve
from model.store import POINTER_FILE, ModelStore, default_store_root


def make_model_dir(path, weights: bytes):
    """A verified stand-in model directory whose model.onnx holds `weights`."""
    path.mkdir(parents=True)
    (path / "model.onnx").write_bytes(weights)
    (path / "tokenizer.json").write_text("{}")
    Manifest(family="llama", architecture="LlamaForCausalLM", context_length=64, eos_token_ids=[0]).record_files(path).write(path)
    return path


def test_publish_makes_a_verified_copy_current(tmp_path):
    store = ModelStore(tmp_path / "store")
    version = store.publish(make_model_dir(tmp_path / "a", b"one"))
    assert store.list() == [version]
    assert store.current() == version
    assert (store.current_path() / "model.onnx").read_bytes() == b"one"


def test_rollback_returns_to_the_previous_version(tmp_path):
    store = ModelStore(tmp_path / "store")
    first = store.publish(make_model_dir(tmp_path / "a", b"one"))
    second = store.publish(make_model_dir(tmp_path / "b", b"two"))
    assert first != second and store.current() == second
    assert store.rollback() == first
    assert store.current() == first
    with pytest.raises(ModelError, match="no earlier model version"):
        store.rollback()


def test_use_switches_between_published_versions(tmp_path):
    store = ModelStore(tmp_path / "store")
    first = store.publish(make_model_dir(tmp_path / "a", b"one"))
    second = store.publish(make_model_dir(tmp_path / "b", b"two"), activate=False)
    assert store.current() == first
    store.use(second)
    assert store.current() == second


def test_corrupt_source_is_not_published(tmp_path):
    store = ModelStore(tmp_path / "store")
    first = store.publish(make_model_dir(tmp_path / "a", b"one"))
    broken = make_model_dir(tmp_path / "b", b"two")
    (broken / "model.onnx").write_bytes(b"truncated")
    with pytest.raises(ModelError, match="corrupt"):
        store.publish(broken)
    assert store.list() == [first] and store.current() == first


def test_pointer_never_names_a_corrupted_version(tmp_path):
    store = ModelStore(tmp_path / "store")
    first = store.publish(make_model_dir(tmp_path / "a", b"one"))
    second = store.publish(make_model_dir(tmp_path / "b", b"two"), activate=False)
    (store.versions_dir / second / "model.onnx").write_bytes(b"bit rot")
    with pytest.raises(ModelError, match="corrupt"):
        store.use(second)
    assert store.current() == first


def test_unknown_version_is_a_clear_error(tmp_path):
    with pytest.raises(ModelError, match="no model version 'nope'"):
        ModelStore(tmp_path).use("nope")


def test_empty_store_has_no_current_version(tmp_path):
    store = ModelStore(tmp_path / "empty")
    assert (store.list(), store.current(), store.current_path()) == ([], None, None)


def test_damaged_pointer_is_a_model_error(tmp_path):
    (tmp_path / POINTER_FILE).write_text("garbage")
    with pytest.raises(ModelError, match="invalid model store pointer"):
        ModelStore(tmp_path).current()


def test_resolve_turns_a_store_into_its_current_version(tmp_path):
    store = ModelStore(tmp_path / "store")
    store.publish(make_model_dir(tmp_path / "a", b"one"))
    assert resolve(store.root) == store.current_path()
    assert resolve(tmp_path / "a") == tmp_path / "a"


def test_resolve_rejects_a_store_without_current_version(tmp_path):
    (tmp_path / "versions").mkdir()
    with pytest.raises(ModelError, match="no current version"):
        resolve(tmp_path)


def test_store_location_follows_codegen_lsp_home(tmp_path, monkeypatch):
    monkeypatch.setenv("CODEGEN_LSP_HOME", str(tmp_path))
    assert default_store_root() == tmp_path / "models"


def test_default_model_path_prefers_the_published_version(tmp_path, monkeypatch):
    monkeypatch.setenv("CODEGEN_LSP_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("CODEGEN_LSP_CACHE", str(tmp_path / "cache"))
    assert model.default_model_path() == tmp_path / "cache" / "default-model"  # what `codegen-lsp setup` builds
    version = ModelStore().publish(make_model_dir(tmp_path / "a", b"one"))
    assert model.default_model_path() == tmp_path / "home" / "models" / "versions" / version


def test_publishing_the_same_model_twice_gives_two_versions(tmp_path):
    store = ModelStore(tmp_path / "store")
    source = make_model_dir(tmp_path / "a", b"one")
    assert len({store.publish(source), store.publish(source)}) == 2
