"""Provider selection, session options and cache-input discovery (model.session), without a GPU."""

import logging
from dataclasses import dataclass

import numpy as np
import onnxruntime as ort
import pytest

from model import ModelError
from model.session import (CPU, CUDA, DecoderGraph, choose_providers, create_session, create_spinning_session,
                           create_step_session, physical_core_count, session_options, share_cpu_arena)


@pytest.mark.parametrize(
    "available, device, expected",
    [
        ([CPU], "auto", [CPU]),
        ([CUDA, CPU], "auto", [CUDA, CPU]),
        ([CUDA, CPU], "cpu", [CPU]),
        ([CUDA, CPU], "cuda", [CUDA, CPU]),
        (["AzureExecutionProvider", CPU], "auto", [CPU]),
    ],
)
def test_choose_providers(available, device, expected):
    assert choose_providers(available, device) == expected


def test_forcing_cuda_without_the_provider_names_the_fix():
    with pytest.raises(ModelError, match="install onnxruntime-gpu"):
        choose_providers([CPU], "cuda")


def test_unknown_device_is_rejected():
    with pytest.raises(ModelError, match="unknown device 'tpu'"):
        choose_providers([CPU], "tpu")


class FakeSession:
    def __init__(self, providers):
        self.providers = providers

    def get_providers(self):
        return self.providers


def test_cuda_session_that_fails_to_start_falls_back_to_cpu(caplog):
    attempts = []

    def factory(path, sess_options, providers):
        attempts.append(providers)
        if CUDA in providers:
            raise RuntimeError("CUDA driver version is insufficient")
        return FakeSession(providers)

    with caplog.at_level(logging.WARNING, logger="model.session"):
        session = create_session("model.onnx", "auto", available=[CUDA, CPU], factory=factory)
    assert session.get_providers() == [CPU]
    assert attempts == [[CUDA, CPU], [CPU]]
    assert "CUDA driver version is insufficient" in caplog.text


def test_cuda_session_silently_on_cpu_is_logged(caplog):
    def factory(path, sess_options, providers):
        return FakeSession([CPU])

    with caplog.at_level(logging.WARNING, logger="model.session"):
        session = create_session("model.onnx", "cuda", available=[CUDA, CPU], factory=factory)
    assert session.get_providers() == [CPU]
    assert "could not start CUDA" in caplog.text


def test_cpu_session_creation_failure_is_a_model_error(tmp_path):
    (tmp_path / "model.onnx").write_bytes(b"not a graph")
    with pytest.raises(ModelError, match="cannot load .*model.onnx"):
        create_session(tmp_path / "model.onnx", "cpu")


def test_session_options_suit_one_interactive_request():
    options = session_options()
    assert options.intra_op_num_threads == physical_core_count() >= 1
    assert options.inter_op_num_threads == 1
    assert options.execution_mode == ort.ExecutionMode.ORT_SEQUENTIAL
    assert options.graph_optimization_level == ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    assert options.get_session_config_entry("session.intra_op.allow_spinning") == "0"
    assert options.get_session_config_entry("session.use_env_allocators") == "1"


def test_one_thread_options_on_request():
    assert session_options(threads=1).intra_op_num_threads == 1


def test_spinning_options_spin_only_while_a_run_lasts():
    options = session_options(spinning=True)
    assert options.get_session_config_entry("session.intra_op.allow_spinning") == "1"
    assert options.get_session_config_entry("session.force_spinning_stop") == "1"


@pytest.fixture
def small_onnx(tmp_path):
    path = tmp_path / "model.onnx"
    path.write_bytes(b"\0" * 1024)
    return path


def record_options(calls):
    def factory(path, sess_options, providers):
        spinning = sess_options.get_session_config_entry("session.intra_op.allow_spinning") == "1"
        calls.append((sess_options.intra_op_num_threads, spinning, providers))
        return FakeSession(providers)
    return factory


@pytest.mark.parametrize("create, threads, spinning", [(create_step_session, 1, False), (create_spinning_session, 4, True)])
def test_small_cpu_model_gets_a_step_session_and_a_spinning_one(create, threads, spinning, small_onnx, monkeypatch):
    monkeypatch.setattr("model.session.physical_core_count", lambda: 4)
    calls = []
    second = create(small_onnx, FakeSession([CPU]), factory=record_options(calls))
    assert second is not None and calls == [(threads, spinning, [CPU])]


@pytest.mark.parametrize("create", [create_step_session, create_spinning_session])
@pytest.mark.parametrize("case", ["cuda", "one core", "large"])
def test_no_second_session_on_cuda_one_core_or_a_large_model(create, case, small_onnx, monkeypatch):
    monkeypatch.setattr("model.session.physical_core_count", lambda: 1 if case == "one core" else 4)
    if case == "large":
        monkeypatch.setattr("model.session.SMALL_MODEL_MAX_BYTES", 1023)
    calls = []
    main = FakeSession([CUDA, CPU] if case == "cuda" else [CPU])
    assert create(small_onnx, main, factory=record_options(calls)) is None and calls == []


