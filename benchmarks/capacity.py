"""Real-time sessions per core through the session host, and memory per session over time.

**Capacity** (default): N sessions on one pinned core, driven by the host's tick every 20 ms on the
wall clock, each hearing a user who asks a question (the committed fixtures) and then listens while
the agent answers through a simulated loudspeaker (the agent speaks about half of the time). The
front end is the shipped default (AEC3 + the double-talk linear canceller + Silero + endpointing +
smart-turn); providers are fixed-delay mocks (STT 50 ms, LLM 100 ms + 10 ms/token, TTS 50 ms), so
what is measured is Vagus's own per-frame work. For each N: p50/p99 of how late ticks start, the
tick's own cost, and the CPU per session; the largest N whose p99 lateness stays within one frame
(20 ms), with turns still decided within 100 ms of the lightest load's median (a starved end-of-turn
model makes turns wait for the long silence), is the capacity. `--vad-only` measures the light path
(no echo canceller, no end-of-turn model), `--no-echo` the talk page's default (the browser cancels
the echo), the same way. Every thread is pinned to the core (onnxruntime re-pins its own).

**Memory** (`--memory`): N sessions on a virtual clock, as fast as the CPU allows, for
`--minutes` simulated minutes; RSS after each minute (flat = no growth per session over time).

    .venv/bin/python benchmarks/capacity.py [--sessions 2,4,6,8,10] [--seconds 20] [--vad-only | --no-echo] [--core 0]
    .venv/bin/python benchmarks/capacity.py --memory [--sessions 20] [--minutes 10]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import logging
import os
import resource
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _mock_providers import FixedDelayLLM, FixedDelaySTT, FixedDelayTTS

from vagus.agent.host import SessionHost
from vagus.agent.services import Services
from vagus.audio.room import EchoPath
from vagus.audio.wav import read_audio
from vagus.config import AgentConfig, load_config
from vagus.core.clock import ManualClock
from vagus.core.events import TurnEnded
from vagus.senses.silero import SileroModel

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures"
MODEL_SECONDS = {"end_of_turn": 0.0}
"""CPU seconds of the end-of-turn model's worker thread (for the breakdown per session-frame)."""
RATE = 16000
FRAME = 320
FRAME_S = 0.02


def user_track() -> np.ndarray:
    """Questions with room for the answers: the agent speaks about half of the time."""
    parts = []
    for name in ("two_questions", "long_question", "hello"):
        audio, rate = read_audio(FIXTURES / f"{name}.wav")
        assert rate == RATE
        parts += [audio, np.zeros(int(3.0 * RATE), np.float32)]
    return np.concatenate(parts)


def build(vad_only: bool, no_echo: bool = False) -> tuple[Services, AgentConfig]:
    config = load_config(None, env={})
    if vad_only:
        config = config.model_validate(
            {"senses": {"echo": {"enabled": False}}, "turns": {"end_of_turn": {"model": "none"}}}
        )
    elif no_echo:  # the talk page's default: the browser cancels the echo, the server's ear does the rest
        config = config.model_validate({"senses": {"echo": {"enabled": False}}})
    end_of_turn = None
    if config.turns.end_of_turn.model == "smart_turn":
        from vagus.turns.smart_turn import SmartTurnModel

        end_of_turn = SmartTurnModel()
        end_of_turn.warmup()
        run_batch = end_of_turn._worker._run_batch

        def timed(items):  # type: ignore[no-untyped-def]
            start = time.thread_time()
            try:
                return run_batch(items)
            finally:
                MODEL_SECONDS["end_of_turn"] += time.thread_time() - start

        end_of_turn._worker._run_batch = timed
    services = Services(
        vad=SileroModel(), stt=FixedDelaySTT(), llm=FixedDelayLLM(), tts=FixedDelayTTS(), end_of_turn=end_of_turn
    )
    return services, config


