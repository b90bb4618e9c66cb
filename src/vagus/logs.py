"""Structured logging: one JSON object per line, and session events logged as such."""

from __future__ import annotations

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
        if record.exc_info:
            data["exc"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False)


def setup_logging(level: str = "info", json_lines: bool = True) -> None:
    handler = logging.StreamHandler(sys.stderr)
    if json_lines:
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("aioice", "aiortc", "faster_whisper", "aiohttp.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def log_session_events(bus: EventBus, session_id: str) -> None:
    """Log every event of a session as structured data."""

    def write(event: object) -> None:
        if isinstance(event, Event) and event_log.isEnabledFor(logging.INFO):
            event_log.info(event.type, extra={"event": {"session": session_id, **event.to_dict()}})

    bus.subscribe(write)
