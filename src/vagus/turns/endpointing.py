"""Silence-based end-of-turn detection (v1).

The VAD reports when speech began and ended; a turn ends once the user has been silent for
`silence_ms` after their last speech, provided they said at least `min_utterance_ms` worth. Speech
that resumes within the silence window continues the same turn. Works on session-clock times only, so
it is tested on a virtual clock.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class TurnDecision:
    speech_start: float
    speech_end: float
    decided: float
    reason: str


class SilenceEndpointer:
    __slots__ = (
        "_segment_start",
        "_speaking",
        "_speech_end",
        "_speech_start",
        "_voiced",
        "max_utterance_s",
        "min_utterance_s",
        "silence_s",
    )

    def __init__(self, silence_ms: float = 500.0, min_utterance_ms: float = 150.0, max_utterance_s: float = 30.0):
        if silence_ms <= 0:
            raise ValueError("turns.silence_ms must be positive")
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

    def speech_started(self, at: float) -> None:
        if self._speech_start is None:
            self._speech_start = at
        self._speaking = True
        self._segment_start = at

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
        if now - self._speech_end >= self.silence_s:
            if self._voiced < self.min_utterance_s:
                self.reset()
                return None
            return self._decide(self._speech_end, now, "silence")
        return None

    def _decide(self, speech_end: float, now: float, reason: str) -> TurnDecision:
        start = self._speech_start if self._speech_start is not None else speech_end
        decision = TurnDecision(start, speech_end, now, reason)
        self.reset()
        return decision

    def reset(self) -> None:
        self._speech_start = None
        self._speaking = False
        self._voiced = 0.0
