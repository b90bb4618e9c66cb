"""Recording whole sessions for inspection (the `recording:` section, off by default).

Each session gets a folder of its own, readable by the server's user only:

    session.json   who, when, how long, turns, the providers; `ended` is null while it is live
    events.jsonl   every session event with its session-clock time (the live text deltas left out)
    audio.wav      16 kHz stereo: left what the microphone sent, right what the agent played

Audio is placed by session time, so that the WAV's second *s* is the events' time *s* and an event
can be found in the audio by its `t`. Frames of one side follow each other; only a jump of more than
`RESYNC_S` (a stalled client, a late tick) moves a side to the time it states. Both sides are held
in a buffer `SLACK_S` long before they are written, because the microphone reaches the host up to
half a second late (its inbox). Writing a second of audio is a few hundred microseconds: it runs in
the tick. A recording that cannot be written (disk full, folder gone) stops with one warning; the
conversation goes on.
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

from vagus.audio.resample import StreamResampler
from vagus.config import RecordingConfig
from vagus.core.events import SessionEnded, SessionStarted, TranscriptFinal, TurnEnded
from vagus.core.session import Session
from vagus.files import write_atomically

log = logging.getLogger("vagus.recording")

RATE = 16000
SLACK_S = 1.0
RESYNC_S = 0.1
LEFT_OUT = frozenset({"agent_text_delta"})
META, EVENTS, AUDIO = "session.json", "events.jsonl", "audio.wav"
RECORDING_ID = re.compile(r"^[0-9]{8}-[0-9]{6}-[A-Za-z0-9_.-]{1,80}$")
"""A recording's name: its start (UTC) and the session's id."""
PRUNE_EVERY_S = 60.0


def recording_name(session_id: str, started: float) -> str:
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", session_id)[:80].lstrip(".") or "session"
    return time.strftime("%Y%m%d-%H%M%S", time.gmtime(started)) + "-" + safe


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Whole or not at all (a listing never reads half a file), owner-only."""
    write_atomically(path, json.dumps(data, ensure_ascii=False, indent=1), 0o600)


class _Side:
    """One channel's place in the recording, in samples from the session's start."""

    __slots__ = ("cursor",)

    def __init__(self) -> None:
        self.cursor: int | None = None

    def place(self, start: int, n: int) -> int:
        if self.cursor is None or abs(start - self.cursor) > RESYNC_S * RATE:
            self.cursor = start
        at = self.cursor
        self.cursor += n
        return at


