"""The folder of recorded sessions (agent/recording.py writes them): list, read, delete, prune.

Used by the Studio's Inspect tab and `vagus recordings`. A recording is named by its start and
session id (`RECORDING_ID`); any other name is refused, so no request reaches outside the folder.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any

from vagus.agent.recording import AUDIO, EVENTS, META, RECORDING_ID


class NoRecording(LookupError):
    """No recording by that name (or not a valid name); the message says which."""


class Recordings:
    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).expanduser().resolve()

    def folder(self, name: str) -> Path:
        if not RECORDING_ID.match(name):
            raise NoRecording(f"not a recording's name: {name!r}")
        folder = self.root / name
        if not (folder / META).is_file():
            raise NoRecording(f"no recording {name!r}")
        return folder

    def _meta(self, folder: Path) -> dict[str, Any] | None:
        try:
            data = json.loads((folder / META).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def all(self) -> list[dict[str, Any]]:
        """Every recording's summary, newest first (unreadable folders left out)."""
        if not self.root.is_dir():
            return []
        found = []
        for folder in self.root.iterdir():
            if RECORDING_ID.match(folder.name) and (meta := self._meta(folder)) is not None:
                meta["id"] = folder.name
                meta["size_bytes"] = sum(f.stat().st_size for f in folder.iterdir() if f.is_file())
                found.append(meta)
        return sorted(found, key=lambda m: (m.get("started") or 0, m["id"]), reverse=True)

    def get(self, name: str) -> dict[str, Any]:
        """A recording's summary and its events."""
        folder = self.folder(name)
        meta = self._meta(folder)
        if meta is None:
            raise NoRecording(f"recording {name!r} cannot be read")
        meta["id"] = name
        events = []
        try:
            with open(folder / EVENTS, encoding="utf-8") as f:
                for line in f:
                    try:
                        events.append(json.loads(line))
                    except ValueError:  # the last line of a recording cut off mid-write
                        continue
        except FileNotFoundError:
            pass
        # a live recording's WAV gets its length at the end: its audio is served once the session ended
        meta["has_audio"] = (folder / AUDIO).is_file() and meta.get("audio") is not None and meta["ended"] is not None
        return {"recording": meta, "events": events}

    def audio(self, name: str) -> Path:
        folder = self.folder(name)
        path = folder / AUDIO
        if not path.is_file():
            raise NoRecording(f"recording {name!r} has no audio")
        if (self._meta(folder) or {}).get("ended") is None:
            raise NoRecording(f"recording {name!r} is still live: its audio is served when the session ends")
        return path

    def delete(self, name: str) -> None:
        shutil.rmtree(self.folder(name))

    def prune(self, keep_days: float, keep: int, now: float | None = None) -> list[str]:
        """Delete recordings older than `keep_days` and beyond the newest `keep`; their names."""
        now = time.time() if now is None else now
        gone = []
        for i, meta in enumerate(self.all()):
            if i >= keep or now - (meta.get("started") or 0) > keep_days * 86400:
                shutil.rmtree(self.root / meta["id"], ignore_errors=True)
                gone.append(meta["id"])
        return gone
