"""The LLM interface: a chat history in, a stream of text deltas out."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol, TypedDict


class Message(TypedDict):
    role: str
    content: str


class LLM(Protocol):
    name: str

    def stream(self, messages: list[Message]) -> AsyncIterator[str]:
        """Yield the answer as it is generated, in text deltas of any size."""
        ...
