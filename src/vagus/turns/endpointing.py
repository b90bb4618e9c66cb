"""End-of-turn detection: VAD silence, shortened or lengthened by a semantic model's judgement.

The VAD reports when speech began and ended. Without a model, a turn ends once the user has been
silent for `silence_ms`. With one (`SemanticWaits`), the endpointer asks for a prediction as soon as
the VAD reports the stop (`prediction_due`); the session runs the model off the frame path and hands
back P(complete) (`set_probability`). A complete-sounding utterance then ends after
`complete_silence_ms` of silence (~200 ms: close to the human gap between turns), an unfinished one
("I want to, um…") only after `incomplete_silence_ms`; until the answer arrives the long wait
applies. Speech that resumes within the wait continues the same turn; a turn needs at least
`min_utterance_ms` of speech. Works on session-clock times only, so it is tested on a virtual clock.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class TurnDecision:
    speech_start: float
    speech_end: float
    decided: float
    reason: str
    probability: float | None = None


@dataclass(frozen=True, slots=True)
class SemanticWaits:
    complete_silence_ms: float = 200.0
    incomplete_silence_ms: float = 1500.0
    threshold: float = 0.5

    def __post_init__(self) -> None:
        if not 0 < self.threshold < 1:
            raise ValueError("end_of_turn.threshold must be between 0 and 1")
        if not 0 < self.complete_silence_ms <= self.incomplete_silence_ms:
            raise ValueError("end_of_turn: 0 < complete_silence_ms <= incomplete_silence_ms")


class SilenceEndpointer:
    __slots__ = (
        "_asked",
        "_probability",
        "_segment_start",
        "_speaking",
        "_speech_end",
        "_speech_start",
        "_voiced",
        "max_utterance_s",
        "min_utterance_s",
        "semantic",
        "silence_s",
    )

    def __init__(
        self,
        silence_ms: float = 500.0,
        min_utterance_ms: float = 150.0,
        max_utterance_s: float = 30.0,
        semantic: SemanticWaits | None = None,
    ):
        if silence_ms <= 0:
            raise ValueError("turns.silence_ms must be positive")
        self.semantic = semantic
        self._asked = False
        self._probability: float | None = None
        self.silence_s = silence_ms / 1000.0
        self.min_utterance_s = min_utterance_ms / 1000.0
        self.max_utterance_s = max_utterance_s
        self._speaking = False
        self._speech_start: float | None = None
        self._speech_end = 0.0
        self._voiced = 0.0
        self._segment_start = 0.0

    @property
    def in_turn(self) -> bool:
        return self._speech_start is not None

    @property
    def speech_start(self) -> float | None:
        return self._speech_start

    @property
    def probability(self) -> float | None:
        """The model's P(complete) for the current silence, once it has answered."""
        return self._probability

    def speech_started(self, at: float) -> None:
        if self._speech_start is None:
            self._speech_start = at
        self._speaking = True
        self._segment_start = at
        self._asked = False
        self._probability = None

    def prediction_due(self) -> float | None:
        """The speech end to judge, once per silence, when a model is configured and the turn is long
        enough to count; None otherwise."""
        if (
            self.semantic is None
            or self._asked
            or self._speaking
            or self._speech_start is None
            or self._voiced < self.min_utterance_s
        ):
            return None
        self._asked = True
        return self._speech_end

    def set_probability(self, speech_end: float, probability: float) -> None:
        """The model's answer for the silence after `speech_end`; stale answers are ignored."""
        if not self._speaking and self._speech_start is not None and speech_end == self._speech_end:
            self._probability = probability

    def required_silence(self) -> float:
        w = self.semantic
        if w is None:
            return self.silence_s
        if self._probability is not None and self._probability >= w.threshold:
            return w.complete_silence_ms / 1000.0
        return w.incomplete_silence_ms / 1000.0

    def speech_stopped(self, at: float) -> None:
        if not self._speaking:
            return
        self._speaking = False
        self._voiced += max(0.0, at - self._segment_start)
        self._speech_end = at

    def check(self, now: float) -> TurnDecision | None:
        """Call once per frame with the current session time."""
        start = self._speech_start
        if start is None:
            return None
        if self._speaking:
            if now - start >= self.max_utterance_s:
                return self._decide(now, now, "max_length")
            return None
        if now - self._speech_end >= self.required_silence():
            if self._voiced < self.min_utterance_s:
                self.reset()
                return None
            complete = self._probability is not None and self._probability >= self.semantic.threshold  # type: ignore[union-attr]
            return self._decide(self._speech_end, now, "model_complete" if complete else "silence")
        return None

    def _decide(self, speech_end: float, now: float, reason: str) -> TurnDecision:
        start = self._speech_start if self._speech_start is not None else speech_end
        decision = TurnDecision(start, speech_end, now, reason, self._probability)
        self.reset()
        return decision

    def reset(self) -> None:
        self._speech_start = None
        self._speaking = False
        self._voiced = 0.0
        self._asked = False
        self._probability = None
