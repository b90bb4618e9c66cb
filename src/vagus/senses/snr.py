"""A running estimate of the microphone's speech-to-noise ratio, from frame energies.

Why: a neural suppressor helps a lot in noise and hurts clean speech (DFN3 measured 0 to −2 dB
SI-SDR at 20 dB SNR, RNNoise caps near 11 dB). Knowing the SNR lets the denoiser blend its output
with the (delay-matched) input: all wet in noise, mostly dry when the input is already clean.

Noise floor: the minimum of the smoothed frame energy over the last `window_frames` frames
(minimum statistics; speech has pauses between words, noise does not). Speech level: a slow
average of frames well above that floor. Until speech has been heard there is no estimate.
"""

from __future__ import annotations

import math

import numpy as np


class SnrTracker:
    def __init__(
        self, window_frames: int = 200, smoothing: float = 0.5, speech_margin: float = 4.0, speech_decay: float = 0.98
    ) -> None:
        self._history = np.full(window_frames, np.inf)
        self._index = 0
        self._smoothing = smoothing
        self._smoothed: float | None = None
        self._speech_margin = speech_margin
        self._speech_decay = speech_decay
        self._speech: float | None = None

    @property
    def noise_energy(self) -> float:
        floor = float(self._history.min())
        return floor if math.isfinite(floor) else 0.0

    def update(self, energy: float) -> float | None:
        """Feed one frame's mean-square energy; returns the SNR estimate in dB (None: no speech yet)."""
        s = energy if self._smoothed is None else self._smoothing * self._smoothed + (1 - self._smoothing) * energy
        self._smoothed = s
        self._history[self._index] = s
        self._index = (self._index + 1) % len(self._history)
        noise = max(self.noise_energy, 1e-10)
        if energy > self._speech_margin * noise:
            d = self._speech_decay
            self._speech = energy if self._speech is None else d * self._speech + (1 - d) * energy
        if self._speech is None:
            return None
        return 10.0 * math.log10(max(self._speech - noise, 1e-12) / noise)


def wet_share(snr_db: float | None, clean_snr_db: float) -> float:
    """How much of the suppressor's output to use: 1 at 0 dB SNR or below (or unknown), 0 at `clean_snr_db`."""
    if snr_db is None or clean_snr_db <= 0:
        return 1.0
    return min(1.0, max(0.0, 1.0 - snr_db / clean_snr_db))


class SnrBlend:
    """Mixes a suppressor's output with its delay-matched input by the running SNR (see `wet_share`).

    The share moves smoothly (a tenth of the way per frame) so a level change does not click.
    """

    __slots__ = ("_clean_snr_db", "_snr", "snr_db", "wet")

    def __init__(self, clean_snr_db: float = 25.0) -> None:
        self._clean_snr_db = clean_snr_db
        self._snr = SnrTracker()
        self.wet = 1.0
        self.snr_db: float | None = None

    def mix(self, current: np.ndarray, dry: np.ndarray, wet: np.ndarray) -> np.ndarray:
        """`current`: the newest input frame (for the SNR estimate); `dry`: the input `wet` was made from."""
        if self._clean_snr_db <= 0:
            return wet
        self.snr_db = self._snr.update(float(np.dot(current, current)) / len(current))
        self.wet = 0.9 * self.wet + 0.1 * wet_share(self.snr_db, self._clean_snr_db)
        if self.wet > 0.999:
            return wet
        return self.wet * wet + (1.0 - self.wet) * dry
