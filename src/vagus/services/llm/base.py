"""The LLM interface: a chat history in, a stream of text deltas (and tool calls) out."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, Protocol, TypedDict

from vagus.brain.tools import ToolCall


class Message(TypedDict, total=False):
    """An OpenAI-style chat message: `role` and `content`, plus `tool_calls` on an assistant message
    that asked for tools and `tool_call_id` on a tool's result."""

    role: str
    content: str
    tool_calls: list[dict[str, Any]]
    tool_call_id: str


class LLM(Protocol):
    name: str

    def stream(self, messages: list[Message]) -> AsyncIterator[str]:
        """Yield the answer as it is generated, in text deltas of any size. A model that can call
        tools also takes `tools=[…]` (OpenAI `tools` entries) and yields `ToolCall`s among the text."""
        ...


def takes_tools(llm: object) -> bool:
    """Whether `llm.stream` accepts `tools=` (a custom model written before tools may not)."""
    import inspect

    try:
        parameters = inspect.signature(llm.stream).parameters  # type: ignore[attr-defined]
    except (TypeError, ValueError, AttributeError):
        return False
    return "tools" in parameters or any(p.kind is p.VAR_KEYWORD for p in parameters.values())


__all__ = ["LLM", "Message", "ToolCall", "takes_tools"]
