"""Acoustic echo cancellation engines, run on 10 ms blocks at 16 kHz.

- `Aec3Echo` (default): WebRTC's AEC3 as shipped in the `livekit` wheel's AudioProcessingModule
  (Apache-2.0). Measured here: 39–51 dB ERLE in single talk with 40–300 ms of echo delay, found by its
  own delay estimator; it also attenuates the user while both talk (see docs/senses.md).
  With `double_talk` (default) a `SpeexEcho` runs beside it on the same microphone, and while the
  user talks over the agent its output, which keeps the user's voice, is handed on instead
  (senses/double_talk.py).
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
from vagus.senses.double_talk import DoubleTalkDetector

_RAMP = np.linspace(0.0, 1.0, BLOCK, dtype=np.float32)


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
    idle_after_s = 1.0
    """Silence of the agent after which no echo of it can remain (the estimator searches 500 ms of
    delay; rooms ring a few hundred ms more): from then on only AEC3 itself runs; the delay
    estimator, the linear canceller and the double-talk detector rest until the agent makes a sound
    again. (Resting AEC3 too was measured worse: woken cold at the next answer, it paused the agent
    on its own echo 5 times instead of once in the barge-in sweep's 200 ms / −10 dB path.)"""

    def __init__(
        self,
        high_pass: bool = True,
        absent_after_s: float = 1.5,
        presence_confidence: float = 8.0,
        double_talk: bool = True,
        linear_filter_ms: float = 200.0,
    ):
        self._apm = ApmBlock(echo_cancellation=True, high_pass_filter=high_pass)
        self.estimator = DelayEstimator(RATE, min_confidence=presence_confidence)
        # the linear canceller beside AEC3, for double talk (senses/double_talk.py); same delay estimate
        self._linear = SpeexEcho(linear_filter_ms, estimator=self.estimator) if double_talk else None
        self.double_talk = DoubleTalkDetector() if double_talk else None
        self._was_double_talk = False
        self._absent_after = int(absent_after_s * RATE / BLOCK)
        self._active_blocks = 0
        self._far_blocks = 0
        self.echo_present = True
        self._hinted_delay: float | None = None
        self._silent_blocks = 0
        self._idle_blocks = int(self.idle_after_s * RATE / BLOCK)
        self.skipped_blocks = 0

    def settling(self, settle_s: float) -> bool:
        """The canceller has heard less than `settle_s` of the agent: its residual may still sound like
        speech, so an interruption should need more evidence (measured: a false barge-in 1 s in)."""
        return self.echo_present and self._far_blocks * BLOCK < settle_s * RATE

    @property
    def idle(self) -> bool:
        """Nothing the agent played can still be in the microphone."""
        return self._silent_blocks >= self._idle_blocks

    def process(self, mic: np.ndarray, ref: np.ndarray) -> np.ndarray:
        if ref.any():
            self._silent_blocks = 0
        else:
            self._silent_blocks += 1
            if self._silent_blocks > self._idle_blocks:
                self.skipped_blocks += 1  # pay only for what can happen: AEC3 alone, kept warm
                self._apm.reverse(ref)
                out = self._apm.process(mic)
                return out if self.echo_present else mic
        self._apm.reverse(ref)
        delay = self.estimator.delay_ms
        if delay is not None and delay != self._hinted_delay:
            self._apm.set_stream_delay_ms(delay)  # a hint for AEC3's own alignment; each call costs ~14 µs
            self._hinted_delay = delay
        self._track_presence(mic, ref)  # pushes the block into the estimator the linear filter reads
        out = self._apm.process(mic)
        if self._linear is not None:
            out = self._pick_for_double_talk(mic, ref, out)
        return out if self.echo_present else mic

    def _pick_for_double_talk(self, mic: np.ndarray, ref: np.ndarray, aec3: np.ndarray) -> np.ndarray:
        """AEC3's output, or during double talk the linear canceller's, which keeps the user's voice;
        a switch crossfades over the block so that it does not click."""
        linear = self._linear.process(mic, ref)  # type: ignore[union-attr]
        n = len(mic)
        on = self.double_talk.process(  # type: ignore[union-attr]
            float(np.dot(mic, mic)) / n, float(np.dot(linear, linear)) / n,
            float(np.dot(aec3, aec3)) / n, float(np.dot(ref, ref)) / n,
        )  # fmt: skip
        was, self._was_double_talk = self._was_double_talk, on
        if on == was:
            return linear if on else aec3
        return aec3 + (linear - aec3) * (_RAMP if on else 1.0 - _RAMP)  # blocks are always BLOCK long

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

    def __init__(
        self, filter_ms: float = 200.0, max_delay_ms: float = 500.0, estimator: DelayEstimator | None = None
    ) -> None:
        """`estimator`: one that another engine already feeds with every block (AEC3's), shared
        instead of a second GCC-PHAT on the same signals."""
        import pyaec

        self._lib = pyaec.lib
        self._handle = self._lib.AecNew(BLOCK, int(RATE * filter_ms / 1000), RATE, False)
        if not self._handle:
            raise RuntimeError("could not create the Speex echo canceller")
        self._ptr = ctypes.POINTER(ctypes.c_int16)
        self._out = np.zeros(BLOCK, dtype=np.int16)
        self._own_estimator = estimator is None
        self.estimator = DelayEstimator(RATE, max_delay_ms) if estimator is None else estimator
        self._margin = int(RATE * 0.02)  # leave the filter 20 ms before the estimated delay
        self._taps = int(RATE * filter_ms / 1000)
        self._shift = 0  # samples the reference is delayed by before the filter

    def process(self, mic: np.ndarray, ref: np.ndarray) -> np.ndarray:
        if self._own_estimator:
            self.estimator.push(mic, ref)  # the estimator's reference history also serves the alignment
        aligned = float_to_int16(self.estimator.recent_reference(self._aligned_shift(), BLOCK))
        near = float_to_int16(mic)
        self._lib.AecCancelEcho(
            self._handle, near.ctypes.data_as(self._ptr), aligned.ctypes.data_as(self._ptr),
            self._out.ctypes.data_as(self._ptr), BLOCK,
        )  # fmt: skip
        return int16_to_float(self._out)

    def _aligned_shift(self) -> int:
        """The reference's pre-delay. It moves only when the echo's delay leaves the span the filter
        covers with room for the room's reverberation (half the filter): every move makes the adaptive
        filter learn the echo path anew, which costs seconds (measured: a 2-sample move on a fresh
        estimate dropped the cancellation from 28 to 5 dB for a second)."""
        delay = self.estimator.delay_samples
        if delay is not None and not self._shift <= delay <= self._shift + self._taps // 2:
            self._shift = max(0, delay - self._margin)
        return self._shift

    def __del__(self) -> None:
        handle = getattr(self, "_handle", None)
        if handle:
            self._lib.AecDestroy(handle)
            self._handle = None


def make_echo_engine(name: str, filter_ms: float = 200.0, double_talk: bool = True) -> EchoEngine:
    if name == "aec3":
        return Aec3Echo(double_talk=double_talk, linear_filter_ms=filter_ms)
    if name == "speex":
        return SpeexEcho(filter_ms)
    raise ValueError(f"unknown echo engine {name!r} (choose aec3 or speex)")
