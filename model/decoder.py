"""Runs a text-generation-with-past graph one chunk of tokens at a time, reusing cached prefixes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import onnxruntime as ort

from model.cpu_load import IdleCores
from model.kv_cache import Past, PrefixCache
from model.session import CUDA, DecoderGraph

# Prompt tokens per graph run: bounds attention memory and lets a long prompt be cancelled between chunks. On the CPU
# smaller chunks prefill faster: onnxruntime's GroupQueryAttention scores each query row of a run against every key
# of the run, so a run's attention costs its length times the cached length, and chunks skip the part of the
# product that causal masking throws away (default model int8, 1,016 tokens: 65.8 -> 56.9 ms in chunks of 256
# instead of 512, 512 tokens 29.6 -> 25.0 ms; 110M Llama, 1,016 tokens: 700 -> 626 ms; 128 loses to per-run costs).
PREFILL_CHUNK = 256
# Longest run of a shared-cache graph that counts as short: a decoding step, a token and its prompt-lookup guesses
# (model/lookup.py), a few typed characters after a cached prompt. Short runs go to the step session, and keep their
# small input and logits arrays per length (see BoundRun).
SHORT_RUN_TOKENS = 8
# Smallest key/value buffer of a shared-cache graph, in positions; buffers hold a power of two of positions, sized
# per request (Decoder.start) and doubled if a run outgrows them.
MIN_CACHE_POSITIONS = 512


@dataclass(frozen=True)
class Sessions:
    """The sessions one request runs on: prompt chunks, and short runs (steps, a token and its guesses)."""

    runs: ort.InferenceSession
    steps: ort.InferenceSession


class Decoder:
    """Feeds the graph by name through IO binding: keys/values stay OrtValues on the session's device (no host copies
    per token on CUDA), only the logits come back to the CPU.

    Each request (start) picks its sessions: with a `spinning_session` (model.session.create_spinning_session) that
    one while `idle_cores` says no other process wants the cores, else `session` and `step_session`.

    With a shared-cache graph (see DecoderGraph) a Past's buffers are written in place: extending a cached entry takes
    it out of the prefix cache, since the tokens after the reused prefix are overwritten. Its runs reuse a binding per
    set of buffers (see BoundRun): one for short runs (steps, a token and its prompt-lookup guesses), one for longer.
    """

    def __init__(self, session: ort.InferenceSession, cache: PrefixCache | None = None, prefill_chunk: int = PREFILL_CHUNK,
                 step_session: ort.InferenceSession | None = None, spinning_session: ort.InferenceSession | None = None,
                 idle_cores: IdleCores | None = None) -> None:
        self.session = session
        self._busy = Sessions(session, session if step_session is None else step_session)
        self._idle = None if spinning_session is None else Sessions(spinning_session, spinning_session)
        if self._idle is not None and idle_cores is None:
            idle_cores = IdleCores(spinning_session.get_session_options().intra_op_num_threads)
        self._idle_cores = idle_cores
        self.sessions = self._busy  # this request's
        self.prefill_chunk = prefill_chunk
        self.graph = DecoderGraph.of(session)
        self.cache = PrefixCache() if cache is None else cache
        self._past_names = [past.name for past in self.graph.past]
        self._device = "cuda" if session.get_providers()[0] == CUDA else "cpu"
        self._sequence_axes = [past.sequence_axis for past in self.graph.past]
        self._empty = Past((), tuple(self._on_device(array) for array in self.graph.empty_past()))
        # Bindings of the last buffers used, by whether the run is short (binding a run's ~30 inputs and outputs anew
        # costs ~0.4 ms, as much as a default-model step): short runs on the step session, longer ones (prompt chunks).
        self._bound: dict[bool, BoundRun] = {}

    def start(self, tokens: Sequence[int], cancelled: Callable[[], bool] = lambda: False,
              room: int = 0) -> tuple[np.ndarray | None, Past, int]:
        """Run a prompt from the best cached prefix: (next-token logits, past, number of reused tokens).

        Long prompts run in chunks of `prefill_chunk` tokens; when `cancelled()` turns true between chunks the logits
        are None and the past covers the chunks done (remember it: the next prompt reuses that work). A shared-cache
        graph gets buffers for the prompt and `room` more tokens at once, so that generating them never stops to
        regrow the buffers (a copy of the whole cache: ~20% of a default-model decode of 32 tokens).
        """
        if self._idle is not None:
            self.sessions = self._idle if self._idle_cores.idle() else self._busy
        entry, reused = self.cache.match(tokens)
        if entry is None:
            past = self._empty
        else:
            if self.graph.shared_cache:
                self.cache.remove(entry)  # its buffers are extended in place
            past = self.rewind(entry, reused)
        if self.graph.shared_cache:
            past = self._reserve(past, len(tokens) + room)  # once, not again between chunks or while generating
        for chunk_start in range(reused, len(tokens), self.prefill_chunk):
            if chunk_start > reused and cancelled():
                return None, past, reused
            logits, past = self.forward(tokens[chunk_start : chunk_start + self.prefill_chunk], past)
        return logits, past, reused

    def forward(self, tokens: Sequence[int], past: Past) -> tuple[np.ndarray, Past]:
        """Run `tokens` after `past`: (logits for the token after them, the extended past)."""
        logits, past = self.run(tokens, past)
        return logits[-1], past

    def verify(self, tokens: Sequence[int], past: Past) -> tuple[np.ndarray, Past]:
        """Run `tokens` after `past` in one graph run: (logits [token, vocab] after each of them, the extended past).
        A token and the guesses that follow it (model.lookup): rewind the past to the ones the model agreed with."""
        return self.run(tokens, past, all_logits=len(tokens) > 1)

    def rewind(self, past: Past, length: int) -> Past:
        """`past` cut back to its first `length` tokens: in place for a shared-cache graph (later runs overwrite the
        rest of its buffers), else a copy."""
        if length == len(past.tokens):
            return past
        if self.graph.shared_cache:
            return Past(past.tokens[:length], past.values)
        return past.truncated(length, self._sequence_axes)

    def all_logits(self, tokens: Sequence[int]) -> np.ndarray:
        """Logits [token, vocab] at every position of `tokens`, run in one pass from an empty cache (nothing cached)."""
        return self.run(tokens, self._empty, all_logits=True)[0]

    def run(self, tokens: Sequence[int], past: Past, all_logits: bool = False) -> tuple[np.ndarray, Past]:
        """Run `tokens` after `past` in one graph run: (logits [token, vocab] - of every token with `all_logits`, else
        at least of the last -, the extended past)."""
        if self.graph.shared_cache:
            past = self._reserve(past, len(past.tokens) + len(tokens))
            if self.graph.vocab_size is not None:
                return self._run_bound(tokens, past, all_logits)
        inputs = self.graph.feed(tokens, len(past.tokens), all_logits)
        feed = {name: ort.OrtValue.ortvalue_from_numpy(array) for name, array in inputs.items()}
        feed.update(zip(self._past_names, past.values))
        session = self.sessions.steps if len(tokens) == 1 and not all_logits else self.sessions.runs
        binding = session.io_binding()
        for name, value in feed.items():
            binding.bind_ortvalue_input(name, value)
        binding.bind_output("logits", "cpu")
        for name, value in zip(self.graph.output_names[1:], past.values):
            if self.graph.shared_cache:
                binding.bind_ortvalue_output(name, value)
            else:
                binding.bind_output(name, self._device)
        session.run_with_iobinding(binding)
        outputs = binding.get_outputs()
        values = past.values if self.graph.shared_cache else tuple(outputs[1:])
        return outputs[0].numpy()[0], Past(past.tokens + tuple(tokens), values)

    def _run_bound(self, tokens: Sequence[int], past: Past, all_logits: bool) -> tuple[np.ndarray, Past]:
        """A run after `past` through the binding kept for its buffers (made anew when they or the session change):
        short runs on the step session, longer ones on the session for runs."""
        short = len(tokens) <= SHORT_RUN_TOKENS
        session = self.sessions.steps if short else self.sessions.runs
        bound = self._bound.get(short)
        if bound is None or bound.values is not past.values or bound.session is not session:
            bound = self._bound[short] = BoundRun(session, self.graph, past.values)
        logits = bound.run(tokens, len(past.tokens), all_logits)
        return logits, Past(past.tokens + tuple(tokens), past.values)

    def remember(self, past: Past) -> None:
        """Offer `past` for reuse by later prompts."""
        if past.tokens:
            self.cache.add(past)

    def _reserve(self, past: Past, positions: int) -> Past:
        """`past` in buffers with room for `positions` (new, doubled buffers holding a copy when it has too little)."""
        capacity = past.values[0].shape()[self._sequence_axes[0]] if past.values else 0
        if positions <= capacity:
            return past
        size = max(MIN_CACHE_POSITIONS, 1 << (positions - 1).bit_length())
        buffers = self.graph.empty_past(size)
        for buffer, value, axis in zip(buffers, past.values, self._sequence_axes):
            kept = (slice(None),) * axis + (slice(0, len(past.tokens)),)
            buffer[kept] = value.numpy()[kept]
        return Past(past.tokens, tuple(self._on_device(buffer) for buffer in buffers))

    def _on_device(self, array: np.ndarray) -> ort.OrtValue:
        return ort.OrtValue.ortvalue_from_numpy(array, self._device)


class BoundRun:
    """Runs of a shared-cache graph with the cache buffers bound once as inputs and outputs. A short run's small
    inputs and logits are host arrays kept per run length, bound when the length changes and overwritten by each run;
    a longer run binds new ones. Saves the binding work, a sizeable share of a small model's decoding time."""

    def __init__(self, session: ort.InferenceSession, graph: DecoderGraph, values: tuple[ort.OrtValue, ...]) -> None:
        self.session = session
        self.values = values
        self._graph = graph
        self._binding = session.io_binding()
        for past, value in zip(graph.past, values):
            self._binding.bind_ortvalue_input(past.name, value)
            self._binding.bind_ortvalue_output(past.present_name, value)
        self._arrays: dict[tuple[int, bool], tuple[dict[str, np.ndarray], np.ndarray]] = {}
        self._bound_shape: tuple[int, bool] | None = None

    def run(self, tokens: Sequence[int], past_length: int, all_logits: bool) -> np.ndarray:
        """Logits [token, vocab] of `tokens` run at positions from `past_length` (of the last one unless `all_logits`)."""
        feed = self._graph.feed(tokens, past_length, all_logits)
        shape = (len(tokens), all_logits)
        if shape in self._arrays:
            inputs, logits = self._arrays[shape]
        else:
            positions = len(feed["logit_positions"]) if "logit_positions" in feed else len(tokens)
            inputs, logits = feed, np.empty((1, positions, self._graph.vocab_size), dtype=np.float32)
            if len(tokens) <= SHORT_RUN_TOKENS:
                self._arrays[shape] = inputs, logits
        if shape != self._bound_shape:
            for name, array in inputs.items():
                self._binding.bind_ortvalue_input(name, ort.OrtValue.ortvalue_from_numpy(array))
            self._binding.bind_ortvalue_output("logits", ort.OrtValue.ortvalue_from_numpy(logits))
            self._bound_shape = shape if shape in self._arrays else None
        for name, array in feed.items():
            if inputs[name] is not array:
                inputs[name][...] = array
        self.session.run_with_iobinding(self._binding)
        return logits[0].copy() if shape in self._arrays else logits[0]  # kept arrays: the next run overwrites them
