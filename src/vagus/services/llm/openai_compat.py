"""Streaming chat completions against any OpenAI-compatible endpoint.

Works with OpenAI, Ollama (`http://localhost:11434/v1`), vLLM, llama.cpp's server, LM Studio and
others: POST `{base_url}/chat/completions` with `stream: true`, read server-sent events.
Failures are mapped to ProviderError kinds with a message that says what to check.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp

from vagus.config import OpenAILlmConfig
from vagus.services.errors import ProviderError
from vagus.services.http import HttpProvider
from vagus.services.llm.base import Message, ToolCall


class OpenAICompatibleLLM(HttpProvider):
    name = "openai-compatible"
    what = "the LLM endpoint"

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key: str | None = None,
        temperature: float = 0.7,
        max_tokens: int = 300,
        connect_timeout_s: float = 5.0,
        read_timeout_s: float = 30.0,
        extra_body: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(base_url, api_key, connect_timeout_s, read_timeout_s)
        self.model = model
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.extra_body = extra_body or {}

    async def stream(
        self, messages: list[Message], tools: list[dict[str, Any]] | None = None
    ) -> AsyncIterator[str | ToolCall]:
        body: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            "stream": True,
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
            **self.extra_body,
        }
        if tools:
            body["tools"] = tools
        async with self.post("/chat/completions", json=body, headers={"Accept": "text/event-stream"}) as response:
            async for delta in _read_sse_deltas(response, self.name):
                yield delta


class _ToolCalls:
    """Streamed `tool_calls` fragments, assembled by index (id and name come once, the arguments'
    JSON text in pieces), handed out when the stream ends."""

    def __init__(self, provider: str) -> None:
        self.provider = provider
        self.parts: dict[int, dict[str, str]] = {}

    def add(self, fragments: object, payload: bytes) -> None:
        if not isinstance(fragments, list):
            raise _malformed(self.provider, f"'tool_calls' is not a list: {payload[:120]!r}")
        for fragment in fragments:
            function = fragment.get("function") if isinstance(fragment, dict) else None
            if not isinstance(fragment, dict) or (function is not None and not isinstance(function, dict)):
                raise _malformed(self.provider, f"a tool call of the wrong shape: {payload[:120]!r}")
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
                raise _malformed(self.provider, "a tool call without a function name")
            out.append(ToolCall(part.get("id") or f"call_{index}", part["name"], part.get("arguments", "")))
        return out


async def _read_sse_deltas(response: aiohttp.ClientResponse, provider: str) -> AsyncIterator[str | ToolCall]:
    """Parse `data: {...}` lines of an OpenAI streaming response into content deltas, then the tool
    calls it asked for. Anything that is not such a stream (garbage, a JSON body, events of the wrong
    shape, nothing but `[DONE]`) is a ProviderError, never a silent turn or a crash of the turn's task."""
    buffer = b""
    events = 0
    said = False
    tools = _ToolCalls(provider)
    async for block in response.content.iter_any():
        buffer += block
        if len(buffer) > MAX_LINE_BYTES and b"\n" not in buffer:
            raise _malformed(provider, f"an event line over {MAX_LINE_BYTES} bytes")
        while b"\n" in buffer:
            raw, buffer = buffer.split(b"\n", 1)
            line = raw.strip()
            if not line or line.startswith(b":"):  # blank separators and keep-alive comments
                continue
            if not line.startswith(b"data:"):
                if events == 0 and not line.startswith((b"event:", b"id:", b"retry:")):
                    raise _malformed(provider, f"not an event stream: {line[:120]!r}")
                continue
            events += 1
            payload = line[5:].strip()
            if payload == b"[DONE]":
                calls = tools.calls()
                if not said and not calls:
                    raise ProviderError(provider, "server", "the language model gave an empty answer")
                for call in calls:
                    yield call
                return
            for delta in _deltas(payload, provider, tools):
                said = True
                yield delta
    calls = tools.calls()
    if not said and not calls:
        raise _malformed(provider, "the stream ended without any words")
    for call in calls:
        yield call


MAX_LINE_BYTES = 1 << 20


def _malformed(provider: str, detail: str) -> ProviderError:
    return ProviderError(provider, "server", "the language model's answer was not readable", detail)


def _deltas(payload: bytes, provider: str, tools: _ToolCalls) -> list[str]:
    try:
        chunk = json.loads(payload)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError, ValueError):
        raise _malformed(provider, f"malformed stream chunk: {payload[:120]!r}") from None
    if not isinstance(chunk, dict):
        raise _malformed(provider, f"a stream chunk that is not an object: {payload[:120]!r}")
    if "error" in chunk:
        raise ProviderError(provider, "server", "the language model reported an error", str(chunk["error"])[:300])
    choices = chunk.get("choices") or []
    if not isinstance(choices, list):
        raise _malformed(provider, f"'choices' is not a list: {payload[:120]!r}")
    out = []
    for choice in choices:
        delta = choice.get("delta") if isinstance(choice, dict) else None
        content = delta.get("content") if isinstance(delta, dict) else None
        if not isinstance(choice, dict) or (delta is not None and not isinstance(delta, dict)):
            raise _malformed(provider, f"a choice of the wrong shape: {payload[:120]!r}")
        if isinstance(content, str) and content:
            out.append(content)
        if isinstance(delta, dict) and delta.get("tool_calls") is not None:
            tools.add(delta["tool_calls"], payload)
    return out


def from_config(section: OpenAILlmConfig, agent: object) -> OpenAICompatibleLLM:
    s = section
    return OpenAICompatibleLLM(
        s.base_url or "", s.model, s.api_key, s.temperature, s.max_tokens, read_timeout_s=s.timeout_s
    )