class SessionRecording:
    """Writes one session as it happens; `close` (called on its SessionEnded) finishes the files."""

    def __init__(
        self,
        folder: Path,
        session: Session,
        config: RecordingConfig,
        output_rate: int,
        agent: str,
        providers: dict[str, str],
        user: str | None = None,
    ) -> None:
        folder.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        folder.mkdir(mode=0o700)
        self.folder = folder
        self.started = time.time()
        self.start_t = session.clock.now()
        self.meta: dict[str, Any] = {
            "id": folder.name,
            "session_id": session.id,
            "agent": agent,
            "user": user,
            "started": round(self.started, 3),
            "ended": None,
            "duration_s": None,
            "reason": None,
            "turns": 0,
            "interruptions": 0,
            "first_words": "",
            "providers": providers,
            "audio": {"file": AUDIO, "rate": RATE, "channels": ["user", "agent"], "start_t": round(self.start_t, 4)}
            if config.audio
            else None,
        }
        write_json(folder / META, self.meta)
        fd = os.open(folder / EVENTS, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        self._events = os.fdopen(fd, "w", encoding="utf-8")
        self._wav: sf.SoundFile | None = None
        if config.audio:
            fd = os.open(folder / AUDIO, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
            self._wav = sf.SoundFile(fd, "w", RATE, 2, "PCM_16", format="WAV", closefd=True)
        self._resample = StreamResampler(output_rate, RATE)
        self._written = round(self.start_t * RATE)  # the session time of the buffer's first sample
        self._buf = np.zeros((2 * round(SLACK_S * RATE), 2), np.float32)
        self._filled = 0
        self._sides = (_Side(), _Side())
        self.failed = False
        self.closed = False
        self._unsubscribe = session.bus.subscribe(self._event)
        self._event(SessionStarted(self.start_t, session.id))  # published before any observer could hear it

    # ---- audio, from the tick ---------------------------------------------------------------------

    def mic(self, pcm: np.ndarray, t: float) -> None:
        """A microphone frame (16 kHz) that starts at session time `t`."""
        self._put(0, pcm, t)

    def voice(self, pcm: np.ndarray, t: float) -> None:
        """A frame of the agent's voice (at the session's output rate) played from `t`."""
        if self._wav is not None and len(pcm):
            self._put(1, self._resample.process(pcm), t)

    def _put(self, channel: int, pcm: np.ndarray, t: float) -> None:
        if self._wav is None or self.closed or self.failed or not len(pcm):
            return
        try:
            at = self._sides[channel].place(round(t * RATE), len(pcm)) - self._written
            if at < 0:  # older than what is already written: only its newer part
                pcm, at = pcm[-at:], 0
            end = at + len(pcm)
            if end > len(self._buf):
                grown = np.zeros((end + round(SLACK_S * RATE), 2), np.float32)
                grown[: self._filled] = self._buf[: self._filled]
                self._buf = grown
            self._buf[at:end, channel] = pcm
            self._filled = max(self._filled, end)
            if self._filled > 2 * SLACK_S * RATE:
                self._flush(self._filled - round(SLACK_S * RATE))
        except Exception as exc:
            self._fail(exc)

    def _flush(self, n: int) -> None:
        assert self._wav is not None
        if n <= 0:
            return
        self._wav.write(np.clip(self._buf[:n], -1.0, 1.0))
        rest = self._buf[n : self._filled].copy()
        self._buf[:] = 0.0
        self._buf[: len(rest)] = rest
        self._filled = len(rest)
        self._written += n

    # ---- events -------------------------------------------------------------------------------------

    def _event(self, event: Any) -> None:
        if self.closed or self.failed or getattr(event, "type", None) in LEFT_OUT:
            return  # the per-token deltas: dropped before they are turned into dicts
        data = event.to_dict()
        if isinstance(event, TurnEnded):
            self.meta["turns"] += 1
        elif isinstance(event, TranscriptFinal) and not self.meta["first_words"]:
            self.meta["first_words"] = event.text[:160]
        elif data["type"] == "interruption":
            self.meta["interruptions"] += 1
        try:
            self._events.write(json.dumps(data, ensure_ascii=False, default=str) + "\n")
        except Exception as exc:
            self._fail(exc)
        if isinstance(event, SessionEnded):
            self.close(event.reason)

    def _fail(self, exc: Exception) -> None:
        self.failed = True
        log.warning("recording %s stopped: %s", self.folder, exc)

    def close(self, reason: str) -> None:
        """Write what is held and the final session.json (unless the recording was deleted meanwhile)."""
        if self.closed:
            return
        self.closed = True
        self._unsubscribe()
        try:
            if self._wav is not None:
                if not self.failed:
                    self._flush(self._filled)
                self._wav.close()
            self._events.close()
            if self.folder.is_dir():
                ended = time.time()
                self.meta.update(ended=round(ended, 3), duration_s=round(ended - self.started, 2), reason=reason)
                write_json(self.folder / META, self.meta)
        except Exception as exc:
            self._fail(exc)


_last_prune: dict[Path, float] = {}


def start_recording(
    config: RecordingConfig,
    session: Session,
    output_rate: int,
    agent: str,
    providers: dict[str, str],
    user: str | None = None,
) -> SessionRecording | None:
    """Begin recording `session` (None, with a warning, when its folder cannot be made: the session
    goes on unrecorded). Old recordings are pruned now and then, not on every session."""
    from vagus.agent.recordings import Recordings

    store = Recordings(config.path)
    now = time.monotonic()
    if now - _last_prune.get(store.root, -PRUNE_EVERY_S) >= PRUNE_EVERY_S:
        _last_prune[store.root] = now
        store.prune(config.keep_days, config.max_sessions)
    try:
        folder = store.root / recording_name(session.id, time.time())
        return SessionRecording(folder, session, config, output_rate, agent, providers, user)
    except Exception as exc:
        log.warning("session %s is not recorded: %s", session.id, exc)
        return None
