"""The Realtime API's audio formats at the edge: `audio/pcm` (16-bit little-endian mono, 24 kHz),
`audio/pcmu` and `audio/pcma` (G.711 µ-law and A-law, 8 kHz). The session inside always hears
16 kHz float32 and speaks 24 kHz float32; each connection converts once per block.

G.711 is a fixed 8-bit companding table (ITU-T G.711): a 256-entry decode table and a vectorised
encoder, so a block costs a few numpy operations.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vagus.audio.pcm import float_to_int16
from vagus.audio.resample import StreamResampler

SESSION_INPUT_RATE = 16000
SESSION_OUTPUT_RATE = 24000
FORMATS = ("audio/pcm", "audio/pcmu", "audio/pcma")
BETA_NAMES = {"pcm16": "audio/pcm", "g711_ulaw": "audio/pcmu", "g711_alaw": "audio/pcma"}
"""The retired beta's names for the same formats."""


class AudioFormatError(ValueError):
    """Audio that cannot be what the session's format says (odd byte count for PCM16)."""


def _ulaw_table() -> np.ndarray:
    codes = ~np.arange(256, dtype=np.int32) & 0xFF
    sign = codes & 0x80
    exponent = (codes >> 4) & 0x07
    mantissa = codes & 0x0F
    magnitude = (((mantissa << 3) + 0x84) << exponent) - 0x84
    return np.where(sign, -magnitude, magnitude).astype(np.int16)


def _alaw_table() -> np.ndarray:
    codes = np.arange(256, dtype=np.int32) ^ 0x55
    sign = codes & 0x80
    exponent = (codes >> 4) & 0x07
    mantissa = codes & 0x0F
    magnitude = np.where(exponent == 0, (mantissa << 4) + 8, ((mantissa << 4) + 0x108) << (exponent - 1))
    return np.where(sign, magnitude, -magnitude).astype(np.int16)


ULAW_DECODE = _ulaw_table()
ALAW_DECODE = _alaw_table()


_ULAW_SEGMENT_ENDS = np.array([0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF])
_ALAW_SEGMENT_ENDS = np.array([0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF])


def ulaw_encode(pcm: np.ndarray) -> bytes:
    """16-bit PCM → µ-law, bit-exact with the reference coder (14-bit magnitude, bias 33)."""
    x = pcm.astype(np.int32) >> 2
    mask = np.where(x < 0, 0x7F, 0xFF)
    magnitude = np.minimum(np.abs(x), 8159) + 33
    segment = np.searchsorted(_ULAW_SEGMENT_ENDS, magnitude, side="left")
    code = np.where(segment >= 8, 0x7F, (segment << 4) | ((magnitude >> (segment + 1)) & 0x0F))
    return ((code ^ mask) & 0xFF).astype(np.uint8).tobytes()


def alaw_encode(pcm: np.ndarray) -> bytes:
    """16-bit PCM → A-law, bit-exact with the reference coder (13-bit magnitude)."""
    x = pcm.astype(np.int32) >> 3
    mask = np.where(x >= 0, 0xD5, 0x55)
    magnitude = np.where(x >= 0, x, -x - 1)
    segment = np.searchsorted(_ALAW_SEGMENT_ENDS, magnitude, side="left")
    mantissa = np.where(segment < 2, magnitude >> 1, magnitude >> np.maximum(segment, 1)) & 0x0F
    code = np.where(segment >= 8, 0x7F, (segment << 4) | mantissa)
    return ((code ^ mask) & 0xFF).astype(np.uint8).tobytes()


@dataclass(frozen=True, slots=True)
class AudioFormat:
    type: str
    rate: int

    @classmethod
    def parse(cls, value: object, where: str) -> AudioFormat:
        """`{"type": "audio/pcm", "rate": 24000}`, `{"type": "audio/pcmu"}` or a beta name."""
        if isinstance(value, str) and value in BETA_NAMES:
            value = {"type": BETA_NAMES[value]}
        if not isinstance(value, dict) or value.get("type") not in FORMATS:
            raise ValueError(f"{where} must be one of {', '.join(FORMATS)}")
        kind = value["type"]
        if kind == "audio/pcm":
            rate = value.get("rate", 24000)
            if rate != 24000:
                raise ValueError(f"{where}.rate: audio/pcm is 24000 Hz, got {rate!r}")
            return cls(kind, 24000)
        return cls(kind, 8000)

    def to_json(self) -> dict[str, object]:
        return {"type": self.type, "rate": self.rate} if self.type == "audio/pcm" else {"type": self.type}

    @property
    def bytes_per_second(self) -> int:
        return self.rate * (2 if self.type == "audio/pcm" else 1)


class InputDecoder:
    """Client audio in this format → the session's 16 kHz float32."""

    def __init__(self, fmt: AudioFormat) -> None:
        self.format = fmt
        self._resampler = StreamResampler(fmt.rate, SESSION_INPUT_RATE)
        self._odd = b""

    def decode(self, data: bytes) -> np.ndarray:
        if self.format.type == "audio/pcm":
            data = self._odd + data
            usable = len(data) - len(data) % 2
            self._odd = data[usable:]
            samples = np.frombuffer(data[:usable], dtype="<i2")
        else:
            table = ULAW_DECODE if self.format.type == "audio/pcmu" else ALAW_DECODE
            samples = table[np.frombuffer(data, dtype=np.uint8)]
        pcm = samples.astype(np.float32) / 32768.0
        return self._resampler.process(pcm)


class OutputEncoder:
    """The session's 24 kHz float32 voice → bytes in this format."""

    def __init__(self, fmt: AudioFormat) -> None:
        self.format = fmt
        self._resampler = StreamResampler(SESSION_OUTPUT_RATE, fmt.rate)

    def encode(self, pcm: np.ndarray) -> bytes:
        samples = float_to_int16(self._resampler.process(pcm))
        if self.format.type == "audio/pcm":
            return samples.astype("<i2").tobytes()
        return ulaw_encode(samples) if self.format.type == "audio/pcmu" else alaw_encode(samples)
