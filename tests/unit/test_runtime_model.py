"""The runtime on tiny exported models: parity, prefix reuse, streaming, stops, cancellation, errors."""

import itertools
import os
import shutil
import subprocess
import sys
import threading

import pytest

import model
from model import ModelError, generate
from model.decoder import Decoder
from model.generate import IncrementalDetokenizer, Request
from model.session import DecoderGraph
from model.store import ModelStore

FAMILIES = ("gpt2", "llama", "qwen2", "gpt_bigcode", "starcoder2")
PROMPT = "import os\n\n\nclass Reader:\n    def __init__(self, path):\n        self.path = path\n\n    def read(self):\n"


@pytest.fixture(scope="module")
def tiny(tiny_model):
    """The default tiny model, loaded once on CPU."""
    return model.load(tiny_model, device="cpu")


@pytest.fixture
def fresh(tiny):
    """The tiny model with an empty prefix cache."""
    tiny.forget_prompts()
    return tiny


@pytest.mark.parametrize("family", FAMILIES)
def test_greedy_matches_transformers_and_prefix_reuse_matches_cold(family, tiny_model_dir, tiny_hf_checkpoint):
    torch = pytest.importorskip("torch")
    from transformers import AutoModelForCausalLM

    loaded = model.load(tiny_model_dir(family), device="cpu")
    cold = loaded.generate_detailed(PROMPT, max_new_tokens=16)
    ids = loaded.tokenize(PROMPT)
    reference = AutoModelForCausalLM.from_pretrained(tiny_hf_checkpoint(family)).eval()
    with torch.no_grad():
        expected = reference.generate(
            torch.tensor([ids]), attention_mask=torch.ones(1, len(ids), dtype=torch.long), max_new_tokens=16,
            do_sample=False, eos_token_id=sorted(loaded.end_ids), pad_token_id=loaded.manifest.eos_token_ids[0],
        )[0, len(ids):].tolist()
    assert cold.token_ids == [t for t in expected if t not in loaded.end_ids]
    assert cold.reused_tokens == 0

    typed = PROMPT + "        with open(self.path) as f"
    warm = loaded.generate_detailed(typed, max_new_tokens=16)
    loaded.forget_prompts()
    typed_cold = loaded.generate_detailed(typed, max_new_tokens=16)
    assert warm.reused_tokens > len(ids) // 2
    assert warm.token_ids == typed_cold.token_ids and warm.text == typed_cold.text


def test_same_prompt_twice_reuses_all_but_one_token(fresh):
    first = fresh.generate_detailed(PROMPT, max_new_tokens=8)
    second = fresh.generate_detailed(PROMPT, max_new_tokens=8)
    assert second.reused_tokens == second.prompt_tokens - 1
    assert second.token_ids == first.token_ids


def test_streamed_pieces_make_up_the_text(fresh):
    pieces = []
    result = fresh.generate_detailed(PROMPT, max_new_tokens=24, on_token=pieces.append)
    assert "".join(pieces) == result.text and len(pieces) > 1
    assert result.finish_reason == "length" and len(result.token_ids) == 24
    assert result.first_token_s is not None and 0 < result.first_token_s <= result.total_s


def test_cancel_from_the_stream_stops_within_one_token(fresh):
    reference = fresh.generate_detailed(PROMPT, max_new_tokens=20)
    detokenizer = IncrementalDetokenizer(fresh.tokenizer)
    streamed = list(itertools.accumulate(bool(detokenizer.add(token)) for token in reference.token_ids))
    tokens_at_second_piece = streamed.index(2) + 1
    cancel = threading.Event()
    pieces = []

    def on_token(piece):
        pieces.append(piece)
        if len(pieces) == 2:
            cancel.set()

    result = fresh.generate_detailed(PROMPT, max_new_tokens=20, on_token=on_token, cancel=cancel)
    assert result.finish_reason == "cancelled"
    assert result.token_ids == reference.token_ids[:tokens_at_second_piece]
    assert len(pieces) == 2 and "".join(pieces) == result.text


