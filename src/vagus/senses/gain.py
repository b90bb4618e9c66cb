"""Automatic gain control: WebRTC's AGC from the livekit APM, on 10 ms blocks at 16 kHz.

Brings quiet and far talkers up towards a steady level (and tames loud ones) before the VAD and STT,
whose thresholds assume speech at a normal level.
"""

from __future__ import annotations

import numpy as np

from vagus.senses.apm import ApmBlock


class ApmGain:
    name = "apm-agc"

    def __init__(self) -> None:
        self._apm = ApmBlock(auto_gain_control=True)

    def process(self, block: np.ndarray) -> np.ndarray:
        return self._apm.process(block)
