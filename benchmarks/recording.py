"""What recording conversations costs (`recording.enabled`): the tick's extra time per session and the
disk it fills. N sessions are recorded at once for S seconds of conversation, frame by frame as the
host does (a 20 ms microphone frame at 16 kHz and a 20 ms frame of the agent's voice at 48 kHz, the
WebRTC rate, per session per tick), with a burst of events per turn; the writes happen in the tick.

Prints the time per session-frame (both sides, median and p99 over ticks, in microseconds), the share
of the 20 ms frame that is for 50 sessions, and megabytes per recorded minute.

    .venv/bin/python benchmarks/recording.py [--sessions 20] [--seconds 60]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from vagus.agent.recording import SessionRecording
from vagus.config import RecordingConfig
from vagus.core.clock import ManualClock
from vagus.core.events import AgentSentence, TranscriptFinal, TurnEnded
from vagus.core.session import Session


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60.0)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    mic = (0.1 * rng.standard_normal(320)).astype(np.float32)
    voice = (0.1 * rng.standard_normal(960)).astype(np.float32)
    with tempfile.TemporaryDirectory() as tmp:
        clock = ManualClock()
        sessions = [Session(clock, session_id=f"bench{i}") for i in range(args.sessions)]
        config = RecordingConfig(enabled=True, path=tmp)
        recordings = [
            SessionRecording(Path(tmp) / f"20260101-000000-bench{i}", s, config, 48000, "Bench", {})
            for i, s in enumerate(sessions)
        ]
        per_tick: list[float] = []
        for k in range(round(args.seconds / 0.02)):
            t = k * 0.02
            clock.set(t)
            start = time.perf_counter()
            for session, recording in zip(sessions, recordings, strict=True):
                recording.mic(mic, t)
                recording.voice(voice, t)
                if k % 250 == 0:  # a turn every 5 s: its events
                    session.bus.publish(TurnEnded(t, k, t - 1, t - 0.5, "silence"))
                    session.bus.publish(TranscriptFinal(t, k, "What is seven times six?"))
                    session.bus.publish(AgentSentence(t, k, 0, "Seven times six is forty-two."))
            per_tick.append((time.perf_counter() - start) / args.sessions * 1e6)
        for recording in recordings:
            recording.close("benchmark")
        size = sum(f.stat().st_size for f in Path(tmp).rglob("*") if f.is_file())
    p50, p99 = np.percentile(per_tick, 50), np.percentile(per_tick, 99)
    print(f"{args.sessions} sessions × {args.seconds:.0f} s recorded")
    print(f"per session-frame (mic + voice): p50 {p50:.1f} µs, p99 {p99:.1f} µs")
    print(f"50 sessions: {50 * p50 / 20000 * 100:.2f} % of the 20 ms frame (p50)")
    print(f"disk: {size / args.sessions / (args.seconds / 60) / 1e6:.2f} MB per recorded minute")


if __name__ == "__main__":
    main()
