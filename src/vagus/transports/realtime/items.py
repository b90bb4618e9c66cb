"""The protocol's pieces shared by both directions: errors of client events, a response as the
connection tracks it, and conversation items as JSON."""

from __future__ import annotations

import base64
import binascii
import json
import logging
import uuid
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from vagus.transports.realtime.audio import (
    SESSION_INPUT_RATE,
    SESSION_OUTPUT_RATE,
    InputDecoder,
)

log = logging.getLogger("vagus.realtime")

FRAME = 320
"""20 ms at 16 kHz: what the host takes per tick."""
FRAME_S = FRAME / SESSION_INPUT_RATE
MAX_PENDING_INPUT_S = 300.0
"""Audio waiting to be heard (or, manual mode, to be committed) beyond this is refused with an error."""
MAX_EVENT_CHARS = 16 * 1024 * 1024
MIN_COMMIT_S = 0.1
TOOL_OUTPUT_CHARS = 100_000


class ClientError(Exception):
    """A client event that cannot be carried out: answered with an `error` event, nothing changed."""

    def __init__(self, message: str, code: str = "invalid_value", param: str | None = None) -> None:
        super().__init__(message)
        self.code, self.param = code, param


@dataclass(slots=True)
class Response:
    id: str
    modalities: list[str]
    turn: int | None = None
    created: bool = False
    """`response.created` was sent."""
    done: bool = False
    """`response.done` was sent (it is sent once)."""
    items: list[dict[str, Any]] = field(default_factory=list)
    message: dict[str, Any] | None = None
    """The assistant message item being spoken or written."""
    parts: list[str] = field(default_factory=list)
    """Its transcript (audio) or text, as sent."""
    audio_samples: int = 0
    """Samples of its audio sent, at the session's output rate."""
    rate: int = SESSION_OUTPUT_RATE
    speaking: bool = False
    stop_pending: bool | None = None
    """The agent stopped speaking in the frame being sent (True: interrupted)."""
    answer_done: bool = False
    cancel_reason: str | None = None
    failed: str | None = None
    restore_instructions: str | None = None
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    truncated_at_ms: int | None = None
    """Where the client said it stopped playing (`conversation.item.truncate` while it played)."""
    truncated_text: str = ""
    """What it had heard by then."""

    @property
    def audio_ms(self) -> int:
        return int(self.audio_samples * 1000 / self.rate)


def new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:22]}"


async def client_side_tool(**arguments: Any) -> str:
    """Stands for a tool the client runs: the answer ends before it would be called."""
    raise RuntimeError("a client-side tool is never run on the server")


def as_json(item: dict[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps(item))


def set_transcript(item: dict[str, Any], transcript: str) -> None:
    for part in item.get("content", []):
        if part.get("type") in ("input_audio", "output_audio"):
            part["transcript"] = transcript
        elif part.get("type") == "output_text":
            part["text"] = transcript


def words_until(text: str, fraction: float) -> str:
    words = text.split()
    return " ".join(words[: int(len(words) * min(max(fraction, 0.0), 1.0))])


def message_parts(content: list[Any], role: str, fmt: Any) -> tuple[list[str], np.ndarray | None]:
    """The texts of a client's message and its audio (decoded to 16 kHz), if any."""
    allowed = {"user": ("input_text", "input_audio"), "system": ("input_text",), "assistant": ("output_text", "text")}
    texts: list[str] = []
    audio: np.ndarray | None = None
    for i, part in enumerate(content):
        param = f"item.content[{i}]"
        if not isinstance(part, dict) or part.get("type") not in allowed[role]:
            raise ClientError(f"{param}.type must be one of {', '.join(allowed[role])} for a {role} message",
                              "invalid_value", f"{param}.type")  # fmt: skip
        if part["type"] == "input_audio":
            data = part.get("audio")
            if data is None and isinstance(part.get("transcript"), str):
                texts.append(part["transcript"])
                continue
            try:
                raw = base64.b64decode(data if isinstance(data, str) else "", validate=True)
            except (binascii.Error, ValueError):
                raise ClientError(f"{param}.audio is not valid base64", "invalid_value", f"{param}.audio") from None
            decoded = InputDecoder(fmt).decode(raw)
            audio = decoded if audio is None else np.concatenate([audio, decoded])
            continue
        text = part.get("text")
        if not isinstance(text, str):
            raise ClientError(f"{param}.text must be a string", "invalid_value", f"{param}.text")
        texts.append(text)
    if audio is not None and audio.size < MIN_COMMIT_S * SESSION_INPUT_RATE:
        raise ClientError("the message's audio is shorter than 100 ms", "invalid_value", "item.content")
    return texts, audio


def content_without_audio(content: list[Any]) -> list[dict[str, Any]]:
    out = []
    for part in content:
        part = {k: v for k, v in part.items() if k != "audio"}
        if part.get("type") == "input_audio":
            part.setdefault("transcript", None)
        out.append(part)
    return out
