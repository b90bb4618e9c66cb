"""Speculation: the turn's words, and optionally the start of its answer, prepared at the first silence.

The end-of-turn decision waits for silence (150 ms after a complete-sounding utterance, longer
otherwise), and the answer used to start only then: transcription, then the language model. A
`Draft` starts both once a silence in a turn has lasted `turns.speculation.after_ms`, on the audio so
far. When the turn ends at that same silence, the answer takes the draft (its words, and the model's
tokens read ahead into a buffer); when the user goes on, the draft is cancelled and nobody hears it.
The transcript check of the end-of-turn judge (`turns/judging.py`) uses the draft's words too, so a
pause is never transcribed twice.

Speculative language-model calls are off by default: with a hosted model each pause in a turn costs a
request. Speculative transcription is on: a pause that the VAD confirms needs the words anyway.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any

import numpy as np

from vagus.config import DeadlinesConfig, SpeculationConfig
from vagus.services.deadlines import call_within
from vagus.services.errors import ProviderError
from vagus.services.llm.base import Message
from vagus.services.stt.base import STT
from vagus.turns.unfinished import UnfinishedText

log = logging.getLogger("vagus.agent")

INPUT_RATE = 16000


class BufferedStream:
    """A text stream read ahead by its own task into a buffer, replayed once from the start (the
    tokens that came before the turn was decided, then the rest as they arrive)."""

    def __init__(self, source: AsyncIterator[str]) -> None:
        self.items: list[str] = []
        self._error: BaseException | None = None
        self._done = False
        self._more = asyncio.Event()
        self._task = asyncio.get_running_loop().create_task(self._read(source), name="speculative-llm")

    async def _read(self, source: AsyncIterator[str]) -> None:
        try:
            async for item in source:
                self.items.append(item)
                self._more.set()
        except asyncio.CancelledError:
            self._error = asyncio.CancelledError()
            raise
        except Exception as exc:  # handed to whoever replays it (the answer's retry logic)
            self._error = exc
        finally:
            self._done = True
            self._more.set()

    async def replay(self) -> AsyncIterator[str]:
        i = 0
        try:
            while True:
                if i < len(self.items):
                    i += 1
                    yield self.items[i - 1]
                    continue
                if self._done:
                    if self._error is not None:
                        raise self._error
                    return
                self._more.clear()
                await self._more.wait()
        finally:
            self.cancel()  # the answer was interrupted or failed: stop reading

    def cancel(self) -> None:
        if not self._task.done():
            self._task.cancel()


class Draft:
    """What was prepared for the silence that began at `speech_end`."""

    def __init__(self, speech_end: float, speech_start: float | None) -> None:
        self.speech_end, self.speech_start = speech_end, speech_start
        self.words: asyncio.Task[str | None] | None = None
        self.messages: list[Message] | None = None
        self.answer: BufferedStream | None = None
        self.error: ProviderError | None = None
        """Why the transcription failed: the turn's own attempt then counts as the retry."""
        self.used = False
        self.measured: dict[str, asyncio.Future[Any]] = {}
        """Per-utterance measurements started with the words (perception: prosody, voice, addressee),
        so that a turn whose words were ready at once does not wait for them either."""

    async def transcript(self) -> str | None:
        """The words, or None when the transcription failed or was cancelled (the caller then
        transcribes the turn itself)."""
        if self.words is None:
            return None
        try:
            return await asyncio.shield(self.words)
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if self.words.cancelled() and (task is None or not task.cancelling()):
                return None
            raise

    def answer_for(self, messages: list[Message]) -> AsyncIterator[str] | None:
        """The read-ahead answer when it was asked with exactly these messages; else it is dropped."""
        answer, self.answer = self.answer, None
        if answer is None:
            return None
        if messages != self.messages:
            answer.cancel()
            return None
        return answer.replay()

    def cancel(self) -> None:
        for future in self.measured.values():
            if not future.done():
                future.cancel()
        if self.words is not None and not self.words.done():
            self.words.cancel()
        if self.answer is not None:
            self.answer.cancel()
            self.answer = None


