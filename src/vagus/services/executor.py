"""Worker threads for CPU-bound model calls.

Each shared model gets one worker thread: calls are serialised (one model instance, no oversubscribed
cores), and the event loop, which runs the per-frame audio path, is never blocked. CTranslate2 and
onnxruntime release the GIL while they compute.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")


class ModelWorker:
    def __init__(self, name: str) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"vagus-{name}")

    async def run(self, fn: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._pool, fn)

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