class Caller:
    """One simulated user: their track, offset so sessions do not speak in lockstep, and a room."""

    def __init__(self, track: np.ndarray, offset: int, echo: bool) -> None:
        self.track = np.roll(track, -offset)
        self.pos = 0
        self.room = EchoPath(RATE, 40.0, -6.0) if echo else None

    def next_frame(self) -> np.ndarray:
        if self.pos + FRAME > len(self.track):
            self.pos = 0
        block = self.track[self.pos : self.pos + FRAME]
        self.pos += FRAME
        return block + self.room.take(FRAME) if self.room is not None else block

    def heard(self, played: np.ndarray) -> None:
        if self.room is not None:
            self.room.feed(played)


async def run_capacity(n: int, seconds: float, services: Services, config: AgentConfig, echo: bool) -> dict:
    host = SessionHost(services, config, max_sessions=n)
    track = user_track()
    callers = []
    for i in range(n):
        host.open(RATE)
        callers.append(Caller(track, (i * len(track)) // max(n, 1), echo))
    hosted = list(host)
    decisions: list[float] = []
    for h in hosted:
        h.session.on(TurnEnded, lambda e: decisions.append(e.t - e.speech_end))
    await asyncio.sleep(0)
    pin_threads()
    lateness: list[float] = []
    tick_ms: list[float] = []
    cpu0, wall0 = time.process_time(), time.perf_counter()
    eot0 = MODEL_SECONDS["end_of_turn"]
    next_at = time.perf_counter()
    ticks = int(seconds / FRAME_S)
    for _ in range(ticks):
        now = time.perf_counter()
        if next_at > now:
            await asyncio.sleep(next_at - now)
            now = time.perf_counter()
        else:
            await asyncio.sleep(0)
        lateness.append((now - next_at) * 1000)
        began = time.perf_counter()
        for h, caller in zip(hosted, callers, strict=True):
            h.feed(caller.next_frame())  # stamped on the session's own (wall) clock
        host.tick()
        for h, caller in zip(hosted, callers, strict=True):
            played = h.take_output()
            if played is not None:
                caller.heard(played)
        tick_ms.append((time.perf_counter() - began) * 1000)
        next_at += FRAME_S
    cpu = time.process_time() - cpu0
    wall = time.perf_counter() - wall0
    turns = sum(h.session._turn_count for h in hosted)
    frames = n * ticks
    front_end = sum(sum(h.session.senses.stats.seconds.values()) for h in hosted if h.session.senses is not None)
    end_of_turn = MODEL_SECONDS["end_of_turn"] - eot0
    await host.close()
    warm = lateness[len(lateness) // 10 :]  # the first seconds load caches
    return {
        "sessions": n,
        "lateness_p50_ms": round(statistics.median(warm), 2),
        "lateness_p99_ms": round(float(np.percentile(warm, 99)), 2),
        "tick_p50_ms": round(statistics.median(tick_ms), 2),
        "cpu_ms_per_session_frame": round(cpu / wall * FRAME_S * 1000 / n, 3),
        "core_percent": round(cpu / wall * 100, 1),
        "turns": turns,
        "decided_ms": round(statistics.median(decisions) * 1000) if decisions else 0,
        "front_end_us": round(front_end / frames * 1e6, 1),
        "end_of_turn_us": round(end_of_turn / frames * 1e6, 1),
    }


PINNED: set[int] = set()


def pin_threads() -> None:
    """Every thread of this process on the chosen core. onnxruntime gives some of its threads their
    own affinity when a model loads (measured: the tick's thread ran on both cores, "one core" used
    130 %), so pinning the process once at start is not enough: this runs after models load and
    before each measurement."""
    if not PINNED:
        return
    for task in Path(f"/proc/{os.getpid()}/task").iterdir():
        with contextlib.suppress(OSError):  # the thread has ended
            os.sched_setaffinity(int(task.name), PINNED)


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20


async def run_memory(n: int, minutes: int, services: Services, config: AgentConfig) -> list[tuple[int, float]]:
    host = SessionHost(services, config, max_sessions=n)
    track = user_track()
    clocks = [ManualClock() for _ in range(n)]
    hosted = [host.open(RATE, clock=clocks[i]) for i in range(n)]
    callers = [Caller(track, (i * len(track)) // n, echo=config.senses.echo.enabled) for i in range(n)]
    points = []
    frames_per_minute = int(60 / FRAME_S)
    tick = 0
    for minute in range(minutes + 1):
        if minute:
            for _ in range(frames_per_minute):
                t = tick * FRAME_S
                for h, caller, clock in zip(hosted, callers, clocks, strict=True):
                    clock.set(t)
                    h.feed(caller.next_frame(), t)
                host.tick()
                for h, caller in zip(hosted, callers, strict=True):
                    played = h.take_output()
                    if played is not None:
                        caller.heard(played)
                tick += 1
                if tick % 5 == 0:
                    await asyncio.sleep(0)  # answers (mock providers) run in between
        gc.collect()
        points.append((minute, rss_mb()))
        print(f"  minute {minute:3d}: RSS {points[-1][1]:.1f} MB", flush=True)
    await host.close()
    return points


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sessions", default="2,4,6,8,10,12")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--vad-only", action="store_true", help="no echo canceller, no end-of-turn model")
    parser.add_argument(
        "--no-echo", action="store_true", help="no server echo canceller (the browser's): Silero + smart-turn"
    )
    parser.add_argument("--core", type=int, default=0, help="the one core to pin to (-1: do not pin)")
    parser.add_argument("--memory", action="store_true")
    parser.add_argument("--minutes", type=int, default=10)
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    if args.core >= 0:
        PINNED.add(args.core)
        pin_threads()
    services, config = build(args.vad_only, args.no_echo)
    pin_threads()
    counts = [int(x) for x in args.sessions.split(",")]
    path = (
        "VAD only (Silero + endpointing)"
        if args.vad_only
        else "browser echo (Silero + smart-turn)"
        if args.no_echo
        else "default (AEC3 + double talk + Silero + smart-turn)"
    )
    if args.memory:
        print(f"memory, {counts[0]} sessions, {path}, {args.minutes} simulated minutes:")
        points = asyncio.run(run_memory(counts[0], args.minutes, services, config))
        half = len(points) // 2
        growth = (points[-1][1] - points[half][1]) / max(points[-1][0] - points[half][0], 1)
        print(
            f"growth over the second half: {growth:+.2f} MB per simulated minute for {counts[0]} sessions "
            "(the first minutes fill bounded buffers: the speech-level history, the context)"
        )
        return
    print(f"capacity on {'core ' + str(args.core) if args.core >= 0 else 'all cores'}, {path}:")
    print(
        f"  {'sessions':>8s} {'late p50':>9s} {'late p99':>9s} {'tick p50':>9s} {'CPU/sess/frame':>15s} {'core %':>7s}"
    )
    best = 0
    first_decided: float | None = None
    for n in counts:
        r = asyncio.run(run_capacity(n, args.seconds, services, config, echo=config.senses.echo.enabled))
        # kept up: ticks on time, and turns decided as soon as at the lightest load (+100 ms): a model
        # starved of CPU makes turns wait for the long silence instead, which ticks alone do not show
        first_decided = r["decided_ms"] if first_decided is None else first_decided
        ok = r["lateness_p99_ms"] <= 20.0 and r["decided_ms"] <= first_decided + 100
        best = n if ok else best
        print(
            f"  {n:8d} {r['lateness_p50_ms']:9.2f} {r['lateness_p99_ms']:9.2f} {r['tick_p50_ms']:9.2f} "
            f"{r['cpu_ms_per_session_frame']:15.3f} {r['core_percent']:7.1f}  {'ok' if ok else 'LATE'}"
            f"   of which echo stage {r['front_end_us']:.0f} µs, end-of-turn model {r['end_of_turn_us']:.0f} µs;"
            f" turns decided {r['decided_ms']} ms after the speech (median)",
            flush=True,
        )
        if not ok:
            break
    print(
        f"real-time sessions on one core with p99 tick lateness <= 20 ms and turns decided within 100 ms of "
        f"the first row's: {best}"
    )


if __name__ == "__main__":
    main()