def test_cancel_is_checked_once_between_tokens(fresh):
    checks = []

    def cancel():
        checks.append(True)
        return len(checks) == 3  # before the prompt, after token 1, after token 2

    result = fresh.generate_detailed(PROMPT, max_new_tokens=20, cancel=cancel)
    assert result.finish_reason == "cancelled" and len(result.token_ids) == 2


def test_cancelled_before_start_runs_nothing(fresh):
    cancel = threading.Event()
    cancel.set()
    result = fresh.generate_detailed(PROMPT, cancel=cancel)
    assert (result.text, result.token_ids, result.finish_reason, result.first_token_s) == ("", [], "cancelled", None)
    assert len(fresh.decoder.cache) == 0


def test_chunked_prefill_gives_the_same_tokens(fresh):
    tokens = fresh.tokenize(PROMPT)
    chunked = Decoder(fresh.decoder.session, prefill_chunk=4)
    result = generate.run(chunked, fresh.tokenizer, tokens, fresh.end_ids, Request(max_new_tokens=12))
    assert result.token_ids == fresh.generate_detailed(PROMPT, max_new_tokens=12).token_ids


def test_cancel_between_prefill_chunks_keeps_the_work_for_the_next_prompt(fresh):
    tokens = fresh.tokenize(PROMPT)
    chunked = Decoder(fresh.decoder.session, prefill_chunk=4)
    checks = []

    def cancel():
        checks.append(True)
        return len(checks) == 3  # before the prompt, after chunk 1, after chunk 2

    cancelled = generate.run(chunked, fresh.tokenizer, tokens, fresh.end_ids, Request(max_new_tokens=12, cancel=cancel))
    assert (cancelled.finish_reason, cancelled.token_ids, cancelled.first_token_s) == ("cancelled", [], None)
    resumed = generate.run(chunked, fresh.tokenizer, tokens, fresh.end_ids, Request(max_new_tokens=12))
    assert resumed.reused_tokens == 8
    assert resumed.token_ids == fresh.generate_detailed(PROMPT, max_new_tokens=12).token_ids


def test_stop_string_ends_the_text_before_it_and_is_never_streamed(fresh):
    full = fresh.generate(PROMPT, max_new_tokens=24)
    marker = full.strip()[3:6]
    assert marker and marker in full
    pieces = []
    result = fresh.generate_detailed(PROMPT, max_new_tokens=24, stop=[marker], on_token=pieces.append)
    assert result.finish_reason == "stop"
    assert result.text == full[: full.index(marker)]
    assert "".join(pieces) == result.text


def test_stop_callable_sees_the_text_so_far(fresh):
    full = fresh.generate(PROMPT, max_new_tokens=24)
    seen = []

    def stop(text):
        seen.append(text)
        return len(text) >= 5

    result = fresh.generate_detailed(PROMPT, max_new_tokens=24, stop=stop)
    assert result.finish_reason == "stop"
    assert len(result.text) >= 5 and full.startswith(result.text) and seen[-1] == result.text


def test_end_token_finishes_with_eos(fresh):
    tokens = fresh.tokenize(PROMPT)
    first = fresh.generate_detailed(PROMPT, max_new_tokens=1).token_ids[0]
    result = generate.run(fresh.decoder, fresh.tokenizer, tokens, {first}, Request(max_new_tokens=10))
    assert (result.finish_reason, result.token_ids, result.text) == ("eos", [], "")


def test_sampling_is_reproducible_with_a_seed(fresh):
    def sample(seed):
        return fresh.generate_detailed(PROMPT, max_new_tokens=16, temperature=1.5, top_p=0.95, seed=seed).token_ids

    assert sample(1) == sample(1)
    assert any(sample(seed) != sample(1) for seed in (2, 3, 4))


