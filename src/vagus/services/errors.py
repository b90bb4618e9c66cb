"""Provider errors mapped to a few kinds, so retry and fallback logic treat every provider alike."""

from __future__ import annotations

from typing import Literal

ErrorKind = Literal["connection", "timeout", "bad_request", "auth", "server", "model"]
Stage = Literal["stt", "llm", "tts", "end_of_turn"]


class ProviderError(RuntimeError):
    def __init__(self, provider: str, kind: ErrorKind, message: str) -> None:
        super().__init__(f"{provider}: {message}")
        self.provider = provider
        self.kind: ErrorKind = kind
        self.message = message
        self.stage: Stage | None = None
        """Which step of a turn failed; set by the caller that knows it (the answer pipeline)."""

    @property
    def retryable(self) -> bool:
        return self.kind in ("connection", "timeout", "server")


def kind_for_status(status: int) -> ErrorKind:
    if status in (401, 403):
        return "auth"
    if status == 408:
        return "timeout"
    if 400 <= status < 500:
        return "bad_request"
    return "server"
