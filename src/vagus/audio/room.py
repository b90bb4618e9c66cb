"""Simulated rooms, for tests, benchmarks and evaluations.

The loudspeaker-to-microphone path: the agent's output goes through a room impulse response
(exponentially decaying noise with a direct path, the usual synthetic model), a delay and a gain, and is
added to the microphone signal. Far-field speech: a talker some metres away is heard as a direct path
that falls with distance over a diffuse tail that does not (beyond the critical distance the tail is
louder). A television: a small loudspeaker's band and a broadcast's compression, then the room.
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


ROOM_VOLUME_M3 = 81.0  # 6 × 5 × 2.7 m, a living room
NEAR_M = 0.5  # the distance a level is given for: a user at the microphone


def critical_distance(rt60_s: float, volume_m3: float = ROOM_VOLUME_M3) -> float:
    """Where the direct sound and the reverberant field are equally loud (Sabine): 0.057·√(V/RT60)."""
    return 0.057 * float(np.sqrt(volume_m3 / rt60_s))


def far_field(signal: np.ndarray, distance_m: float, rt60_s: float, rate: int = 16000, seed: int = 0) -> np.ndarray:
    """`signal` as spoken at 0.5 m, heard from `distance_m` in a room with reverberation `rt60_s`: the
    direct path falls 6 dB per doubling of distance, the diffuse tail keeps the level it has at the
    critical distance (the same length as the input, plus nothing: the tail beyond the end is cut)."""
    rir = synthetic_rir(rate, rt60_s, min(1.0, rt60_s), seed)
    tail = rir.copy()
    tail[0] = 0.0
    tail /= np.sqrt(np.sum(tail**2)) + 1e-12
    direct_gain = NEAR_M / distance_m
    tail_gain = NEAR_M / critical_distance(rt60_s)
    heard = np.convolve(signal, tail)[: len(signal)] * tail_gain + signal * direct_gain
    return heard.astype(np.float32)


def television(signal: np.ndarray, rate: int = 16000) -> np.ndarray:
    """A TV's loudspeaker: 150 Hz–6 kHz, and a broadcast's compression (a steady level), 6 dB louder at
    the source than a talker."""
    spectrum = np.fft.rfft(signal)
    freqs = np.fft.rfftfreq(len(signal), 1 / rate)
    spectrum[(freqs < 150) | (freqs > 6000)] *= 0.1
    x = np.fft.irfft(spectrum, len(signal))
    level = float(np.sqrt(np.mean(np.square(signal)))) + 1e-9
    envelope = np.sqrt(np.convolve(x**2, np.ones(rate // 50) / (rate // 50), "same")) + level * 0.05
    squeezed = x / np.sqrt(envelope)
    squeezed *= level / (float(np.sqrt(np.mean(squeezed**2))) + 1e-9) * 2.0
    return np.clip(squeezed, -1.0, 1.0).astype(np.float32)


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