def test_empty_prompt_starts_from_the_start_token(fresh):
    result = fresh.generate_detailed("", max_new_tokens=4)
    assert result.prompt_tokens == 1 and result.finish_reason in ("length", "eos")


def test_long_prompt_is_cut_from_the_left_to_fit_the_context(fresh):
    context = fresh.manifest.context_length
    long_prompt = "x = 1\n" * context
    result = fresh.generate_detailed(long_prompt, max_new_tokens=16)
    assert result.prompt_tokens == context - 16
    assert len(result.token_ids) == 16


def test_fim_prompt_uses_the_manifest_tokens_and_fits_a_budget(fresh):
    fim = fresh.manifest.fim
    prompt = fresh.fim_prompt("def f(x):\n    return ", "\n\nprint(f(2))\n", path="a.py")
    assert prompt.startswith(f"{fim.file_separator}a.py\n{fim.prefix}") and prompt.endswith(fim.middle)
    cut = fresh.fim_prompt("a = 1\n" * 500 + "b = ", "", max_tokens=50)
    assert fresh.count_tokens(cut) <= 50 + 3 and cut.endswith(f"b = {fim.suffix}{fim.middle}")


def test_int8_model_generates(tiny_model_dir):
    loaded = model.load(tiny_model_dir("llama", "int8"), device="cpu")
    assert loaded.manifest.quantization == "int8"
    assert len(loaded.generate_detailed(PROMPT, max_new_tokens=8).token_ids) == 8


def test_load_through_a_store(tiny_model, tmp_path):
    store = ModelStore(tmp_path / "store")
    store.publish(tiny_model)
    loaded = model.load(store.root, device="cpu")
    assert loaded.path == store.current_path() and loaded.generate(PROMPT, max_new_tokens=4)


def test_missing_model_names_the_export_command(tmp_path):
    with pytest.raises(ModelError, match="model not found at .*codegen-train export"):
        model.load(tmp_path / "nowhere")


def test_truncated_onnx_file_is_reported_as_corrupt(tiny_model, tmp_path):
    copy = shutil.copytree(tiny_model, tmp_path / "copy")
    data = (copy / "model.onnx").read_bytes()
    (copy / "model.onnx").write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelError, match="corrupt: model.onnx"):
        model.load(copy)


def test_missing_tokenizer_is_reported_as_incomplete(tiny_model, tmp_path):
    copy = shutil.copytree(tiny_model, tmp_path / "copy")
    (copy / "tokenizer.json").unlink()
    with pytest.raises(ModelError, match="incomplete: tokenizer.json is missing"):
        model.load(copy)


def test_runtime_never_imports_torch(tiny_model):
    script = (
        "import sys, model\n"
        f"m = model.load({str(tiny_model)!r}, device='auto')\n"
        "m.generate(m.fim_prompt('def f(', ')'), max_new_tokens=4)\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
        "print('ok')\n"
    )
    completed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert completed.returncode == 0 and completed.stdout.strip() == "ok", completed.stderr


def test_llama_style_exports_use_the_fused_graph_and_others_optimums(tiny_model_dir):
    assert model.load(tiny_model_dir("llama"), device="cpu").decoder.graph.shared_cache
    assert model.load(tiny_model_dir("qwen2"), device="cpu").decoder.graph.shared_cache
    assert not model.load(tiny_model_dir("gpt2"), device="cpu").decoder.graph.shared_cache


def test_shared_cache_buffers_grow_with_the_sequence_and_keep_what_they_hold(tiny_model_dir, monkeypatch):
    import model.decoder

    loaded = model.load(tiny_model_dir("llama"), device="cpu")
    expected = loaded.generate_detailed(PROMPT, max_new_tokens=12).token_ids
    monkeypatch.setattr(model.decoder, "MIN_CACHE_POSITIONS", 8)
    small = Decoder(loaded.decoder.session, prefill_chunk=4)
    tokens = loaded.tokenize(PROMPT)
    result = generate.run(small, loaded.tokenizer, tokens, loaded.end_ids, Request(max_new_tokens=12))
    assert result.token_ids == expected
    (past,) = small.cache._entries.values()
    capacity = past.values[0].shape()[2]
    assert len(past.tokens) <= capacity < 2 * len(past.tokens) and capacity > 8


