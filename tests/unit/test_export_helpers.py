"""Pure helpers of training.export: FIM detection, stop tokens, quantization choice, shapes, logit comparison."""

import numpy as np
import pytest

from model.manifest import FimTokens
from training.export import (
    ExportError,
    as_id_list,
    compare_logits,
    context_length_of,
    detect_fim,
    resolve_quantization,
    stop_tokens,
)


def vocab(*tokens):
    return {token: index for index, token in enumerate(["a", "b", *tokens])}


@pytest.mark.parametrize(
    ("tokens", "expected"),
    [
        (
            ["<|endoftext|>", "<fim_prefix>", "<fim_middle>", "<fim_suffix>", "<fim_pad>", "<file_sep>"],
            FimTokens("starcoder", "<fim_prefix>", "<fim_suffix>", "<fim_middle>", file_separator="<file_sep>"),
        ),
        (
            ["<fim_prefix>", "<fim_middle>", "<fim_suffix>", "<filename>", "<reponame>"],
            FimTokens("starcoder", "<fim_prefix>", "<fim_suffix>", "<fim_middle>", "<filename>", "<reponame>"),
        ),
        (["<fim-prefix>", "<fim-middle>", "<fim-suffix>"], FimTokens("starcoder", "<fim-prefix>", "<fim-suffix>", "<fim-middle>")),
        (
            ["<|fim_prefix|>", "<|fim_middle|>", "<|fim_suffix|>", "<|fim_pad|>", "<|repo_name|>", "<|file_sep|>"],
            FimTokens("qwen", "<|fim_prefix|>", "<|fim_suffix|>", "<|fim_middle|>", "<|file_sep|>", "<|repo_name|>"),
        ),
        (["<s>", "</s>", "<PRE>", "<SUF>", "<MID>", "<EOT>"], FimTokens("codellama", "<PRE>", "<SUF>", "<MID>")),
        (["▁<PRE>", "▁<SUF>", "▁<MID>", "▁<EOT>"], FimTokens("codellama", "▁<PRE>", "▁<SUF>", "▁<MID>")),
        (
            ["<｜fim▁begin｜>", "<｜fim▁hole｜>", "<｜fim▁end｜>"],
            FimTokens("deepseek", "<｜fim▁begin｜>", "<｜fim▁hole｜>", "<｜fim▁end｜>"),
        ),
        (["<|endoftext|>"], None),
        (["<fim_prefix>", "<fim_suffix>"], None),  # incomplete set: no FIM
    ],
)
def test_detect_fim_reads_the_convention_from_the_vocabulary(tokens, expected):
    assert detect_fim(vocab(*tokens)) == expected


def test_stop_tokens_are_eos_file_separator_and_end_of_infill_in_the_vocabulary():
    starcoder = FimTokens("starcoder", "<fim_prefix>", "<fim_suffix>", "<fim_middle>", file_separator="<file_sep>")
    assert stop_tokens(["<|endoftext|>"], starcoder, vocab("<|endoftext|>", "<file_sep>")) == ["<|endoftext|>", "<file_sep>"]
    codellama = FimTokens("codellama", "<PRE>", "<SUF>", "<MID>")
    assert stop_tokens(["</s>"], codellama, vocab("</s>", "<EOT>")) == ["</s>", "<EOT>"]
    assert stop_tokens(["<|endoftext|>"], None, vocab("<|endoftext|>")) == ["<|endoftext|>"]
    assert stop_tokens(["<missing>"], None, vocab()) == []


@pytest.mark.parametrize(
    ("requested", "providers", "expected"),
    [
        ("auto", ["CPUExecutionProvider"], "int8"),
        ("auto", ["CUDAExecutionProvider", "CPUExecutionProvider"], "fp16"),
        ("none", ["CUDAExecutionProvider"], "none"),
        ("fp16", ["CPUExecutionProvider"], "fp16"),
    ],
)
def test_resolve_quantization(requested, providers, expected):
    assert resolve_quantization(requested, providers) == expected


def test_resolve_quantization_rejects_unknown_choice():
    with pytest.raises(ExportError, match="unknown quantization 'int4'"):
        resolve_quantization("int4", [])


def test_as_id_list_accepts_none_int_and_list():
    assert as_id_list(None) == []
    assert as_id_list(2) == [2]
    assert as_id_list([2, 7]) == [2, 7]


class _Config:
    model_type = "custom"

    def __init__(self, **fields):
        self.__dict__.update(fields)


def test_context_length_reads_the_family_specific_attribute():
    assert context_length_of(_Config(max_position_embeddings=4096)) == 4096
    assert context_length_of(_Config(n_positions=1024)) == 1024
    with pytest.raises(ExportError, match="context length"):
        context_length_of(_Config())


def test_compare_logits_reports_difference_scale_and_argmax_agreement():
    reference = [np.array([[1.0, -4.0, 2.0], [0.0, 3.0, 1.0]])]
    candidate = [np.array([[1.5, -4.0, 2.0], [0.0, 1.0, 2.0]])]
    assert compare_logits(reference, candidate) == {"max_abs_logit_diff": 2.0, "max_abs_logit": 4.0, "top1_agreement": 0.5}


def test_fused_graph_is_used_only_for_configs_it_reproduces():
    from transformers import GPT2Config, LlamaConfig, Qwen2Config

    from training import fused_graph

    assert fused_graph.supports(LlamaConfig(architectures=["LlamaForCausalLM"]))
    assert fused_graph.supports(LlamaConfig(architectures=["LlamaForCausalLM"], rope_scaling={"rope_type": "linear", "factor": 4.0}))
    assert fused_graph.supports(Qwen2Config(architectures=["Qwen2ForCausalLM"]))
    assert not fused_graph.supports(Qwen2Config(architectures=["Qwen2ForCausalLM"], use_sliding_window=True, sliding_window=64))
    assert not fused_graph.supports(LlamaConfig(architectures=["LlamaForCausalLM"], rope_scaling={"rope_type": "dynamic", "factor": 2.0}))
    assert not fused_graph.supports(LlamaConfig(architectures=["LlamaForCausalLM"], hidden_act="gelu"))
    assert not fused_graph.supports(GPT2Config(architectures=["GPT2LMHeadModel"]))


def test_publish_with_overwrite_swaps_in_the_new_model_and_removes_the_old(tmp_path):
    from training.export import publish

    staging, out = tmp_path / ".staging", tmp_path / "model"
    for directory, text in ((staging, "new"), (out, "old")):
        directory.mkdir()
        (directory / "manifest.json").write_text(text)
    publish(staging, out, overwrite=True)
    assert (out / "manifest.json").read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]


def test_exchange_paths_swaps_two_directories_atomically(tmp_path):
    from training.export import exchange_paths

    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir()
    second.mkdir()
    (first / "f").write_text("a")
    (second / "f").write_text("b")
    assert exchange_paths(first, second)  # Linux with glibc >= 2.28 (where the project runs)
    assert ((first / "f").read_text(), (second / "f").read_text()) == ("b", "a")
