"""Provider errors mapped to a few kinds, so retry and fallback logic treat every provider alike."""

from __future__ import annotations

import re
from typing import Literal

ErrorKind = Literal["connection", "timeout", "bad_request", "auth", "server", "model"]
Stage = Literal["stt", "llm", "tts", "end_of_turn"]


class ProviderError(RuntimeError):
    """`message` is safe to show anyone (no URL, credential or upstream body); `detail` is for the
    operator's log, with credentials already redacted."""

    def __init__(self, provider: str, kind: ErrorKind, message: str, detail: str | None = None) -> None:
        super().__init__(f"{provider}: {message}")
        self.provider = provider
        self.kind: ErrorKind = kind
        self.message = message
        self.detail = redact(detail) if detail else None
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


_USERINFO = re.compile(r"(?<=://)[^/@\s]+@")
_SECRET_PARAMS = re.compile(r"(?i)\b(api[_-]?key|key|token|access_token|password|secret)=([^&\s\"']+)")
_BEARER = re.compile(r"(?i)\b(bearer\s+)[A-Za-z0-9._\-]+")
_SK = re.compile(r"\bsk-[A-Za-z0-9_\-]{6,}")


def redact(text: str) -> str:
    """Credentials out of a text that may hold URLs or headers: user:password@, ?key=…, bearer tokens."""
    text = _USERINFO.sub("***@", text)
    text = _SECRET_PARAMS.sub(lambda m: f"{m.group(1)}=***", text)
    text = _BEARER.sub(lambda m: f"{m.group(1)}***", text)
    return _SK.sub("sk-***", text)
