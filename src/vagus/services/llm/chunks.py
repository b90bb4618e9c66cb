"""OpenAI chat-completion stream chunks → text deltas and tool calls, for every provider that
speaks that format (an HTTP endpoint's server-sent events, llama.cpp in-process). Anything not of
that shape is a ProviderError, never a silent turn or a crash of the turn's task."""

from __future__ import annotations

import json
from typing import Any

from vagus.services.errors import ProviderError
from vagus.services.llm.base import Message, ToolCall


def chat_body(
    messages: list[Message], tools: list[dict[str, Any]] | None, max_tokens: int, temperature: float
) -> dict[str, Any]:
    """A streamed chat request (`tools` only when there are some)."""
    body: dict[str, Any] = {
        "messages": messages,
        "stream": True,
        "max_tokens": max_tokens,
        "temperature": temperature,
    }
    if tools:
        body["tools"] = tools
    return body


class ChunkReader:
    """One answer's chunks: `feed` each payload for its text; `finish` for the tool calls (an
    answer with neither words nor calls is an error)."""

    def __init__(self, provider: str) -> None:
        self.provider = provider
        self._tools = _ToolCalls(provider)
        self._said = False

    def feed(self, payload: bytes) -> list[str]:
        deltas = _deltas(payload, self.provider, self._tools)
        self._said = self._said or bool(deltas)
        return deltas

    def finish(self, empty: ProviderError) -> list[ToolCall]:
        calls = self._tools.calls()
        if not self._said and not calls:
            raise empty
        return calls


class _ToolCalls:
    """Streamed `tool_calls` fragments, assembled by index (id and name come once, the arguments'
    JSON text in pieces), handed out when the stream ends."""

    def __init__(self, provider: str) -> None:
        self.provider = provider
        self.parts: dict[int, dict[str, str]] = {}

    def add(self, fragments: object, payload: bytes) -> None:
        if not isinstance(fragments, list):
            raise malformed(self.provider, f"'tool_calls' is not a list: {payload[:120]!r}")
        for fragment in fragments:
            function = fragment.get("function") if isinstance(fragment, dict) else None
            if not isinstance(fragment, dict) or (function is not None and not isinstance(function, dict)):
                raise malformed(self.provider, f"a tool call of the wrong shape: {payload[:120]!r}")
            index = fragment.get("index", len(self.parts))
            part = self.parts.setdefault(index if isinstance(index, int) else len(self.parts), {})
            for key, value in (("id", fragment.get("id")), ("name", (function or {}).get("name"))):
                if isinstance(value, str) and value:
                    part[key] = value
            arguments = (function or {}).get("arguments")
            if isinstance(arguments, str):
                part["arguments"] = part.get("arguments", "") + arguments

    def calls(self) -> list[ToolCall]:
        out = []
        for index, part in sorted(self.parts.items()):
            if "name" not in part:
                raise malformed(self.provider, "a tool call without a function name")
            out.append(ToolCall(part.get("id") or f"call_{index}", part["name"], part.get("arguments", "")))
        return out


def malformed(provider: str, detail: str) -> ProviderError:
    return ProviderError(provider, "server", "the language model's answer was not readable", detail)


def _deltas(payload: bytes, provider: str, tools: _ToolCalls) -> list[str]:
    try:
        chunk = json.loads(payload)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError, ValueError):
        raise malformed(provider, f"malformed stream chunk: {payload[:120]!r}") from None
    if not isinstance(chunk, dict):
        raise malformed(provider, f"a stream chunk that is not an object: {payload[:120]!r}")
    if "error" in chunk:
        raise ProviderError(provider, "server", "the language model reported an error", str(chunk["error"])[:300])
    choices = chunk.get("choices") or []
    if not isinstance(choices, list):
        raise malformed(provider, f"'choices' is not a list: {payload[:120]!r}")
    out = []
    for choice in choices:
        delta = choice.get("delta") if isinstance(choice, dict) else None
        content = delta.get("content") if isinstance(delta, dict) else None
        if not isinstance(choice, dict) or (delta is not None and not isinstance(delta, dict)):
            raise malformed(provider, f"a choice of the wrong shape: {payload[:120]!r}")
        if isinstance(content, str) and content:
            out.append(content)
        if isinstance(delta, dict) and delta.get("tool_calls") is not None:
            tools.add(delta["tool_calls"], payload)
    return out
