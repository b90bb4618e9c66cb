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
from vagus.services.llm.base import Message


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

    async def stream(self, messages: list[Message]) -> AsyncIterator[str]:
        body = {
            "model": self.model,
            "messages": messages,
            "stream": True,
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
            **self.extra_body,
        }
        async with self.post("/chat/completions", json=body, headers={"Accept": "text/event-stream"}) as response:
            async for delta in _read_sse_deltas(response, self.name):
                yield delta


async def _read_sse_deltas(response: aiohttp.ClientResponse, provider: str) -> AsyncIterator[str]:
    """Parse `data: {...}` lines of an OpenAI streaming response into content deltas."""
    buffer = b""
    async for block in response.content.iter_any():
        buffer += block
        while b"\n" in buffer:
            raw, buffer = buffer.split(b"\n", 1)
            line = raw.strip()
            if not line.startswith(b"data:"):
                continue
            payload = line[5:].strip()
            if payload == b"[DONE]":
                return
            try:
                chunk = json.loads(payload)
            except json.JSONDecodeError:
                raise ProviderError(provider, "server", f"malformed stream chunk: {payload[:120]!r}") from None
            if "error" in chunk:
                raise ProviderError(provider, "server", str(chunk["error"])[:300])
            for choice in chunk.get("choices") or ():
                content = (choice.get("delta") or {}).get("content")
                if content:
                    yield content


def from_config(section: OpenAILlmConfig, agent: object) -> OpenAICompatibleLLM:
    s = section
    return OpenAICompatibleLLM(
        s.base_url or "", s.model, s.api_key, s.temperature, s.max_tokens, read_timeout_s=s.timeout_s
    )
