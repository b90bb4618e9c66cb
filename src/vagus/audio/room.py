"""A simulated loudspeaker-to-microphone path, for tests and benchmarks of echo handling.

The agent's output goes through a room impulse response (exponentially decaying noise with a direct
path, the usual synthetic model), a delay and a gain, and is added to the microphone signal.
"""

from __future__ import annotations

import numpy as np


def synthetic_rir(rate: int = 16000, rt60_s: float = 0.25, length_s: float = 0.3, seed: int = 0) -> np.ndarray:
    """Unit-energy impulse response: a direct path followed by a diffuse tail decaying by 60 dB in rt60."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(rate * length_s)) / rate
    rir = rng.standard_normal(len(t)) * np.exp(-6.9 * t / rt60_s) * 0.3
    rir[0] = 1.0
    return (rir / np.sqrt(np.sum(rir**2))).astype(np.float32)


class EchoPath:
    """Streaming convolution: `feed` what the loudspeaker played, `take` what the microphone hears of it."""

    def __init__(self, rate: int = 16000, delay_ms: float = 40.0, gain_db: float = 0.0, rir: np.ndarray | None = None):
        self.rate = rate
        self.rir = synthetic_rir(rate) if rir is None else rir.astype(np.float32)
        self.gain = float(10 ** (gain_db / 20))
        self.delay = int(rate * delay_ms / 1000)
        self._future = np.zeros(self.delay + len(self.rir) + rate, dtype=np.float32)
        self._written = 0  # samples fed so far
        self._read = 0  # samples taken so far

    def feed(self, played: np.ndarray) -> None:
        if played.any():
            echo = np.convolve(played, self.rir) * self.gain
            start = self._written - self._read + self.delay
            end = start + len(echo)
            if end > len(self._future):
                self._future = np.concatenate([self._future, np.zeros(end - len(self._future), np.float32)])
            self._future[start:end] += echo
        self._written += len(played)

    def take(self, n: int) -> np.ndarray:
        out = self._future[:n].copy()
        self._future[:-n] = self._future[n:]
        self._future[-n:] = 0.0
        self._read += n
        return out
