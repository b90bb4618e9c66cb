"""Judging the end of a turn off the frame path: the end-of-turn model on the turn's audio, then, when
the model says "unfinished", the transcript's second opinion (turns/unfinished.py).

The endpointer asks (`prediction_due`) and this part answers it: the model's P(complete) goes back
to the endpointer, and a transcript that is a finished sentence ends the turn sooner
(`text_silence_ms`) and is kept as the turn's words, so the turn needs no second transcription.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Any, Protocol

import numpy as np

from vagus.core.clock import Clock
from vagus.services.errors import ProviderError
from vagus.services.stt.base import STT
from vagus.turns.endpointing import SilenceEndpointer
from vagus.turns.unfinished import UnfinishedText
from vagus.turns.utterance import UtteranceRecorder

log = logging.getLogger("vagus.turns")

INPUT_RATE = 16000
MODEL_WINDOW_S = 8.0
"""How much of the turn the end-of-turn model hears."""


class EndOfTurnModel(Protocol):
    async def judge(self, audio: np.ndarray) -> float: ...


class _Draft(Protocol):
    async def transcript(self) -> str | None: ...


class TurnJudge:
    def __init__(
        self,
        model: EndOfTurnModel | None,
        stt: STT,
        endpointer: SilenceEndpointer,
        recorder: UtteranceRecorder,
        unfinished: UnfinishedText | None,
        clock: Clock,
        spawn: Callable[[Coroutine[Any, Any, Any], str], object],
        check_turn_end: Callable[[float], None],
        paused: Callable[[], bool],
        drafts: Callable[[float], _Draft | None] | None = None,
    ) -> None:
        self._model, self._stt, self._endpointer, self._recorder = model, stt, endpointer, recorder
        self._unfinished, self._clock, self._spawn = unfinished, clock, spawn
        self._check_turn_end, self._paused = check_turn_end, paused
        self._drafts = drafts
        """The speculative draft for a silence (`agent/speculation.py`): its words serve the check."""
        self.known_words: tuple[float, str] | None = None
        """(speech end, words) already transcribed: the turn ending there needs no second transcription."""

    def frame(self, end: float, silent_since: float | None) -> None:
        """After each frame: ask the model once the endpointer wants its opinion of this silence."""
        due = self._endpointer.prediction_due(end, silent_since)
        if due is not None:
            self._spawn(self.judge(due, self._recorder.peek(MODEL_WINDOW_S)), "end-of-turn")

    def take_words(self, speech_end: float) -> str | None:
        """The words already transcribed for speech that ended at `speech_end`, once."""
        known, self.known_words = self.known_words, None
        return known[1] if known is not None and known[0] == speech_end else None

    async def judge(self, speech_end: float, audio: np.ndarray) -> None:
        model = self._model
        if model is None or len(audio) == 0:
            return
        try:
            probability = await model.judge(audio)
        except Exception:  # a broken model must not end the session: the long silence wait applies
            log.exception("end-of-turn model failed")
            return
        self._endpointer.set_probability(speech_end, probability)
        self._check_turn_end(self._clock.now())
        if self._unfinished is not None and not self._paused() and self._endpointer.text_due() is not None:
            self._spawn(self.judge_words(speech_end, self._recorder.peek()), "end-of-turn-words")

    async def judge_words(self, speech_end: float, audio: np.ndarray) -> None:
        """The model heard an unfinished utterance: a transcript that is a finished sentence ends the
        turn sooner (`text_silence_ms`), and becomes the turn's transcript."""
        draft = self._drafts(speech_end) if self._drafts is not None else None
        text = await draft.transcript() if draft is not None else None
        if text is None:
            try:
                text = (await self._stt.transcribe(audio, INPUT_RATE)).text.strip()
            except ProviderError:  # the long wait applies, and the turn is transcribed again
                return
        if self._endpointer.speech_start is None or self._unfinished is None:
            return  # the turn already ended (the long wait ran out first)
        self._unfinished.learn(text)
        self.known_words = (speech_end, text)
        if text and not self._unfinished.unfinished(text):
            self._endpointer.set_text_finished(speech_end)
            self._check_turn_end(self._clock.now())
