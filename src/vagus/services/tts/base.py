"""The TTS interface: a sentence in, a stream of float32 audio blocks at `sample_rate` out."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol

import numpy as np


class TTS(Protocol):
    name: str
    sample_rate: int

    def stream(self, text: str) -> AsyncIterator[np.ndarray]: ...
