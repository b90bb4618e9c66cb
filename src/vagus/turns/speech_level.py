"""Telling the user's speech over the agent from the residue of the agent's own voice, by its level.

An echo canceller never removes all of the agent's voice: while it converges, and in the reverberant
tail after the agent's words, a residue comes through that the VAD takes for speech. Measured in the
loudspeaker scenarios (AEC3, echo at -10 to 0 dB): the residue leaves the canceller at 32-49 dBFS,
while the user's speech comes through at 11-33 dBFS, on its own and over the agent. The residue
varies from run to run with where the agent's pauses fall, and a long enough one paused the agent
or even interrupted it.

So the user's speaking level is learned from speech heard while the agent has been silent long
enough for its echo to have died away, and speech over the agent pauses it only once some of it
came within `margin_db` of that level (agent/session.py). Until the user has spoken on their own for
`learn_after_s`, the level is unknown and speech of any level counts, as before.

Replayed offline over 12 recorded answers x 5 echo paths (delay 60-300 ms, gain -10 to 0 dB), with
the user cutting in 1.2, 2.5 and 3.7 s into the answer: pauses on echo alone 9 -> 0, barge-ins
decided within 300 ms of the onset 46 % -> 92 % (with the settling period shortened to the first second;
the session keeps 1.5 s, see SETTLING_KNOWN_LEVEL_S), 3 of 150 barge-ins missed instead of 2 (AEC3
suppressing the user in loud double talk).
"""

from __future__ import annotations

import math
from collections import deque

import numpy as np

ECHO_TAIL_S = 0.6
"""The agent's voice can reach the microphone this long after it was played: up to the 500 ms of
delay the echo estimator searches, plus reverberation."""


class SpeechLevelGate:
    __slots__ = ("_floor", "_frames", "_history_s", "_learned", "_level_db", "learn_after_s", "margin_db")

    def __init__(
        self, margin_db: float = 15.0, learn_after_s: float = 0.5, memory_s: float = 20.0, history_s: float = 3.0
    ) -> None:
        if margin_db <= 0:
            raise ValueError(f"margin_db must be positive, got {margin_db}")
        self.margin_db = margin_db
        self.learn_after_s = learn_after_s
        self._history_s = history_s
        # (seconds, dB) of the speech frames learned: the last `memory_s` at 10 ms frames, more at longer ones
        self._learned: deque[tuple[float, float]] = deque(maxlen=int(memory_s * 100))
        self._level_db: float | None = None
        self._floor = math.inf  # power a frame needs to count as the user's (recomputed after learning)
        self._frames: deque[tuple[float, float, float]] = deque()  # (start, seconds, power) of recent frames

    @property
    def level_db(self) -> float | None:
        """The user's speaking level (dBFS): the 70th percentile of their speech frames' levels, which
        is the level of their voiced sounds, not lowered by the pauses between words that the VAD
        still calls speech. None until `learn_after_s` of it was heard."""
        if self._level_db is None and self._learned:
            levels = np.array(self._learned)
            if levels[:, 0].sum() >= self.learn_after_s:
                self._level_db = float(np.percentile(levels[:, 1], 70))
                self._floor = 10.0 ** ((self._level_db - self.margin_db) / 10.0)
        return self._level_db

    def observe(self, pcm: np.ndarray, t: float, sample_rate: int, learn: bool) -> None:
        """Every frame the VAD saw, starting at session time `t`; `learn`: the user is speaking and no
        echo of the agent can be in it."""
        n = len(pcm)
        if n == 0:
            return
        seconds = n / sample_rate
        power = float(np.dot(pcm, pcm)) / n
        frames = self._frames
        frames.append((t, seconds, power))
        while frames and frames[0][0] < t - self._history_s:
            frames.popleft()
        if learn and power > 0:
            self._learned.append((seconds, 10.0 * math.log10(power)))  # the last `memory_s` of speech
            self._level_db = None  # recomputed when next needed

    def loud_seconds(self, since: float) -> float | None:
        """Seconds of audio from `since` on that are loud enough to be the user; None while the
        user's level is not yet known."""
        if self.level_db is None:
            return None
        floor = self._floor
        loud = 0.0
        for start, seconds, power in reversed(self._frames):  # newest first: stop at the onset
            if start + seconds <= since:
                break
            if power >= floor:
                loud += min(seconds, start + seconds - since)
        return loud