def test_a_prompt_and_its_generation_get_their_cache_buffers_once(tiny_model_dir, monkeypatch):
    import model.decoder

    loaded = model.load(tiny_model_dir("llama"), device="cpu")
    monkeypatch.setattr(model.decoder, "MIN_CACHE_POSITIONS", 8)
    chunked = Decoder(loaded.decoder.session, prefill_chunk=4)
    sizes = []
    original = DecoderGraph.empty_past
    monkeypatch.setattr(DecoderGraph, "empty_past", lambda graph, positions=0: sizes.append(positions) or original(graph, positions))
    tokens = loaded.tokenize(PROMPT)
    assert len(tokens) > 16
    chunked.start(tokens)
    assert sizes == [1 << (len(tokens) - 1).bit_length()]  # not 8, 16, 32... one copy per doubling between chunks
    sizes.clear()
    chunked.cache.clear()
    new_tokens = (1 << (len(tokens) - 1).bit_length()) - len(tokens) + 1  # one more than the prompt's buffers hold
    result = generate.run(chunked, loaded.tokenizer, tokens, frozenset(), Request(max_new_tokens=new_tokens))
    assert len(result.token_ids) == new_tokens
    assert sizes == [1 << (len(tokens) + new_tokens - 1).bit_length()]  # room for the generation made up front


def test_a_cached_prompt_overwritten_in_place_is_never_reused_stale(tiny_model_dir):
    loaded = model.load(tiny_model_dir("llama"), device="cpu")
    other = PROMPT.replace("def read(self):\n", "def write(self, data):\n")
    cold = loaded.generate_detailed(PROMPT, max_new_tokens=12)
    loaded.generate_detailed(other, max_new_tokens=12)  # extends PROMPT's buffers in place from where they differ
    again = loaded.generate_detailed(PROMPT, max_new_tokens=12)
    shared = len(os.path.commonprefix([loaded.tokenize(PROMPT), loaded.tokenize(other)]))
    assert again.reused_tokens <= shared
    assert again.token_ids == cold.token_ids


def test_fused_graph_computes_logits_only_where_asked(tiny_model_dir):
    import numpy as np

    decoder = model.load(tiny_model_dir("llama"), device="cpu").decoder
    tokens = list(range(10, 30))
    every = decoder.all_logits(tokens)
    last, _ = decoder.run(tokens, decoder._empty)
    assert decoder.graph.has_logit_positions and every.shape[0] == len(tokens) and last.shape[0] == 1
    np.testing.assert_allclose(last[0], every[-1], atol=1e-4)


def test_fused_graph_runs_the_last_layers_projection_and_mlp_on_the_logit_rows_only(tiny_model_dir):
    import onnx

    graph = onnx.load(str(tiny_model_dir("llama") / "model.onnx")).graph
    producers = {output: node for node in graph.node for output in node.output}
    projections = [node for node in graph.node if node.output[0].endswith("_o_out")]
    *earlier, last = sorted(projections, key=lambda node: int(node.output[0][1:].split("_")[0]))
    assert producers[last.input[0]].op_type == "Gather" and "logit_positions" in producers[last.input[0]].input
    assert all(producers[node.input[0]].op_type == "GroupQueryAttention" for node in earlier)