@pytest.mark.parametrize("create, kind", [(create_step_session, "one-thread step"), (create_spinning_session, "spinning")])
def test_a_second_session_that_fails_to_load_leaves_the_runs_on_the_main_session(create, kind, small_onnx, monkeypatch,
                                                                                   caplog):
    monkeypatch.setattr("model.session.physical_core_count", lambda: 4)

    def failing(path, sess_options, providers):
        raise RuntimeError("out of memory")

    with caplog.at_level(logging.WARNING, logger="model.session"):
        assert create(small_onnx, FakeSession([CPU]), factory=failing) is None
    assert f"{kind} session for" in caplog.text and "out of memory" in caplog.text


@dataclass
class Node:
    name: str
    shape: list
    type: str = "tensor(float)"


class FakeGraphSession:
    def __init__(self, inputs, outputs):
        self.inputs, self.outputs = inputs, outputs

    def get_inputs(self):
        return self.inputs

    def get_outputs(self):
        return [Node(name, []) for name in self.outputs]


def test_gpt_bigcode_fused_cache_is_discovered_with_its_sequence_axis():
    inputs = [
        Node("input_ids", ["batch_size", "sequence_length"], "tensor(int64)"),
        Node("past_key_values.1.key_value", ["batch_size", "past_sequence_length", 128]),
        Node("past_key_values.0.key_value", ["batch_size", "past_sequence_length", 128]),
        Node("attention_mask", ["batch_size", "past_sequence_length + sequence_length"], "tensor(int64)"),
    ]
    graph = DecoderGraph.of(FakeGraphSession(inputs, ["logits", "present.0.key_value", "present.1.key_value"]))
    assert [p.name for p in graph.past] == ["past_key_values.0.key_value", "past_key_values.1.key_value"]
    assert graph.past[0].shape == (1, 0, 128) and graph.past[0].sequence_axis == 1
    assert graph.output_names == ("logits", "present.0.key_value", "present.1.key_value")
    assert graph.has_attention_mask and not graph.has_position_ids


def test_llama_cache_layout_and_feed():
    inputs = [
        Node("input_ids", ["batch_size", "sequence_length"], "tensor(int64)"),
        Node("attention_mask", ["batch_size", "past_sequence_length + sequence_length"], "tensor(int64)"),
        Node("position_ids", ["batch_size", "sequence_length"], "tensor(int64)"),
        Node("past_key_values.0.key", ["batch_size", 2, "past_sequence_length", 16], "tensor(float16)"),
        Node("past_key_values.0.value", ["batch_size", 2, "past_sequence_length", 16], "tensor(float16)"),
    ]
    graph = DecoderGraph.of(FakeGraphSession(inputs, ["logits", "present.0.key", "present.0.value"]))
    assert [(p.shape, p.sequence_axis, p.dtype) for p in graph.past] == [((1, 2, 0, 16), 2, np.float16)] * 2
    feed = graph.feed([7, 8], past_length=3)
    assert feed["input_ids"].tolist() == [[7, 8]]
    assert feed["attention_mask"].tolist() == [[1, 1, 1, 1, 1]]
    assert feed["position_ids"].tolist() == [[3, 4]]


def test_graph_without_cache_inputs_is_rejected():
    inputs = [Node("input_ids", ["batch_size", "sequence_length"], "tensor(int64)")]
    with pytest.raises(ModelError, match="not a text-generation-with-past graph"):
        DecoderGraph.of(FakeGraphSession(inputs, ["logits"]))


def test_the_shared_cpu_arena_is_registered_once_per_process(monkeypatch):
    calls = []
    monkeypatch.setattr("model.session._shared_cpu_arena", False)
    monkeypatch.setattr(ort, "create_and_register_allocator", lambda memory, arena: calls.append(memory.name))
    session_options()
    session_options(threads=1)
    share_cpu_arena()
    assert calls == ["Cpu"]


def test_sessions_on_the_shared_cpu_arena_compute_alike(tmp_path):
    from onnx import TensorProto, helper, numpy_helper, save_model

    weight = numpy_helper.from_array(np.arange(12, dtype=np.float32).reshape(3, 4), "weight")
    graph = helper.make_graph([helper.make_node("MatMul", ["x", "weight"], ["y"])], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 4])], [weight])
    path = tmp_path / "matmul.onnx"
    save_model(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    first, second = (ort.InferenceSession(str(path), sess_options=session_options(threads), providers=[CPU])
                     for threads in (1, 2))
    x = np.ones((2, 3), dtype=np.float32)
    expected = x @ np.arange(12, dtype=np.float32).reshape(3, 4)
    assert np.array_equal(first.run(None, {"x": x})[0], expected)
    assert np.array_equal(second.run(None, {"x": x})[0], expected)
