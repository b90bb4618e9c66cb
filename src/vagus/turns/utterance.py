"""Captures the audio of the user's current utterance, including a little pre-roll.

While nobody speaks, only the last `preroll_ms` of audio is kept (the VAD becomes sure of speech tens
of milliseconds after it began, and STT needs the onset). Once speech starts, frames are collected
until the turn is taken. Memory stays bounded by `max_seconds`.
"""

from __future__ import annotations

from collections import deque

import numpy as np


class UtteranceRecorder:
    __slots__ = ("_active", "_active_samples", "_max_samples", "_preroll", "_preroll_s", "_recording", "sample_rate")

    def __init__(self, sample_rate: int, preroll_ms: float = 300.0, max_seconds: float = 30.0) -> None:
        self.sample_rate = sample_rate
        self._preroll_s = preroll_ms / 1000.0
        self._max_samples = int(max_seconds * sample_rate)
        self._preroll: deque[tuple[float, np.ndarray]] = deque()
        self._active: list[np.ndarray] = []
        self._active_samples = 0
        self._recording = False

    @property
    def recording(self) -> bool:
        return self._recording

    def push(self, pcm: np.ndarray, t: float) -> None:
        if self._recording:
            if self._active_samples < self._max_samples:
                self._active.append(pcm.copy())
                self._active_samples += len(pcm)
            return
        self._preroll.append((t, pcm.copy()))
        horizon = t - self._preroll_s - 0.1
        while self._preroll and self._preroll[0][0] < horizon:
            self._preroll.popleft()

    def start(self, speech_start: float) -> None:
        if self._recording:
            return
        since = speech_start - self._preroll_s
        self._active = [pcm for t, pcm in self._preroll if t + len(pcm) / self.sample_rate > since]
        self._active_samples = sum(len(p) for p in self._active)
        self._preroll.clear()
        self._recording = True

    def peek(self, last_s: float | None = None) -> np.ndarray:
        """A copy of the utterance so far (its last `last_s` seconds), recording goes on."""
        if not self._active:
            return np.zeros(0, dtype=np.float32)
        chunks = self._active
        if last_s is not None:
            want, kept = int(last_s * self.sample_rate), 0
            start = len(chunks)
            while start > 0 and kept < want:
                start -= 1
                kept += len(chunks[start])
            chunks = chunks[start:]
        return np.concatenate(chunks)

    def take(self) -> np.ndarray:
        """The utterance so far; recording stops."""
        audio = np.concatenate(self._active) if self._active else np.zeros(0, dtype=np.float32)
        self._active = []
        self._active_samples = 0
        self._recording = False
        return audio
