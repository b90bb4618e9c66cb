"""Count tokens with a GGUF model's own tokenizer, for the context budget.

The GGUF file carries its tokenizer (vocabulary and merges); for byte-level BPE models (`gpt2`
family: SmolLM2, Qwen2.5, Llama 3) it is rebuilt with Hugging Face `tokenizers` from what the file
holds, so the budget counts what the model will see instead of guessing four characters per token.
Reading the vocabulary takes seconds (gguf's reader parses every field), so it is done on a
background thread; until it is ready, and for other tokenizer kinds, the four-character rule holds.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger("vagus.llm")

Counter = Callable[[str], int]


def load_counter(path: str | Path) -> Counter | None:
    """A token counter built from the GGUF's own vocabulary, or None where that is not possible."""
    try:
        from gguf import GGUFReader  # type: ignore[import-untyped]
        from tokenizers import Tokenizer, models, pre_tokenizers
    except ImportError:
        log.info("gguf or tokenizers not installed: the context budget counts four characters per token")
        return None
    try:
        fields = GGUFReader(str(path)).fields
        kind = fields["tokenizer.ggml.model"].contents()
        if kind != "gpt2":
            log.info("%s: a %r tokenizer: the context budget counts four characters per token", path, kind)
            return None
        tokens = fields["tokenizer.ggml.tokens"].contents()
        merges = [tuple(m.split(" ", 1)) for m in fields["tokenizer.ggml.merges"].contents()]
        tokenizer = Tokenizer(models.BPE({t: i for i, t in enumerate(tokens)}, merges))
        tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    except Exception as exc:  # an unexpected file: the estimate is still a fine budget
        log.info("%s: tokenizer not read (%s): the context budget counts four characters per token", path, exc)
        return None

    def count(text: str) -> int:
        return len(tokenizer.encode(text).ids)

    return count


class BackgroundCounter:
    """`count` is None until the GGUF's tokenizer has been read (on a daemon thread)."""

    def __init__(self, path: str | Path) -> None:
        self.count: Counter | None = None
        self.ready = threading.Event()
        threading.Thread(target=self._load, args=(path,), name="vagus-gguf-tokenizer", daemon=True).start()

    def _load(self, path: str | Path) -> None:
        try:
            self.count = load_counter(path)
        finally:
            self.ready.set()
