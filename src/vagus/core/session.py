"""The session shell: identity, clock, event bus and the I/O tasks a session owns.

Audio work happens synchronously in the caller's frame loop; only provider calls and network I/O run
as tasks, and every such task is registered here so that closing a session cancels all of its work.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from vagus.core.bus import EventBus
from vagus.core.clock import Clock, MonotonicClock

log = logging.getLogger("vagus.session")
E = TypeVar("E")


class Session:
    def __init__(self, clock: Clock | None = None, bus: EventBus | None = None, session_id: str | None = None):
        self.id = session_id or uuid.uuid4().hex[:12]
        self.clock: Clock = clock or MonotonicClock()
        self.bus = bus or EventBus()
        self._tasks: set[asyncio.Task[Any]] = set()
        self.closed = False

    def on(self, kind: type[E], callback: Callable[[E], None]) -> Callable[[], None]:
        """Call `callback` for every event of type `kind`; returns a function that unsubscribes."""

        def filtered(event: object) -> None:
            if isinstance(event, kind):
                callback(event)

        return self.bus.subscribe(filtered)

    def spawn(self, coro: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any]:
        if self.closed:
            coro.close()
            raise RuntimeError(f"session {self.id} is closed")
        task = asyncio.get_running_loop().create_task(coro, name=f"{self.id}:{name}")
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("session %s task %s failed", self.id, task.get_name(), exc_info=task.exception())

    @property
    def busy(self) -> bool:
        """True while any I/O task of this session is still running."""
        return bool(self._tasks)

    async def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        current = asyncio.current_task()
        tasks = [task for task in self._tasks if task is not current]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
