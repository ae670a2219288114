"""Token healing: a prompt that ends where the tokenizer would merge across (a line start before indentation, half a
word) makes the model continue from a token boundary it never saw in training. The prompt's last token is taken off
and generation must start by writing its text again, in whichever tokens the model prefers ("\\n" + "    return"
becomes "\\n   " + " return", as in training). Trailing whitespace goes back further: while what is taken off is
whitespace and so is the token before it, that token goes too, so that a prompt ending in a newline and then
indentation (the cursor on an emptied line) is re-chosen from before the newline, where vocabularies that merge a
newline with the next line's indentation (SmolLM2's, StarCoder's) are strongest.

Only byte-level BPE vocabularies (GPT-2 style: StarCoder, Qwen, DeepSeek-Coder, Llama 3, ours), where each token
decodes to its own text; others are left as they are.
"""

from __future__ import annotations

import bisect
from typing import Sequence

import numpy as np
from tokenizers import Tokenizer, decoders

_AFTER_ALL = "\U0010ffff"
MAX_HEALED_TOKENS = 4


class TokenHealing:
    """The vocabulary's token texts, sorted for prefix lookups (built on first use: ~0.3 s for 150k tokens)."""

    def __init__(self, tokenizer: Tokenizer) -> None:
        self._tokenizer = tokenizer
        self.supported = isinstance(tokenizer.decoder, decoders.ByteLevel)
        self._texts: list[str] = []
        self._sorted_texts: list[str] = []
        self._sorted_ids = np.empty(0, dtype=np.int64)

    def split(self, tokens: Sequence[int]) -> tuple[list[int], str]:
        """(`tokens` without the last one - and without the whitespace tokens before a whitespace last one -, their
        text) - or (`tokens`, "") when it cannot be healed: an added or special token, a piece of a multi-byte
        character, an unsupported vocabulary."""
        if not self.supported or len(tokens) < 2:
            return list(tokens), ""
        texts = self._token_texts()
        kept, healed = len(tokens) - 1, texts[tokens[-1]]
        if not healed:
            return list(tokens), ""
        while kept > 1 and len(tokens) - kept < MAX_HEALED_TOKENS and not healed.strip() \
                and texts[tokens[kept - 1]] and not texts[tokens[kept - 1]].strip():
            kept -= 1
            healed = texts[tokens[kept]] + healed
        return list(tokens[:kept]), healed

    def allowed(self, remaining: str) -> np.ndarray:
        """Ids of the tokens that can come next while `remaining` (non-empty) is still to be written: those whose text
        starts with it, and those whose text is a shorter start of it."""
        self._token_texts()
        low = bisect.bisect_left(self._sorted_texts, remaining)
        high = bisect.bisect_left(self._sorted_texts, remaining + _AFTER_ALL)
        starts = [self._sorted_ids[index] for size in range(1, len(remaining))
                  for index in self._equal_range(remaining[:size])]
        return np.concatenate([self._sorted_ids[low:high], np.asarray(starts, dtype=np.int64)])

    def _equal_range(self, text: str) -> range:
        return range(bisect.bisect_left(self._sorted_texts, text), bisect.bisect_right(self._sorted_texts, text))

    def _token_texts(self) -> list[str]:
        """Text of each token id; "" for added/special tokens and pieces of multi-byte characters."""
        if not self._texts:
            size = self._tokenizer.get_vocab_size(with_added_tokens=True)
            texts = self._tokenizer.decode_batch([[token] for token in range(size)], skip_special_tokens=False)
            added = self._tokenizer.get_added_tokens_decoder()
            self._texts = ["" if token in added or "\ufffd" in text else text for token, text in enumerate(texts)]
            order = sorted((text, token) for token, text in enumerate(self._texts) if text)
            self._sorted_texts = [text for text, _ in order]
            self._sorted_ids = np.asarray([token for _, token in order], dtype=np.int64)
        return self._texts
