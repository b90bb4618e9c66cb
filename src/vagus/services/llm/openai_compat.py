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

from vagus.services.errors import ProviderError, kind_for_status
from vagus.services.llm.base import Message


class OpenAICompatibleLLM:
    name = "openai-compatible"

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
        if not base_url.startswith(("http://", "https://")):
            raise ValueError(f"llm.base_url must start with http:// or https://, got {base_url!r}")
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.api_key = api_key
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.extra_body = extra_body or {}
        self._timeout = aiohttp.ClientTimeout(
            total=None, connect=connect_timeout_s, sock_connect=connect_timeout_s, sock_read=read_timeout_s
        )
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        # One connection pool per adapter, reused across turns: keep-alive saves a TCP (and TLS)
        # handshake on every answer.
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def stream(self, messages: list[Message]) -> AsyncIterator[str]:
        url = f"{self.base_url}/chat/completions"
        body = {
            "model": self.model,
            "messages": messages,
            "stream": True,
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
            **self.extra_body,
        }
        headers = {"Content-Type": "application/json", "Accept": "text/event-stream"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        try:
            async with self._client().post(url, json=body, headers=headers) as response:
                if response.status != 200:
                    detail = (await response.text())[:300]
                    raise ProviderError(
                        self.name, kind_for_status(response.status), f"{url} answered {response.status}: {detail}"
                    )
                async for delta in _read_sse_deltas(response):
                    yield delta
        except ProviderError:
            raise
        except (TimeoutError, aiohttp.ServerTimeoutError):
            raise ProviderError(self.name, "timeout", f"no answer from {url} in time") from None
        except aiohttp.ClientConnectionError as exc:
            raise ProviderError(
                self.name,
                "connection",
                f"cannot reach the LLM endpoint {self.base_url} ({exc}); is the server running? "
                "Check llm.base_url or VAGUS_LLM_BASE_URL",
            ) from None


async def _read_sse_deltas(response: aiohttp.ClientResponse) -> AsyncIterator[str]:
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
                raise ProviderError(
                    "openai-compatible", "server", f"malformed stream chunk: {payload[:120]!r}"
                ) from None
            if "error" in chunk:
                raise ProviderError("openai-compatible", "server", str(chunk["error"])[:300])
            for choice in chunk.get("choices") or ():
                content = (choice.get("delta") or {}).get("content")
                if content:
                    yield content
