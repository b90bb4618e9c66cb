"""Structured logging: one JSON object per line, and session events logged as such."""

from __future__ import annotations

import contextlib
import json
import logging
import sys
from typing import Any

from vagus.core.bus import EventBus
from vagus.core.events import Event

event_log = logging.getLogger("vagus.events")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "ts": round(record.created, 3),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        extra = getattr(record, "event", None)
        if extra is not None:
            data["event"] = extra
        for key in ("trace_id", "session_id"):  # a traced turn's log line leads to its trace
            value = getattr(record, key, None)
            if value is not None:
                data[key] = value
        if record.exc_info:
            data["exc"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False)


_WORDS = {
    "transcript_final": lambda e: f"user: {e['text']}",
    "agent_sentence": lambda e: f"agent: {e['text']}",
    "interruption": lambda e: (
        f"heard: {e['heard_text']!r}" + (f", user: {e['user_text']}" if e.get("user_text") else "")
    ),
    "agent_resumed": lambda e: f"{e['reason']}: {e['user_text']}" if e.get("user_text") else e["reason"],
    "turn_held": lambda e: f"waiting for more after: {e['text']}",
    "agent_cue": lambda e: f"{e['kind']}: {e['text']}",
    "turn_latency": lambda e: f"{e['response_ms']:.0f} ms from end of speech to first audio",
    "error": lambda e: f"{e['stage']} {e['kind']}: {e['message']}",
    "turn_skipped": lambda e: e["reason"],
}


class PlainFormatter(logging.Formatter):
    """For a person at a terminal: one line per record, session events with their words."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        event = getattr(record, "event", None)
        if isinstance(event, dict):
            words = _WORDS.get(str(event.get("type")))
            turn = f" turn {event['turn']}" if event.get("turn") is not None else ""
            if words is not None:
                with contextlib.suppress(KeyError, TypeError, ValueError):
                    line += f"{turn} — {words(event)}"
            elif turn:
                line += turn
        return line


def setup_logging(level: str = "info", json_lines: bool = True, transcripts: bool | None = None) -> None:
    """`transcripts`: log what was said (default: only in plain logs, for a person at a terminal)."""
    log_transcripts(not json_lines if transcripts is None else transcripts)
    handler = logging.StreamHandler(sys.stderr)
    if json_lines:
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(PlainFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("aioice", "aiortc", "faster_whisper", "aiohttp.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


WORD_FIELDS = ("text", "user_text", "heard_text")
"""Event fields that hold what people said: kept out of the logs unless transcripts are asked for."""
_transcripts = False


def log_transcripts(enabled: bool) -> None:
    """Whether session logs carry what was said (`--log-transcripts`; on for `--plain-logs`)."""
    global _transcripts
    _transcripts = enabled


def log_session_events(bus: EventBus, session_id: str) -> None:
    """Log every event of a session as structured data; the words said only when asked for (else
    their length in words), as transcripts are personal data."""

    def write(event: object) -> None:
        if not isinstance(event, Event) or not event_log.isEnabledFor(logging.INFO):
            return
        data = {"session": session_id, **event.to_dict()}
        if not _transcripts:
            for name in WORD_FIELDS:
                value = data.get(name)
                if isinstance(value, str) and value:
                    data[name] = f"[{len(value.split())} words]"
        event_log.info(event.type, extra={"event": data})

    bus.subscribe(write)
