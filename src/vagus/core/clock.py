"""Clocks.

Every timing decision in a session reads time from a `Clock`, never from `time` directly, so that
endpointing, barge-in and playout can be tested on a virtual clock to the millisecond, and so that the
file transport can run faster than real time while keeping its timeline honest.
"""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Seconds since the session's origin."""
        ...


class MonotonicClock:
    """Wall time since construction (real-time transports)."""

    __slots__ = ("_origin",)

    def __init__(self) -> None:
        self._origin = time.monotonic()

    def now(self) -> float:
        return time.monotonic() - self._origin


class ManualClock:
    """A clock that moves only when told to (tests and offline media time)."""

    __slots__ = ("_t",)

    def __init__(self, t: float = 0.0) -> None:
        self._t = t

    def now(self) -> float:
        return self._t

    def advance(self, dt: float) -> float:
        if dt < 0:
            raise ValueError("a clock cannot run backwards")
        self._t += dt
        return self._t

    def set(self, t: float) -> None:
        if t < self._t:
            raise ValueError("a clock cannot run backwards")
        self._t = t