def test_one_token_steps_match_a_full_pass_while_alternating_between_two_caches(tiny_model_dir):
    import numpy as np

    decoder = model.load(tiny_model_dir("llama"), device="cpu").decoder
    first, second = list(range(10, 30)), list(range(40, 60))
    _, first_past, _ = decoder.start(first[:5])
    _, second_past, _ = decoder.start(second[:5])
    for end in range(6, 20):
        first_logits, first_past = decoder.forward(first[end - 1 : end], first_past)
        second_logits, second_past = decoder.forward(second[end - 1 : end], second_past)
        np.testing.assert_allclose(first_logits, decoder.all_logits(first[:end])[-1], atol=1e-4)
        np.testing.assert_allclose(second_logits, decoder.all_logits(second[:end])[-1], atol=1e-4)


@pytest.mark.parametrize("family", ["llama", "gpt2"])  # a fused (bound steps) and an optimum graph
def test_steps_on_a_separate_step_session_give_the_same_tokens(family, tiny_model_dir):
    import onnxruntime as ort

    from model.session import session_options

    loaded = model.load(tiny_model_dir(family), device="cpu")
    one_thread = ort.InferenceSession(str(loaded.path / "model.onnx"), sess_options=session_options(threads=1),
                                      providers=["CPUExecutionProvider"])
    step_runs = []

    class CountingSession:
        """The one-thread session, counting the runs it is given."""

        def __getattr__(self, name):
            return getattr(one_thread, name)

        def run_with_iobinding(self, binding, *args):
            step_runs.append(binding)
            return one_thread.run_with_iobinding(binding, *args)

    tokens = loaded.tokenize(PROMPT)
    results = []
    for decoder in (Decoder(loaded.decoder.session), Decoder(loaded.decoder.session, step_session=CountingSession())):
        results.append(generate.run(decoder, loaded.tokenizer, tokens, loaded.end_ids, Request(max_new_tokens=12)))
    assert results[0].token_ids == results[1].token_ids
    assert len(step_runs) == len(results[1].token_ids) - 1 > 0  # every token after the prompt's first was a step


def test_each_request_runs_on_the_spinning_session_only_while_the_cores_are_idle(tiny_model_dir):
    import onnxruntime as ort

    from model.session import session_options

    loaded = model.load(tiny_model_dir("llama"), device="cpu")
    runs = []

    class Counting:
        """A session of the model, recording which of them each run went to."""

        def __init__(self, name, options):
            self.name = name
            self.session = ort.InferenceSession(str(loaded.path / "model.onnx"), sess_options=options,
                                                providers=["CPUExecutionProvider"])

        def __getattr__(self, name):
            return getattr(self.session, name)

        def run_with_iobinding(self, binding, *args):
            runs.append(self.name)
            return self.session.run_with_iobinding(binding, *args)

    class Answers:
        def __init__(self, *answers):
            self.answers = list(answers)

        def idle(self):
            return self.answers.pop(0)

    decoder = Decoder(Counting("main", session_options()), step_session=Counting("step", session_options(threads=1)),
                      spinning_session=Counting("spinning", session_options(spinning=True)),
                      idle_cores=Answers(True, False, True))
    tokens = loaded.tokenize(PROMPT)
    plain = generate.run(Decoder(loaded.decoder.session), loaded.tokenizer, tokens, loaded.end_ids, Request(max_new_tokens=8))
    steps = len(plain.token_ids) - 1
    assert steps > 0
    for expected in (["spinning"] * (1 + steps), ["main"] + ["step"] * steps, ["spinning"] * (1 + steps)):
        runs.clear()
        decoder.cache.clear()
        result = generate.run(decoder, loaded.tokenizer, tokens, loaded.end_ids, Request(max_new_tokens=8))
        assert result.token_ids == plain.token_ids and runs == expected


def test_repetition_penalty_changes_a_looping_greedy_generation(fresh):
    plain = fresh.generate_detailed(PROMPT, max_new_tokens=24)
    penalized = fresh.generate_detailed(PROMPT, max_new_tokens=24, repetition_penalty=3.0)
    assert len(set(plain.token_ids)) < len(plain.token_ids)  # the tiny random model repeats itself
    assert len(set(penalized.token_ids)) > len(set(plain.token_ids))
