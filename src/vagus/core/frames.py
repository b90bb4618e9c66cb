"""Typed audio frames.

A frame is a short block (10–32 ms) of mono float32 PCM in [-1, 1] with the session-clock time of its
first sample. Converting int16 ↔ float32 happens once at the transport edge; everything inside a
session works on float32 views.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(slots=True)
class AudioFrame:
    pcm: np.ndarray
    """Mono float32 samples in [-1, 1]."""
    sample_rate: int
    t: float
    """Session-clock time (seconds) of the first sample."""

    @property
    def duration(self) -> float:
        return len(self.pcm) / self.sample_rate

    @property
    def end(self) -> float:
        return self.t + self.duration
