"""Acoustic echo cancellation engines, run on 10 ms blocks at 16 kHz.

- `Aec3Echo` (default): WebRTC's AEC3 as shipped in the `livekit` wheel's AudioProcessingModule
  (Apache-2.0). Measured here: 39–51 dB ERLE in single talk with 40–300 ms of echo delay, found by its
  own delay estimator; it also attenuates the user while both talk (see docs/senses.md).
- `SpeexEcho`: the Speex MDF adaptive filter from the `pyaec` wheel, fed a reference pre-aligned by
  our GCC-PHAT `DelayEstimator`. Less cancellation (16–20 dB) but a linear filter that leaves the
  user's voice intact during double talk.
"""

from __future__ import annotations

import ctypes
from typing import Protocol

import numpy as np

from vagus.audio.pcm import float_to_int16, int16_to_float
from vagus.senses.apm import BLOCK, RATE, ApmBlock
from vagus.senses.delay import DelayEstimator


class EchoEngine(Protocol):
    name: str

    def process(self, mic: np.ndarray, ref: np.ndarray) -> np.ndarray:
        """One 10 ms block of microphone audio and the reference sent at the same moment."""
        ...


class Aec3Echo:
    """AEC3, switched to pass-through while no echo is present.

    AEC3 keeps suppressing conservatively when the agent's voice never reaches the microphone
    (headphones, a phone held to the ear), which costs the user's barge-in: measured here, an
    interruption decided 790 ms after the user's onset instead of 115 ms. So a GCC-PHAT estimator
    watches for the reference in the microphone; after `absent_after_s` of agent speech without a
    trace of it, the microphone passes untouched (AEC3 keeps adapting underneath), and as soon as an
    echo shows up, AEC3's output is used again.
    """

    name = "aec3"

    def __init__(
        self,
        high_pass: bool = True,
        absent_after_s: float = 1.5,
        presence_confidence: float = 8.0,
    ):
        self._apm = ApmBlock(echo_cancellation=True, high_pass_filter=high_pass)
        self.estimator = DelayEstimator(RATE, min_confidence=presence_confidence)
        self._absent_after = int(absent_after_s * RATE / BLOCK)
        self._active_blocks = 0
        self._far_blocks = 0
        self.echo_present = True
        self._hinted_delay: float | None = None

    def settling(self, settle_s: float) -> bool:
        """The canceller has heard less than `settle_s` of the agent: its residual may still sound like
        speech, so an interruption should need more evidence (measured: a false barge-in 1 s in)."""
        return self.echo_present and self._far_blocks * BLOCK < settle_s * RATE

    def process(self, mic: np.ndarray, ref: np.ndarray) -> np.ndarray:
        self._apm.reverse(ref)
        delay = self.estimator.delay_ms
        if delay is not None and delay != self._hinted_delay:
            self._apm.set_stream_delay_ms(delay)  # a hint for AEC3's own alignment; each call costs ~14 µs
            self._hinted_delay = delay
        out = self._apm.process(mic)
        self._track_presence(mic, ref)
        return out if self.echo_present else mic

    def _track_presence(self, mic: np.ndarray, ref: np.ndarray) -> None:
        estimator = self.estimator
        confirmed, confidence = estimator.confirmations, estimator.confidence
        estimator.push(mic, ref)
        if float(np.dot(ref, ref)) > 1e-5 * len(ref):
            self._active_blocks += 1
            self._far_blocks += 1
        if estimator.confirmations > confirmed:
            self.echo_present = True  # the same delay found twice: the agent's voice is in the microphone
            self._active_blocks = 0
        elif estimator.confidence != confidence and estimator.confidence >= estimator.min_confidence:
            self._active_blocks = 0  # a confident peak: still evidence of an echo
        # Declaring the echo gone takes much longer once one has been found: pauses and double talk
        # blur the estimate for a while, and a wrong "gone" lets the raw echo through.
        limit = self._absent_after if estimator.confirmations == 0 else self._absent_after * 4
        if self._active_blocks >= limit:
            self.echo_present = False


class SpeexEcho:
    name = "speex"

    def __init__(self, filter_ms: float = 200.0, max_delay_ms: float = 500.0) -> None:
        import pyaec

        self._lib = pyaec.lib
        self._handle = self._lib.AecNew(BLOCK, int(RATE * filter_ms / 1000), RATE, False)
        if not self._handle:
            raise RuntimeError("could not create the Speex echo canceller")
        self._ptr = ctypes.POINTER(ctypes.c_int16)
        self._out = np.zeros(BLOCK, dtype=np.int16)
        self.estimator = DelayEstimator(RATE, max_delay_ms)
        self._margin = int(RATE * 0.02)  # leave the filter 20 ms before the estimated delay

    def process(self, mic: np.ndarray, ref: np.ndarray) -> np.ndarray:
        self.estimator.push(mic, ref)  # the estimator's reference history also serves the alignment
        delay = max(0, (self.estimator.delay_samples or 0) - self._margin)
        aligned = float_to_int16(self.estimator.recent_reference(delay, BLOCK))
        near = float_to_int16(mic)
        self._lib.AecCancelEcho(
            self._handle, near.ctypes.data_as(self._ptr), aligned.ctypes.data_as(self._ptr),
            self._out.ctypes.data_as(self._ptr), BLOCK,
        )  # fmt: skip
        return int16_to_float(self._out)

    def __del__(self) -> None:
        handle = getattr(self, "_handle", None)
        if handle:
            self._lib.AecDestroy(handle)
            self._handle = None


def make_echo_engine(name: str, filter_ms: float = 200.0) -> EchoEngine:
    if name == "aec3":
        return Aec3Echo()
    if name == "speex":
        return SpeexEcho(filter_ms)
    raise ValueError(f"unknown echo engine {name!r} (choose aec3 or speex)")
