"""bench/peers.py: its pure helpers, and the engines it times agreeing on the tiny Llama (no timing asserted)."""

import pytest

from bench import peers
from bench.common import summary


def test_appended_runs_grow_by_one_and_never_share_a_first_token():
    continuation = [7, 7, 8, 7, 9, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20]
    runs = peers.appended_runs(continuation)
    assert [len(run) for run in runs] == [1, 2, 3, 4, 5]
    assert len({run[0] for run in runs}) == 5
    assert runs[0] == [7] and runs[1] == [8, 7]


def test_prompt_lengths_are_512_and_2048_capped_below_the_context():
    assert peers.prompt_lengths(4096) == (512, 2048)
    assert peers.prompt_lengths(1024) == (512, 1016)
    assert peers.prompt_lengths(256) == (248, 248)


def test_ratio_cell_reads_as_speed_against_the_baseline():
    assert peers.ratio_cell([10, 20, 30], [10, 10, 10]) == "20 [10-30] (2.00x)"
    assert peers.ratio_cell([0.002, 0.004], [0.004], scale=1000, digits=1, faster_is_lower=True) == "3.0 [2.0-4.0] (1.33x)"
    assert peers.ratio_cell([], [1.0]) == "-"
    assert summary([1.5], digits=1) == "1.5 [1.5-1.5]"


def test_our_runtime_and_pytorch_engines_agree_and_report_every_column(tiny_model_dir, tiny_hf_checkpoint):
    pytest.importorskip("torch")
    ids = list(range(40, 100))
    spec = {
        "ids": ids, "threads": 1, "context_length": 128, "prefill_lengths": [16, 32],
        "decode_prompt": 16, "new_tokens": 4, "cached_length": 30, "appended": peers.appended_runs(ids[30:]),
        "parity_prompt": 24, "parity_tokens": 6,
    }
    rows = [peers.Row("ours", {**spec, "engine": "ours", "path": str(tiny_model_dir("llama"))}),
            peers.Row("eager", {**spec, "engine": "torch", "path": str(tiny_hf_checkpoint("llama"))})]
    peers.measure_rows(rows, 2, peers.python_for)  # each engine in its own worker process, rounds interleaved
    ours, eager = (row.result for row in rows)
    assert ours["greedy"] == eager["greedy"] and len(ours["greedy"]) == 6
    for result in (ours, eager):
        assert set(result["prefill"]) == {"16", "32"}
        assert len(result["prefill"]["32"]) == len(result["decode"]) == 2 and len(result["extend"]) == 2 * 5
        assert all(value > 0 for value in [*result["prefill"]["32"], *result["decode"], *result["extend"], result["peak_rss_mb"]])


def test_a_failing_worker_is_reported_with_its_error(tmp_path):
    spec = {"engine": "ours", "path": str(tmp_path / "missing"), "threads": 1, "ids": [1, 2], "parity_prompt": 2, "parity_tokens": 1}
    row = peers.Row("broken", spec)
    with pytest.raises(SystemExit, match="(?s)broken failed .*missing"):
        peers.measure_rows([row], 1, peers.python_for)


def test_cpu_table_puts_the_int8_runtime_at_one():
    result = {"greedy": [1, 2], "prefill": {"512": [100.0], "1016": [50.0]}, "decode": [20.0], "extend": [0.01], "peak_rss_mb": 200.0}
    rows = [peers.Row(peers.BASELINE, {}, result), peers.Row("llama.cpp q8_0", {}, {**result, "decode": [40.0], "greedy": [1, 3]})]
    table = peers.cpu_table(rows, [1, 2], [512, 1016], 1024).splitlines()
    assert "prefill 1016 tok/s (context cap)" in table[0]
    assert table[2].startswith(f"| {peers.BASELINE} | 2/2 | 100 [100-100] (1.00x)")
    assert "| 1/2 |" in table[3] and "40.0 [40.0-40.0] (2.00x)" in table[3]
