"""Voice activity detection with hysteresis, per session, on top of a shared Silero model.

Speech starts once the probability stays at or above `start_threshold` for `min_speech_ms`; it stops
once it stays below `stop_threshold` for `min_silence_ms`. The two thresholds keep a word's quiet
tail from flickering the state. Transitions carry the time the speech actually began or ended, which
is earlier than the moment the detector became sure.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vagus.audio.pcm import FrameSplitter
from vagus.senses.silero import CHUNK, SAMPLE_RATE, SileroModel, SileroState

CHUNK_SECONDS = CHUNK / SAMPLE_RATE


@dataclass(frozen=True, slots=True)
class VadSettings:
    start_threshold: float = 0.5
    stop_threshold: float = 0.35
    min_speech_ms: float = 64.0
    min_silence_ms: float = 160.0

    def __post_init__(self) -> None:
        if not 0.0 < self.stop_threshold <= self.start_threshold < 1.0:
            raise ValueError("VAD thresholds need 0 < stop_threshold <= start_threshold < 1")
        if self.min_speech_ms < 0 or self.min_silence_ms < 0:
            raise ValueError("VAD durations must not be negative")


@dataclass(frozen=True, slots=True)
class VadTransition:
    speaking: bool
    at: float
    """When speech began (speaking=True) or ended (speaking=False), session-clock seconds."""
    decided: float
    """When the detector became sure (end of the chunk that tipped the decision)."""


_NONE: tuple[VadTransition, ...] = ()


class VoiceActivityDetector:
    """Consumes 16 kHz float32 frames of any length; returns the transitions they caused."""

    __slots__ = (
        "_model",
        "_run_start",
        "_run_time",
        "_settings",
        "_splitter",
        "_state",
        "last_probability",
        "speaking",
    )

    def __init__(self, model: SileroModel, settings: VadSettings | None = None) -> None:
        self._model = model
        self._settings = settings or VadSettings()
        self._state = SileroState()
        self._splitter = FrameSplitter(CHUNK)
        self.speaking = False
        self.last_probability = 0.0
        self._run_start = 0.0
        self._run_time = 0.0

    @property
    def silent_since(self) -> float | None:
        """While speaking: the start of the quiet run that may become the stop (the `at` its stop
        transition will carry), None while the speech goes on. Lets the end-of-turn model start
        before the detector is sure."""
        if self.speaking and self._run_time > 0.0:
            return self._run_start
        return None

    def process(self, samples: np.ndarray, t: float) -> tuple[VadTransition, ...]:
        """Feed samples whose first sample is at session time `t`."""
        pending_before = self._splitter.pending
        chunks = self._splitter.push(samples)
        if not chunks:
            return _NONE
        transitions: tuple[VadTransition, ...] = _NONE
        chunk_start = t - pending_before / SAMPLE_RATE
        for chunk in chunks:
            transition = self.feed_probability(self._model.infer(chunk, self._state), chunk_start)
            if transition is not None:
                transitions = (*transitions, transition)
            chunk_start += CHUNK_SECONDS
        return transitions

    def feed_probability(self, probability: float, chunk_start: float) -> VadTransition | None:
        """The hysteresis state machine, separated from the model so it can be driven directly."""
        self.last_probability = probability
        s = self._settings
        chunk_end = chunk_start + CHUNK_SECONDS
        if not self.speaking:
            if probability >= s.start_threshold:
                if self._run_time == 0.0:
                    self._run_start = chunk_start
                self._run_time += CHUNK_SECONDS
                if self._run_time * 1000.0 >= s.min_speech_ms:
                    self.speaking = True
                    self._run_time = 0.0
                    return VadTransition(True, self._run_start, chunk_end)
            else:
                self._run_time = 0.0
            return None
        if probability < s.stop_threshold:
            if self._run_time == 0.0:
                self._run_start = chunk_start
            self._run_time += CHUNK_SECONDS
            if self._run_time * 1000.0 >= s.min_silence_ms:
                self.speaking = False
                self._run_time = 0.0
                return VadTransition(False, self._run_start, chunk_end)
        else:
            self._run_time = 0.0
        return None

    def reset(self) -> None:
        self._state.reset()
        self._splitter.reset()
        self.speaking = False
        self._run_time = 0.0
