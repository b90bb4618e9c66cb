"""The STT interfaces: batch (one utterance in, one final transcript out) and streaming (audio blocks
in, partial and final transcripts out), with adapters each way."""

from __future__ import annotations

from collections.abc import AsyncIterator
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


@dataclass(frozen=True, slots=True)
class TranscriptUpdate:
    """A streaming provider's view of the utterance so far: `final` once it will not change."""

    text: str
    final: bool = False
    confidence: float | None = None


class StreamingSTT(Protocol):
    """For providers that transcribe while the user speaks (partials, then a final): audio blocks in,
    transcript updates out. The stream of blocks ends when the utterance does."""

    name: str

    def stream(self, audio: AsyncIterator[np.ndarray], sample_rate: int) -> AsyncIterator[TranscriptUpdate]: ...


class StreamingAsBatch:
    """A streaming provider used where one final transcript per utterance is wanted (the answer
    pipeline): the utterance goes in as one block; the last final update is the transcript."""

    def __init__(self, streaming: StreamingSTT, punctuates: bool | None = None) -> None:
        self.streaming = streaming
        self.name = streaming.name
        self.punctuates = punctuates

    async def transcribe(self, audio: np.ndarray, sample_rate: int, prompt: str | None = None) -> Transcript:
        async def one_block() -> AsyncIterator[np.ndarray]:
            yield audio

        text, confidence = "", None
        async for update in self.streaming.stream(one_block(), sample_rate):
            text, confidence = update.text, update.confidence
            if update.final:
                break
        return Transcript(text=text, confidence=confidence)


class BatchAsStreaming:
    """A batch provider behind the streaming interface: every `partial_every_s` of new audio it
    transcribes the utterance so far (a partial), and once more at the end (the final)."""

    def __init__(self, batch: STT, partial_every_s: float = 1.0) -> None:
        if partial_every_s <= 0:
            raise ValueError("partial_every_s must be positive")
        self.batch = batch
        self.name = batch.name
        self.partial_every_s = partial_every_s

    async def stream(self, audio: AsyncIterator[np.ndarray], sample_rate: int) -> AsyncIterator[TranscriptUpdate]:
        blocks: list[np.ndarray] = []
        since_partial = 0
        async for block in audio:
            blocks.append(np.asarray(block, dtype=np.float32))
            since_partial += len(block)
            if since_partial >= self.partial_every_s * sample_rate:
                since_partial = 0
                partial = await self.batch.transcribe(np.concatenate(blocks), sample_rate)
                yield TranscriptUpdate(partial.text, False, partial.confidence)
        whole = np.concatenate(blocks) if blocks else np.zeros(0, np.float32)
        final = await self.batch.transcribe(whole, sample_rate)
        yield TranscriptUpdate(final.text, True, final.confidence)
