"""Shared plumbing for OpenAI-compatible HTTP providers: one pooled client and error mapping."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp

from vagus.services.errors import ProviderError, kind_for_status


class HttpProvider:
    name = "http"
    what = "the endpoint"

    def __init__(
        self, base_url: str, api_key: str | None, connect_timeout_s: float = 5.0, read_timeout_s: float = 30.0
    ):
        if not base_url.startswith(("http://", "https://")):
            raise ValueError(f"base_url must start with http:// or https://, got {base_url!r}")
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self._timeout = aiohttp.ClientTimeout(
            total=None, connect=connect_timeout_s, sock_connect=connect_timeout_s, sock_read=read_timeout_s
        )
        self._session: aiohttp.ClientSession | None = None

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}

    def client(self) -> aiohttp.ClientSession:
        # One pool per provider, reused across turns: keep-alive saves a handshake per request.
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    @asynccontextmanager
    async def post(self, path: str, **kwargs: object) -> AsyncIterator[aiohttp.ClientResponse]:
        url = f"{self.base_url}{path}"
        headers = {**self.headers(), **kwargs.pop("headers", {})}  # type: ignore[dict-item]
        try:
            async with self.client().post(url, headers=headers, **kwargs) as response:  # type: ignore[arg-type]
                if response.status != 200:
                    body = (await response.text(errors="replace"))[:300]
                    raise ProviderError(
                        self.name,
                        kind_for_status(response.status),
                        f"{self.what} answered HTTP {response.status}",
                        f"{url} answered {response.status}: {body}",
                    )
                yield response
        except ProviderError:
            raise
        except (TimeoutError, aiohttp.ServerTimeoutError):
            raise ProviderError(self.name, "timeout", f"no answer from {self.what} in time", url) from None
        except aiohttp.ClientConnectionError as exc:
            broke = isinstance(exc, aiohttp.ServerDisconnectedError)
            raise ProviderError(
                self.name,
                "connection",
                f"{self.what} closed the connection" if broke else f"cannot reach {self.what}",
                f"{self.base_url}: {exc}; is the server running and the URL right?",
            ) from None
        except aiohttp.ClientPayloadError as exc:  # the answer was cut off mid-stream
            raise ProviderError(self.name, "connection", f"{self.what} broke off its answer", f"{url}: {exc}") from None
        except aiohttp.ClientError as exc:
            raise ProviderError(self.name, "server", f"{self.what} gave a broken answer", f"{url}: {exc}") from None
