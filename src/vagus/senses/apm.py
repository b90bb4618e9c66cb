"""WebRTC's audio processing module (from the `livekit` wheel) on 10 ms blocks of 16 kHz float audio."""

from __future__ import annotations

import numpy as np

from vagus.audio.pcm import float_to_int16, int16_to_float

RATE = 16000
BLOCK = 160  # 10 ms


class ApmBlock:
    def __init__(self, **features: bool) -> None:
        from livekit import rtc

        self._rtc = rtc
        self._apm = rtc.AudioProcessingModule(**features)
        self._data = bytearray(BLOCK * 2)
        self._view = np.frombuffer(self._data, dtype=np.int16)

    def set_stream_delay_ms(self, delay_ms: float) -> None:
        self._apm.set_stream_delay_ms(int(delay_ms))

    def reverse(self, ref: np.ndarray) -> None:
        self._apm.process_reverse_stream(self._rtc.AudioFrame(float_to_int16(ref).tobytes(), RATE, 1, BLOCK))

    def process(self, block: np.ndarray) -> np.ndarray:
        self._view[:] = float_to_int16(block)
        self._apm.process_stream(self._rtc.AudioFrame(self._data, RATE, 1, BLOCK))
        return int16_to_float(self._view)
