"""The reference row of the quality benchmarks: transformers (PyTorch eager, float32) on a GGUF file dequantized by
transformers itself, behind the interface the server's prompt path uses (`codegen_lsp.engine.suggest`, the code
actions): the same prompts, tokens, healing, stops and greedy choices as our runtime, another implementation of the
network.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

import model
from model.generate import Generation, IncrementalDetokenizer, StopRule, choose_token, is_cancelled, only, \
    penalize_repeats


class TorchReference:
    """A model of the `model.Model` interface that computes with transformers; greedy only (what the rows compare)."""

    def __init__(self, gguf_path: Path, model_dir: Path) -> None:
        import torch
        from transformers import AutoModelForCausalLM

        self._ours = model.load(model_dir)  # its tokenizer, manifest and prompt format: identical prompts
        self.manifest, self.tokenizer, self.healing = self._ours.manifest, self._ours.tokenizer, self._ours.healing
        self.end_ids = self._ours.end_ids
        self.network = AutoModelForCausalLM.from_pretrained(
            gguf_path.parent, gguf_file=gguf_path.name, dtype=torch.float32).eval()
        self.device = "cpu (transformers)"

    def tokenize(self, text: str) -> list[int]:
        return self._ours.tokenize(text)

    def count_tokens(self, text: str) -> int:
        return self._ours.count_tokens(text)

    def fim_prompt(self, *args, **kwargs) -> str:
        return self._ours.fim_prompt(*args, **kwargs)

    def generate(self, prompt: str, **kwargs) -> str:
        return self.generate_detailed(prompt, **kwargs).text

    def generate_detailed(self, prompt: str, max_new_tokens: int = 64, temperature: float = 0.0, top_p: float = 1.0,
                          stop=None, on_token=None, cancel=None, seed=None, heal: bool = False,
                          repetition_penalty: float = 1.0) -> Generation:
        import torch

        started = time.perf_counter()
        tokens = self.tokenize(prompt)[-(self.manifest.context_length - max_new_tokens):]
        forced = ""
        if heal:
            tokens, forced = self.healing.split(tokens)
        detokenizer, stops = IncrementalDetokenizer(self.tokenizer), StopRule(stop)
        rng = np.random.default_rng(seed)
        written, text, token_ids, finish, first = "", "", [], "length", None
        with torch.no_grad():
            output = self.network(torch.tensor([tokens]), use_cache=True)
            while len(token_ids) < max_new_tokens:
                logits = output.logits[0, -1].float().numpy()
                logits = penalize_repeats(logits, (tokens + token_ids)[-64:], repetition_penalty)
                if len(written) < len(forced):
                    logits = only(logits, self.healing.allowed(forced[len(written):]))
                token = choose_token(logits, temperature, top_p, rng)
                first = first if first is not None else time.perf_counter() - started
                if token in self.end_ids:
                    finish = "eos"
                    break
                token_ids.append(token)
                written += detokenizer.add(token)
                text = written[len(forced):]
                cut = stops.cut(text) if text else None
                if cut is not None:
                    text, finish = text[:cut], "stop"
                    break
                if is_cancelled(cancel):
                    finish = "cancelled"
                    break
                output = self.network(torch.tensor([[token]]), past_key_values=output.past_key_values, use_cache=True)
        return Generation(text, token_ids, len(tokens), 0, first, time.perf_counter() - started, finish)
