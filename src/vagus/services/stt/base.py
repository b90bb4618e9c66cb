"""The STT interface: one utterance in, one final transcript out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np


@dataclass(frozen=True, slots=True)
class Transcript:
    text: str
    language: str | None = None
    confidence: float | None = None
    """Mean token probability where the engine gives one (0..1)."""


class STT(Protocol):
    """`punctuates` (optional class attribute): True when the engine writes punctuation, False when it
    never does; absent or None: learned from its transcripts (turns/unfinished.py)."""

    name: str

    async def transcribe(self, audio: np.ndarray, sample_rate: int, prompt: str | None = None) -> Transcript:
        """Transcribe mono float32 audio. `prompt`: text that biases the spelling and style (Whisper's
        initial prompt / the OpenAI API's `prompt`), e.g. backchannels so a hum is written "Mm-hmm"."""
        ...
