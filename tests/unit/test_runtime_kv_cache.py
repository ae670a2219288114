"""Longest-common-prefix reuse of past key/values (model.kv_cache)."""

import numpy as np
import onnxruntime as ort
import pytest

from model.kv_cache import Past, PrefixCache, common_prefix_length, reusable_length


def make_past(tokens, layers=1):
    """A Past whose arrays hold each position's token id along the sequence axis (axis 2)."""
    array = np.broadcast_to(np.asarray(tokens, dtype=np.float32)[None, None, :, None], (1, 2, len(tokens), 3)).copy()
    return Past(tuple(tokens), tuple(ort.OrtValue.ortvalue_from_numpy(array.copy()) for _ in range(2 * layers)))


def test_common_prefix_length():
    assert common_prefix_length([1, 2, 3], [1, 2, 4, 5]) == 2
    assert common_prefix_length([], [1]) == 0
    assert common_prefix_length([1, 2], [1, 2, 3]) == 2
    assert common_prefix_length((1, 2, 3), [1, 2, 3]) == 3  # a tuple against a list


@pytest.mark.parametrize("length", [1, 2, 7, 64, 1000])
def test_common_prefix_length_finds_the_first_difference_anywhere(length):
    first = tuple(range(length))
    for differs_at in range(length + 1):
        second = list(range(differs_at)) + [-1] * (length - differs_at + 3)
        assert common_prefix_length(first, second) == differs_at
        assert common_prefix_length(second, first) == differs_at


def test_reusable_length_always_leaves_a_token_to_run():
    assert reusable_length([1, 2, 3], [1, 2, 3]) == 2
    assert reusable_length([1, 2, 3, 4], [1, 2, 3]) == 2
    assert reusable_length([1, 2], [1, 2, 3, 4]) == 2
    assert reusable_length([9], [1, 2]) == 0


def test_match_picks_the_entry_with_the_longest_common_prefix():
    cache = PrefixCache()
    cache.add(make_past([1, 2, 3]))
    cache.add(make_past([1, 5, 6, 7]))
    past, length = cache.match([1, 5, 6, 8, 9])
    assert past.tokens == (1, 5, 6, 7) and length == 3


def test_match_without_a_shared_prefix_returns_nothing():
    cache = PrefixCache()
    cache.add(make_past([1, 2, 3]))
    assert cache.match([4, 5]) == (None, 0)


def test_truncated_keeps_the_first_positions_on_the_sequence_axis():
    past = make_past([10, 11, 12, 13]).truncated(2, sequence_axes=[2, 2])
    assert past.tokens == (10, 11)
    for value in past.values:
        array = value.numpy()
        assert array.shape == (1, 2, 2, 3) and array[0, 0, :, 0].tolist() == [10, 11]


def test_truncated_on_another_axis():
    array = np.arange(12, dtype=np.float32).reshape(1, 4, 3)
    past = Past((1, 2, 3, 4), (ort.OrtValue.ortvalue_from_numpy(array),)).truncated(3, sequence_axes=[1])
    assert past.values[0].numpy().tolist() == array[:, :3].tolist()


def test_least_recently_used_entry_is_evicted():
    cache = PrefixCache(capacity=2)
    cache.add(make_past([1, 1]))
    cache.add(make_past([2, 2]))
    cache.match([1, 1, 5])
    cache.add(make_past([3, 3]))
    assert len(cache) == 2
    assert cache.match([2, 2, 5]) == (None, 0)
    assert cache.match([1, 1, 5])[1] == 2


def test_an_entry_extended_by_a_new_one_is_dropped():
    cache = PrefixCache()
    cache.add(make_past([1, 2]))
    cache.add(make_past([1, 2, 3, 4]))
    assert len(cache) == 1 and cache.match([1, 2, 3, 4, 5])[1] == 4


def test_memory_limit_evicts_old_entries_but_keeps_the_newest():
    one_entry = make_past([1, 2, 3]).nbytes
    cache = PrefixCache(capacity=10, max_bytes=one_entry)
    cache.add(make_past([1, 2, 3]))
    cache.add(make_past([4, 5, 6, 7]))
    assert len(cache) == 1 and cache.match([4, 5, 6, 7, 8])[1] == 4
