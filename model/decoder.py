"""Runs a text-generation-with-past graph one chunk of tokens at a time, reusing cached prefixes."""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
import onnxruntime as ort

from model.kv_cache import Past, PrefixCache
from model.session import CUDA, DecoderGraph

# Prompt tokens per graph run: bounds attention memory and lets a long prompt be cancelled between chunks.
PREFILL_CHUNK = 256


class Decoder:
    """Feeds the graph by name through IO binding: keys/values stay OrtValues on the session's device (no host copies
    per token on CUDA), only the logits come back to the CPU."""

    def __init__(self, session: ort.InferenceSession, cache: PrefixCache | None = None, prefill_chunk: int = PREFILL_CHUNK) -> None:
        self.session = session
        self.prefill_chunk = prefill_chunk
        self.graph = DecoderGraph.of(session)
        self.cache = PrefixCache() if cache is None else cache
        self._past_names = [past.name for past in self.graph.past]
        self._device = "cuda" if session.get_providers()[0] == CUDA else "cpu"
        self._sequence_axes = [past.sequence_axis for past in self.graph.past]
        self._empty = Past((), tuple(ort.OrtValue.ortvalue_from_numpy(array) for array in self.graph.empty_past()))

    def start(self, tokens: Sequence[int], cancelled: Callable[[], bool] = lambda: False) -> tuple[np.ndarray | None, Past, int]:
        """Run a prompt from the best cached prefix: (next-token logits, past, number of reused tokens).

        Long prompts run in chunks of `prefill_chunk` tokens; when `cancelled()` turns true between chunks the logits
        are None and the past covers the chunks done (remember it: the next prompt reuses that work).
        """
        entry, reused = self.cache.match(tokens)
        past = entry.truncated(reused, self._sequence_axes) if entry is not None else self._empty
        for chunk_start in range(reused, len(tokens), self.prefill_chunk):
            if chunk_start > reused and cancelled():
                return None, past, reused
            logits, past = self.forward(tokens[chunk_start : chunk_start + self.prefill_chunk], past)
        return logits, past, reused

    def forward(self, tokens: Sequence[int], past: Past) -> tuple[np.ndarray, Past]:
        """Run `tokens` after `past`: (logits for the token after them, the extended past)."""
        feed = {name: ort.OrtValue.ortvalue_from_numpy(array) for name, array in self.graph.feed(tokens, len(past.tokens)).items()}
        feed.update(zip(self._past_names, past.values))
        binding = self.session.io_binding()
        for name, value in feed.items():
            binding.bind_ortvalue_input(name, value)
        binding.bind_output("logits", "cpu")
        for name in self.graph.output_names[1:]:
            binding.bind_output(name, self._device)
        self.session.run_with_iobinding(binding)
        outputs = binding.get_outputs()
        logits = outputs[0].numpy()[0, -1]
        return logits, Past(past.tokens + tuple(tokens), tuple(outputs[1:]))

    def remember(self, past: Past) -> None:
        """Offer `past` for reuse by later prompts."""
        if past.tokens:
            self.cache.add(past)