class Speculator:
    """Starts, keeps and hands over at most one draft per session: the one for the current silence."""

    def __init__(
        self,
        config: SpeculationConfig,
        stt: STT,
        unfinished: UnfinishedText | None,
        messages: Callable[[], list[Message]],
        llm_stream: Callable[[list[Message]], AsyncIterator[str]],
        deadlines: DeadlinesConfig,
        spawn: Callable[[Coroutine[Any, Any, Any], str], asyncio.Task[Any]],
    ) -> None:
        self.config, self._stt, self._unfinished = config, stt, unfinished
        self._messages, self._llm_stream, self._deadlines, self._spawn = messages, llm_stream, deadlines, spawn
        self.draft: Draft | None = None
        self.on_draft: Callable[[Draft, np.ndarray], None] | None = None
        """Called with each new draft and its audio (to start per-utterance measurements alongside)."""
        self.started = 0
        self.used = 0
        """Drafts started and drafts whose words served a turn or the judge (the rest were wasted)."""

    @property
    def enabled(self) -> bool:
        return self.config.stt

    def frame(
        self, now: float, silence_start: float | None, speech_start: float | None, audio: Callable[[], np.ndarray]
    ) -> None:
        """After each frame: `silence_start` is the start of the current silence in an open turn (None
        while the user speaks, outside a turn, or when nothing may be prepared now)."""
        draft = self.draft
        if draft is not None and draft.speech_end != silence_start:
            draft.cancel()  # the user went on: nobody hears it
            self.draft = draft = None
        if draft is not None or silence_start is None or not self.config.stt:
            return
        if now - silence_start < self.config.after_ms / 1000.0:
            return
        self.draft = draft = Draft(silence_start, speech_start)
        heard = audio()
        draft.words = self._spawn(self._prepare(draft, heard), "speculation")
        if self.on_draft is not None:
            self.on_draft(draft, heard)
        self.started += 1

    async def _prepare(self, draft: Draft, audio: np.ndarray) -> str | None:
        start = time.perf_counter()
        try:
            transcript = await call_within(
                self._stt.transcribe(audio, INPUT_RATE),
                self._deadlines.stt_s,
                lambda: ProviderError(self._stt.name, "timeout", "speech recognition took too long"),
            )
        except ProviderError as exc:  # the turn is transcribed again (as the retry) and reports the error
            log.debug("speculative transcription failed: %s", exc)
            draft.error = exc
            return None
        text = transcript.text.strip()
        log.debug("speculative words after %.0f ms: %r", (time.perf_counter() - start) * 1000, text)
        if self._unfinished is not None:
            self._unfinished.learn(text)
        if self.config.llm and text and (self._unfinished is None or not self._unfinished.unfinished(text)):
            messages = self._messages()
            messages.append({"role": "user", "content": text})
            draft.messages = messages
            draft.answer = BufferedStream(self._llm_stream(messages))
        return text

    def words_for(self, speech_end: float) -> Draft | None:
        """The draft for the silence at `speech_end`, left in place (the judge reads its words)."""
        draft = self.draft
        if draft is None or draft.speech_end != speech_end:
            return None
        self._mark_used(draft)
        return draft

    def take(self, speech_end: float, speech_start: float) -> Draft | None:
        """Hand the draft over to the turn that ended at `speech_end`; any other draft is dropped."""
        draft, self.draft = self.draft, None
        if draft is None:
            return None
        if draft.speech_end != speech_end or draft.speech_start != speech_start:
            draft.cancel()
            return None
        self._mark_used(draft)
        return draft

    def _mark_used(self, draft: Draft) -> None:
        if not draft.used:
            draft.used = True
            self.used += 1

    def discard(self) -> None:
        if self.draft is not None:
            self.draft.cancel()
            self.draft = None
