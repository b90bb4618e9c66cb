"""Streaming chat completions against any OpenAI-compatible endpoint.

Works with OpenAI, Ollama (`http://localhost:11434/v1`), vLLM, llama.cpp's server, LM Studio and
others: POST `{base_url}/chat/completions` with `stream: true`, read server-sent events.
Failures are mapped to ProviderError kinds with a message that says what to check.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp

from vagus.config import OpenAILlmConfig
from vagus.services.errors import ProviderError
from vagus.services.http import HttpProvider
from vagus.services.llm.base import Message, ToolCall
from vagus.services.llm.chunks import ChunkReader, chat_body, malformed


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
        body = {"model": self.model, **chat_body(messages, tools, self.max_tokens, self.temperature), **self.extra_body}
        async with self.post("/chat/completions", json=body, headers={"Accept": "text/event-stream"}) as response:
            async for delta in _read_sse_deltas(response, self.name):
                yield delta


async def _read_sse_deltas(response: aiohttp.ClientResponse, provider: str) -> AsyncIterator[str | ToolCall]:
    """Parse `data: {...}` lines of an OpenAI streaming response into content deltas, then the tool
    calls it asked for. Anything that is not such a stream (garbage, a JSON body, events of the wrong
    shape, nothing but `[DONE]`) is a ProviderError, never a silent turn or a crash of the turn's task."""
    buffer = b""
    events = 0
    reader = ChunkReader(provider)
    async for block in response.content.iter_any():
        buffer += block
        if len(buffer) > MAX_LINE_BYTES and b"\n" not in buffer:
            raise malformed(provider, f"an event line over {MAX_LINE_BYTES} bytes")
        while b"\n" in buffer:
            raw, buffer = buffer.split(b"\n", 1)
            line = raw.strip()
            if not line or line.startswith(b":"):  # blank separators and keep-alive comments
                continue
            if not line.startswith(b"data:"):
                if events == 0 and not line.startswith((b"event:", b"id:", b"retry:")):
                    raise malformed(provider, f"not an event stream: {line[:120]!r}")
                continue
            events += 1
            payload = line[5:].strip()
            if payload == b"[DONE]":
                for call in reader.finish(ProviderError(provider, "server", "the language model gave an empty answer")):
                    yield call
                return
            for delta in reader.feed(payload):
                yield delta
    for call in reader.finish(malformed(provider, "the stream ended without any words")):
        yield call


MAX_LINE_BYTES = 1 << 20


def from_config(section: OpenAILlmConfig, agent: object) -> OpenAICompatibleLLM:
    s = section
    return OpenAICompatibleLLM(
        s.base_url or "", s.model, s.api_key, s.temperature, s.max_tokens, read_timeout_s=s.timeout_s
    )
