"""Voice activity detection with hysteresis, per session, on top of a shared Silero model.

Speech starts once the probability stays at or above `start_threshold` for `min_speech_ms`; it stops
once it stays below `stop_threshold` for `min_silence_ms`. The two thresholds keep a word's quiet
tail from flickering the state. Transitions carry the time the speech actually began or ended, which
is earlier than the moment the detector became sure. The model decides on 32 ms chunks; the end of
speech is placed within the last voiced chunk by its energy (8 ms steps), so a turn decided a fixed
silence after it does not wait up to a chunk longer than its policy says.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vagus.audio.pcm import FrameSplitter
from vagus.config import VadConfig
from vagus.senses.silero import CHUNK, SAMPLE_RATE, SileroModel, SileroState

CHUNK_SECONDS = CHUNK / SAMPLE_RATE
STEP = 128
"""Samples per energy step when placing the end of speech inside a chunk (8 ms)."""
TAIL_DROP = 0.0625
"""A step this much quieter than the chunk's loudest (-12 dB) is no longer the word."""


def speech_end_within(chunk: np.ndarray | None, chunk_end: float) -> float:
    """Where the speech in the last voiced `chunk` (ending at `chunk_end`) stops: the end of its last
    8 ms step within 12 dB of its loudest."""
    if chunk is None or len(chunk) < STEP:
        return chunk_end
    steps = chunk[: len(chunk) // STEP * STEP].reshape(-1, STEP)
    energy = np.einsum("ij,ij->i", steps, steps)
    peak = float(energy.max())
    if peak <= 0.0:
        return chunk_end
    last = int(np.flatnonzero(energy >= peak * TAIL_DROP)[-1])
    return chunk_end - (len(steps) - 1 - last) * STEP / SAMPLE_RATE


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
        "_has_voiced",
        "_last_voiced",
        "_model",
        "_run_start",
        "_run_time",
        "_settings",
        "_splitter",
        "_state",
        "last_probability",
        "speaking",
    )

    def __init__(self, model: SileroModel, settings: VadConfig | None = None) -> None:
        """`settings`: the config's `vad` section (its defaults are the only ones)."""
        self._model = model
        self._settings = settings or VadConfig()
        self._state = SileroState()
        self._splitter = FrameSplitter(CHUNK)
        self.speaking = False
        self.last_probability = 0.0
        self._run_start = 0.0
        self._run_time = 0.0
        self._last_voiced = np.zeros(CHUNK, np.float32)
        """A copy of the last voiced chunk (the input buffers may be reused by the front end)."""
        self._has_voiced = False

    @property
    def silent_since(self) -> float | None:
        """While speaking: the start of the quiet run that may become the stop (the `at` its stop
        transition will carry), None while the speech goes on. Lets the end-of-turn model start
        before the detector is sure."""
        if self.speaking and self._run_time > 0.0:
            return self._run_start
        return None

    @property
    def model(self) -> SileroModel:
        return self._model

    @property
    def state(self) -> SileroState:
        """This session's recurrent state: a host batching many sessions passes it to `infer_batch`."""
        return self._state

    def chunks(self, samples: np.ndarray, t: float) -> list[tuple[np.ndarray, float]]:
        """The model chunks that samples starting at session time `t` complete, with their start
        times. Score each (`infer`, or batched by a host) and hand it to `feed_probability`."""
        pending_before = self._splitter.pending
        chunks = self._splitter.push(samples)
        if not chunks:
            return []
        start = t - pending_before / SAMPLE_RATE
        return [(chunk, start + i * CHUNK_SECONDS) for i, chunk in enumerate(chunks)]

    def infer(self, chunk: np.ndarray) -> float:
        """This session's own model call for one chunk (no batching)."""
        return self._model.infer(chunk, self._state)

    def process(self, samples: np.ndarray, t: float) -> tuple[VadTransition, ...]:
        """Feed samples whose first sample is at session time `t` (model called here, unbatched)."""
        transitions: tuple[VadTransition, ...] = _NONE
        for chunk, start in self.chunks(samples, t):
            transition = self.feed_probability(self.infer(chunk), start, chunk)
            if transition is not None:
                transitions = (*transitions, transition)
        return transitions

    def feed_probability(
        self, probability: float, chunk_start: float, chunk: np.ndarray | None = None
    ) -> VadTransition | None:
        """The hysteresis state machine, separated from the model so it can be driven directly.
        `chunk`: the audio scored (places the end of speech inside the last voiced chunk)."""
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
                    self._keep_voiced(chunk)
                    return VadTransition(True, self._run_start, chunk_end)
            else:
                self._run_time = 0.0
            return None
        if probability < s.stop_threshold:
            if self._run_time == 0.0:
                voiced = self._last_voiced if self._has_voiced else None
                self._run_start = speech_end_within(voiced, chunk_start)
            self._run_time += CHUNK_SECONDS
            if self._run_time * 1000.0 >= s.min_silence_ms:
                self.speaking = False
                self._run_time = 0.0
                self._has_voiced = False
                return VadTransition(False, self._run_start, chunk_end)
        else:
            self._run_time = 0.0
            self._keep_voiced(chunk)
        return None

    def _keep_voiced(self, chunk: np.ndarray | None) -> None:
        if chunk is not None and len(chunk) == CHUNK:
            self._last_voiced[:] = chunk
            self._has_voiced = True
        else:
            self._has_voiced = False

    def reset(self) -> None:
        self._state.reset()
        self._splitter.reset()
        self.speaking = False
        self._run_time = 0.0
