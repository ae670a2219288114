"""Model: a loaded model directory (manifest, ONNX session, tokenizer) and its generation API."""

from __future__ import annotations

from pathlib import Path

from tokenizers import Tokenizer

from model import generate
from model.decoder import Decoder
from model.errors import ModelError
from model.generate import Cancel, Generation, OnToken, Request, Stop
from model.healing import TokenHealing
from model.manifest import MANIFEST_FILE, ONNX_FILE, TOKENIZER_FILE, Manifest, export_hint, read_verified
from model.prompts import SUFFIX_SHARE, fim_prompt, truncate_context
from model.session import CUDA, create_session, create_spinning_session, create_step_session
from model.store import ModelStore, default_model_dir, is_store


class Model:
    """A loaded model. Not thread-safe: callers serialize generate (one generation at a time per model)."""

    def __init__(self, path: Path, manifest: Manifest, decoder: Decoder, tokenizer: Tokenizer) -> None:
        self.path = path
        self.manifest = manifest
        self.decoder = decoder
        self.tokenizer = tokenizer
        self.healing = TokenHealing(tokenizer)
        self.device = "cuda" if decoder.session.get_providers()[0] == CUDA else "cpu"
        vocab = tokenizer.get_vocab()
        self.end_ids = frozenset(manifest.eos_token_ids) | {vocab[t] for t in manifest.stop_tokens if t in vocab}

    def tokenize(self, text: str) -> list[int]:
        """Token ids of `text` as a prompt (with the BOS token when the model expects one)."""
        ids = self.tokenizer.encode(text, add_special_tokens=False).ids
        return [self.manifest.bos_token_id, *ids] if self._adds_bos else ids

    def count_tokens(self, text: str) -> int:
        """Number of tokens `text` takes (without BOS)."""
        return len(self.tokenizer.encode(text, add_special_tokens=False).ids)

    def fim_prompt(self, prefix: str, suffix: str, path: str | None = None, repo_name: str | None = None, max_tokens: int | None = None) -> str:
        """The family's fill-in-the-middle prompt; with `max_tokens`, prefix/suffix are cut from their far ends to fit."""
        if max_tokens is not None:
            prefix, suffix = truncate_context(prefix, suffix, max_tokens, self.count_tokens, self.suffix_share)
        return fim_prompt(self.manifest.fim, prefix, suffix, path=path, repo_name=repo_name)

    def forget_prompts(self) -> None:
        """Drop the cached prompts: the next generation computes its whole prompt (a benchmark's baseline)."""
        self.decoder.cache.clear()

    @property
    def suffix_share(self) -> float:
        """The share of a prompt budget that the text after the cursor may take: none without FIM tokens."""
        return SUFFIX_SHARE if self.manifest.fim is not None else 0.0

    def generate(
        self,
        prompt: str,
        max_new_tokens: int = 64,
        temperature: float = 0.0,
        top_p: float = 1.0,
        stop: Stop = None,
        on_token: OnToken = None,
        cancel: Cancel = None,
        seed: int | None = None,
        heal: bool = False,
        repetition_penalty: float = 1.0,
    ) -> str:
        """The text generated after `prompt` (greedy by default); see generate_detailed."""
        return self.generate_detailed(prompt, max_new_tokens, temperature, top_p, stop, on_token, cancel, seed, heal,
                                      repetition_penalty).text

    def generate_detailed(
        self,
        prompt: str,
        max_new_tokens: int = 64,
        temperature: float = 0.0,
        top_p: float = 1.0,
        stop: Stop = None,
        on_token: OnToken = None,
        cancel: Cancel = None,
        seed: int | None = None,
        heal: bool = False,
        repetition_penalty: float = 1.0,
    ) -> Generation:
        """Generate after `prompt`: the text plus token ids, prefix reuse, timings and why it finished.

        `stop`: strings (the output ends before the first one) or `stop(text_so_far) -> bool` (the output ends after
        the token that made it true). `on_token(piece)` receives the text as it is produced, `cancel` (an Event or a
        zero-argument callable) is checked between tokens. The prompt is cut from the left to leave room for
        `max_new_tokens` within the model's context length. `heal`: token healing (model/healing.py) of a prompt that
        ends in text, such as a prefix-only completion prompt; a no-op after a FIM prompt's special tokens.
        `repetition_penalty` > 1: tokens of the last 64 (prompt and output) are made less likely (llama.cpp's
        repeat_penalty), which keeps small models out of loops.
        """
        max_new_tokens = min(max_new_tokens, self.manifest.context_length - 1)
        request = Request(max_new_tokens, temperature, top_p, stop, on_token, cancel, seed, heal, repetition_penalty)
        tokens = self._fit_context(self.tokenize(prompt), self.manifest.context_length - max_new_tokens) or [self._start_token]
        return generate.run(self.decoder, self.tokenizer, tokens, self.end_ids, request, self.healing)

    @property
    def _start_token(self) -> int:
        """What an empty prompt runs: BOS, else the end-of-text token (as in unconditional generation)."""
        return self.manifest.bos_token_id if self.manifest.bos_token_id is not None else self.manifest.eos_token_ids[0]

    @property
    def _adds_bos(self) -> bool:
        return self.manifest.add_bos and self.manifest.bos_token_id is not None

    def _fit_context(self, tokens: list[int], budget: int) -> list[int]:
        """The last `budget` tokens (keeping a leading BOS)."""
        if len(tokens) <= budget:
            return tokens
        return [tokens[0], *tokens[len(tokens) - budget + 1 :]] if self._adds_bos else tokens[len(tokens) - budget :]


def resolve(path: Path | str) -> Path:
    """The model directory `path` names: itself, or a store's current version."""
    path = Path(path).expanduser()
    if (path / MANIFEST_FILE).is_file() or not is_store(path):
        return path
    current = ModelStore(path).current_path()
    if current is None:
        raise ModelError(f"model store {path} has no current version — publish one with `codegen-train` or pick a version")
    return current


def load(path: Path | str, device: str = "auto") -> Model:
    """Load a model directory (or a store's current version), verifying its files; ModelError names the fix."""
    model_dir = resolve(path)
    if model_dir == default_model_dir() and not (model_dir / MANIFEST_FILE).is_file():
        raise ModelError(f"the default model is not built yet ({model_dir}) — run `codegen-lsp setup` (it downloads "
                         "and converts it once)")
    if not model_dir.is_dir():
        raise ModelError(f"model not found at {model_dir} — {export_hint(model_dir)}")
    manifest = read_verified(model_dir)
    try:
        tokenizer = Tokenizer.from_file(str(model_dir / TOKENIZER_FILE))
    except Exception as error:  # noqa: BLE001 - tokenizers raises a bare Exception for a malformed file
        raise ModelError(f"cannot read {model_dir / TOKENIZER_FILE}: {error} — {export_hint(model_dir)}") from error
    onnx_path = model_dir / ONNX_FILE
    session = create_session(onnx_path, device)
    decoder = Decoder(session, step_session=create_step_session(onnx_path, session),
                      spinning_session=create_spinning_session(onnx_path, session))
    return Model(model_dir, manifest, decoder, tokenizer)


def default_model_path() -> Path:
    """The store's current version when one is published, else the default model that `codegen-lsp setup` built."""
    try:
        current = ModelStore().current_path()
    except ModelError:
        current = None
    return current if current is not None else default_model_dir()
