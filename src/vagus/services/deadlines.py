"""Deadlines on provider streams: a first item within `first_s`, the whole stream within `total_s`.

A read timeout alone is not a deadline: a server that sends a keep-alive comment every few seconds,
or a trickle of bytes, never trips it. These bound the wall time a stage may take, so a hung or
dripping provider ends in a spoken apology in its own turn instead of silence.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TypeVar

from vagus.services.errors import ProviderError

T = TypeVar("T")


async def within(
    items: AsyncIterator[T], first_s: float, total_s: float, expired: Callable[[str], ProviderError]
) -> AsyncIterator[T]:
    """`items`, or `expired("first"|"total")` raised once a deadline passes."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    iterator = items.__aiter__()
    first = True
    try:
        while True:
            limit = min(first_s, total_s) if first else total_s
            remaining = start + limit - loop.time()
            if remaining <= 0:
                raise expired("first" if first else "total")
            try:
                async with asyncio.timeout(remaining):
                    item = await anext(iterator)
            except StopAsyncIteration:
                return
            except TimeoutError:
                raise expired("first" if first else "total") from None
            first = False
            yield item
    finally:
        close = getattr(iterator, "aclose", None)
        if close is not None:
            await close()


async def call_within(call: Awaitable[T], seconds: float, expired: Callable[[], ProviderError]) -> T:
    try:
        async with asyncio.timeout(seconds):
            return await call
    except TimeoutError:
        raise expired() from None
