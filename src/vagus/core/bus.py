"""The session event bus.

Publishing is a plain synchronous call to every subscriber, because events are raised on the
per-frame audio path and must cost microseconds. Consumers that live in asyncio land (a data channel,
a websocket, a recorder) take an `EventStream`, a bounded queue fed by the same synchronous call.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

log = logging.getLogger("vagus.bus")

Subscriber = Callable[[Any], None]


class EventBus:
    __slots__ = ("_subscribers",)

    def __init__(self) -> None:
        self._subscribers: list[Subscriber] = []

    def subscribe(self, callback: Subscriber) -> Callable[[], None]:
        """Register `callback`; returns a function that unregisters it."""
        self._subscribers.append(callback)

        def unsubscribe() -> None:
            if callback in self._subscribers:
                self._subscribers.remove(callback)

        return unsubscribe

    def publish(self, event: Any) -> None:
        for callback in tuple(self._subscribers):
            try:
                callback(event)
            except Exception:  # a broken observer must never break the audio path
                log.exception("event subscriber %r failed on %r", callback, type(event).__name__)

    def stream(self, maxsize: int = 1024) -> EventStream:
        return EventStream(self, maxsize)


class EventStream:
    """An async iterator over a bus's events; drops the oldest event when the consumer lags."""

    def __init__(self, bus: EventBus, maxsize: int) -> None:
        self._queue: asyncio.Queue[Any] = asyncio.Queue(maxsize)
        self.dropped = 0
        self._unsubscribe = bus.subscribe(self._put)

    def _put(self, event: Any) -> None:
        if self._queue.full():
            self._queue.get_nowait()
            self.dropped += 1
        self._queue.put_nowait(event)

    def close(self) -> None:
        self._unsubscribe()

    def __aiter__(self) -> EventStream:
        return self

    async def __anext__(self) -> Any:
        return await self._queue.get()
