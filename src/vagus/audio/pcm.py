"""PCM helpers: format conversion, mono mixing, levels, and fixed-size framing."""

from __future__ import annotations

from collections import deque

import numpy as np

_INT16_SCALE = 32768.0


def int16_to_float(samples: np.ndarray) -> np.ndarray:
    """int16 PCM → float32 in [-1, 1)."""
    return samples.astype(np.float32) * (1.0 / _INT16_SCALE)


def float_to_int16(samples: np.ndarray) -> np.ndarray:
    """float PCM → int16 with clipping (no wrap-around on overload). In place on one float32 scratch
    array: `np.clip` and fresh temporaries cost more than the arithmetic on 10–20 ms blocks."""
    scaled = np.multiply(samples, _INT16_SCALE, dtype=np.float32)
    np.minimum(scaled, 32767.0, out=scaled)
    np.maximum(scaled, -_INT16_SCALE, out=scaled)
    return np.rint(scaled, out=scaled).astype(np.int16)


def to_mono(samples: np.ndarray) -> np.ndarray:
    """(n,) or (n, channels) → (n,) by averaging channels."""
    if samples.ndim == 1:
        return samples
    if samples.ndim != 2:
        raise ValueError(f"expected 1-D or 2-D audio, got shape {samples.shape}")
    if samples.shape[1] == 1:
        return samples[:, 0]
    return samples.mean(axis=1, dtype=np.float32)


def rms_dbfs(samples: np.ndarray) -> float:
    """Level of float PCM in dB relative to full scale; -120 for digital silence."""
    if samples.size == 0:
        return -120.0
    rms = float(np.sqrt(np.mean(np.square(samples, dtype=np.float64))))
    return 20.0 * np.log10(rms) if rms > 1e-6 else -120.0


class FrameSplitter:
    """Turns blocks of any length into frames of exactly `frame_size` samples.

    Transports deliver 10, 20 or 60 ms blocks; models want fixed windows (Silero: 512 samples at 16 kHz).
    The remainder waits in a small preallocated buffer, so steady-state framing allocates nothing but
    the output views' copies.
    """

    __slots__ = ("_buffer", "_fill", "frame_size")

    def __init__(self, frame_size: int) -> None:
        if frame_size <= 0:
            raise ValueError("frame_size must be positive")
        self.frame_size = frame_size
        self._buffer = np.zeros(frame_size, dtype=np.float32)
        self._fill = 0

    @property
    def pending(self) -> int:
        return self._fill

    def push(self, samples: np.ndarray) -> list[np.ndarray]:
        frames: list[np.ndarray] = []
        size = self.frame_size
        pos = 0
        n = len(samples)
        if self._fill:
            take = min(size - self._fill, n)
            self._buffer[self._fill : self._fill + take] = samples[:take]
            self._fill += take
            pos = take
            if self._fill < size:
                return frames
            frames.append(self._buffer.copy())
            self._fill = 0
        while n - pos >= size:
            frames.append(samples[pos : pos + size])
            pos += size
        rest = n - pos
        if rest:
            self._buffer[:rest] = samples[pos:]
            self._fill = rest
        return frames

    def reset(self) -> None:
        self._fill = 0


class SampleQueue:
    """Samples produced in one block size and consumed in another (a 16 ms hop, 10 ms blocks).

    `take(n)` returns exactly `n` samples, or None while fewer are queued, so a caller that primes
    the queue with its worst-case shortfall never has to invent samples mid-stream.
    """

    __slots__ = ("_chunks", "_len")

    def __init__(self, prime: int = 0) -> None:
        self._chunks: deque[np.ndarray] = deque()
        self._len = 0
        if prime:
            self.put(np.zeros(prime, dtype=np.float32))

    def __len__(self) -> int:
        return self._len

    def put(self, samples: np.ndarray) -> None:
        if len(samples):
            self._chunks.append(samples)
            self._len += len(samples)

    def take(self, n: int) -> np.ndarray | None:
        if self._len < n:
            return None
        out = np.empty(n, dtype=np.float32)
        filled = 0
        chunks = self._chunks
        while filled < n:
            head = chunks[0]
            count = min(n - filled, len(head))
            out[filled : filled + count] = head[:count]
            filled += count
            if count == len(head):
                chunks.popleft()
            else:
                chunks[0] = head[count:]
        self._len -= n
        return out
