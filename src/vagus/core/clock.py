"""Clocks.

Every timing decision in a session reads time from a `Clock`, never from `time` directly, so that
endpointing, barge-in and playout can be tested on a virtual clock to the millisecond, and so that the
file transport can run faster than real time while keeping its timeline honest.
"""

from __future__ import annotations

import asyncio
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

    async def sleep_until(self, t: float) -> None:
        """Wake at session time `t` (to the event loop's timer precision, not a polling step)."""
        while (left := t - self.now()) > 0:
            await asyncio.sleep(left)


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


class VirtualClock(ManualClock):
    """A manual clock that coroutines can wait on: `sleep_until` resolves when the clock is moved to
    or past its time. Fake providers with scripted delays wait on it, so a whole session runs on
    virtual time, decided to the millisecond however busy the machine is."""

    __slots__ = ("_waiters",)

    def __init__(self, t: float = 0.0) -> None:
        super().__init__(t)
        self._waiters: list[tuple[float, asyncio.Future[None]]] = []

    async def sleep_until(self, t: float) -> None:
        if t <= self._t:
            await asyncio.sleep(0)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append((t, future))
        await future

    async def sleep(self, seconds: float) -> None:
        await self.sleep_until(self._t + seconds)

    def advance(self, dt: float) -> float:
        t = super().advance(dt)
        self._wake()
        return t

    def set(self, t: float) -> None:
        super().set(t)
        self._wake()

    def _wake(self) -> None:
        due = [(t, f) for t, f in self._waiters if t <= self._t]
        if not due:
            return
        self._waiters = [(t, f) for t, f in self._waiters if t > self._t]
        for _, future in sorted(due, key=lambda item: item[0]):
            if not future.done():
                future.set_result(None)


async def sleep_until(clock: Clock, t: float) -> None:
    """Wait for session time `t`: on the clock itself where it can be waited on (a virtual clock),
    else polled (the clock may be media time, as in the file transport)."""
    wait = getattr(clock, "sleep_until", None)
    if wait is not None:
        await wait(t)
        return
    while clock.now() < t:
        await asyncio.sleep(0.01)
