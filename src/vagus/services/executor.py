"""Worker threads for CPU-bound model calls.

Each shared model gets one worker thread: calls are serialised (one model instance, no oversubscribed
cores), and the event loop, which runs the per-frame audio path, is never blocked. CTranslate2 and
onnxruntime release the GIL while they compute.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
import weakref
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


MODEL_NICE = 3
"""Model threads run at a slightly lower scheduling priority than the event loop's thread: where they
share a core, a 70 ms model call yields to the 20 ms tick instead of making it late (one pinned core,
default ear: 10 -> 12 sessions kept up, docs/benchmarks.md). Mild on purpose: nice +10 did as well
there but starved the models under other load from the same session (the test suite beside two
busy loops ran many times slower)."""


def _lower_priority() -> None:
    with contextlib.suppress(AttributeError, OSError):  # another platform, or not permitted: as is
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), MODEL_NICE)  # Linux: per thread


class ModelWorker:
    in_flight = 0
    """Model calls running on any worker, process-wide: the file transport's `instant` mode waits for
    this to reach zero, so that compute takes no media time and timelines do not depend on the CPU."""

    def __init__(self, name: str) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"vagus-{name}", initializer=_lower_priority)

    async def run(self, fn: Callable[[], T]) -> T:
        ModelWorker.in_flight += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(self._pool, fn)
        finally:
            ModelWorker.in_flight -= 1

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


class BatchingWorker(Generic[T, R]):
    """A model call that batches: requests made in the same event-loop iteration (sessions asking in
    one host tick), or while a batch is computing, run together as one call on the worker thread,
    up to `max_batch` at a time. Each event loop has its own queue (tests run many loops)."""

    def __init__(self, name: str, run_batch: Callable[[list[T]], Sequence[R]], max_batch: int = 8) -> None:
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        self._worker = ModelWorker(name)
        self._run_batch = run_batch
        self.max_batch = max_batch
        self._queues: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopQueue[T, R]] = (
            weakref.WeakKeyDictionary()
        )
        self.batch_sizes: list[int] = []

    async def submit(self, item: T) -> R:
        loop = asyncio.get_running_loop()
        queue = self._queues.get(loop)
        if queue is None:
            queue = self._queues[loop] = _LoopQueue()
        future: asyncio.Future[R] = loop.create_future()
        queue.pending.append((item, future))
        if queue.drainer is None or queue.drainer.done():
            queue.drainer = loop.create_task(self._drain(queue))
        return await future

    async def _drain(self, queue: _LoopQueue[T, R]) -> None:
        while queue.pending:
            batch, queue.pending = queue.pending[: self.max_batch], queue.pending[self.max_batch :]
            batch = [(item, future) for item, future in batch if not future.done()]  # cancelled callers
            if not batch:
                continue
            items = [item for item, _ in batch]
            self.batch_sizes.append(len(items))
            try:
                results = await self._worker.run(lambda items=items: list(self._run_batch(items)))  # type: ignore[misc]
            except Exception as exc:
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for (_, future), result in zip(batch, results, strict=True):
                if not future.done():
                    future.set_result(result)

    def shutdown(self) -> None:
        self._worker.shutdown()


class _LoopQueue(Generic[T, R]):
    __slots__ = ("drainer", "pending")

    def __init__(self) -> None:
        self.pending: list[tuple[T, asyncio.Future[R]]] = []
        self.drainer: asyncio.Task[None] | None = None
