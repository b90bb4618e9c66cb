"""The far-end reference: what the agent actually sent, lined up with the microphone.

Every pulled output frame is resampled to 16 kHz and appended here; every microphone frame takes the
same number of samples off the front. Echo of a sent frame can only reach the microphone after it was
sent, so the reference is never late; the acoustic and network delay on top is what the echo
canceller's delay estimator finds. When output and input run on different clocks (WebRTC), the
queue is kept within `max_lag_ms`, so clock drift cannot make the reference fall ever further behind.
"""

from __future__ import annotations

import numpy as np


class FarEndReference:
    __slots__ = ("_buffer", "_fill", "_max")

    def __init__(self, sample_rate: int = 16000, max_lag_ms: float = 200.0) -> None:
        self._max = int(sample_rate * max_lag_ms / 1000)
        self._buffer = np.zeros(self._max * 2, dtype=np.float32)
        self._fill = 0

    @property
    def queued(self) -> int:
        return self._fill

    def push(self, pcm: np.ndarray) -> None:
        n = len(pcm)
        if n >= self._max:
            self._buffer[: self._max] = pcm[-self._max :]
            self._fill = self._max
            return
        if self._fill + n > len(self._buffer):
            keep = self._max - n
            self._buffer[:keep] = self._buffer[self._fill - keep : self._fill]
            self._fill = keep
        self._buffer[self._fill : self._fill + n] = pcm
        self._fill += n
        if self._fill > self._max:  # drift: drop the oldest samples beyond the bound
            drop = self._fill - self._max
            self._buffer[: self._max] = self._buffer[drop : self._fill]
            self._fill = self._max

    def take(self, n: int) -> np.ndarray:
        """The reference for the next `n` microphone samples (silence where nothing was sent)."""
        out = np.zeros(n, dtype=np.float32)
        m = min(n, self._fill)
        if m:
            out[:m] = self._buffer[:m]
            self._buffer[: self._fill - m] = self._buffer[m : self._fill]
            self._fill -= m
        return out
