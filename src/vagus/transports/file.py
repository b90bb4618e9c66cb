"""The file transport: one conversation from a recorded user track.

`vagus talk in.wav out.wav` feeds the input through a session frame by frame and writes the agent's
track aligned sample for sample with the input, plus a JSON timeline.

Time: the session runs on media time (the position in the input). While nothing is being computed,
frames are fed as fast as the CPU allows; while an answer is being prepared (STT, LLM, TTS running),
feeding is paced to the wall clock, so that the user's audio keeps "arriving" during the computation
exactly as it would live. Latencies in the timeline are therefore real, and barge-in and turn timing
behave as in a live call, while silent stretches cost nothing.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from vagus.agent.host import SessionHost
from vagus.agent.services import Services
from vagus.agent.session import INPUT_RATE, VoiceSession
from vagus.audio.resample import StreamResampler, resample
from vagus.audio.room import EchoPath
from vagus.audio.wav import AudioFileError, check_output_path, read_audio, write_audio
from vagus.config import AgentConfig
from vagus.core.clock import ManualClock
from vagus.core.events import Event
from vagus.services.executor import ModelWorker

if TYPE_CHECKING:
    from vagus.api import Agent

FRAME_SECONDS = 0.02
MAX_TAIL_SECONDS = 60.0


@dataclass
class ConversationResult:
    input_seconds: float
    output: np.ndarray
    sample_rate: int
    events: list[dict[str, Any]] = field(default_factory=list)
    turns: list[dict[str, Any]] = field(default_factory=list)
    wall_seconds: float = 0.0
    failures: dict[int, str] = field(default_factory=dict)
    """Turn number → the provider failure that spoiled it."""
    frame_late_ms: list[float] = field(default_factory=list)
    """While the models worked (frames paced on the wall clock): how late each frame was done."""

    def timeline(self) -> dict[str, Any]:
        return {
            "input_seconds": round(self.input_seconds, 3),
            "output_seconds": round(len(self.output) / self.sample_rate, 3),
            "sample_rate": self.sample_rate,
            "wall_seconds": round(self.wall_seconds, 3),
            "turns": self.turns,
            "events": self.events,
        }


def summarise_turns(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Fold the event stream into one record per turn."""
    turns: dict[int, dict[str, Any]] = {}
    for e in events:
        number = e.get("turn")
        if number is None:
            continue
        record = turns.setdefault(number, {"turn": number, "agent_sentences": [], "interrupted": False})
        kind = e["type"]
        if kind == "turn_ended":
            record.update(
                speech_start=e["speech_start"],
                speech_end=e["speech_end"],
                turn_decided=e["t"],
                end_of_turn={"reason": e["reason"], "probability": e.get("probability")},
            )
        elif kind == "transcript_final":
            record["user_text"] = e["text"]
        elif kind == "agent_sentence":
            record["agent_sentences"].append(e["text"])
        elif kind == "agent_speech_started":
            record["agent_audio_start"] = e["t"]
        elif kind == "agent_speech_stopped":
            record["agent_audio_end"] = e["t"]
        elif kind == "interruption":
            record["interrupted"] = True
            record["heard_text"] = e["heard_text"]
            record["interrupted_at"] = e.get("stopped_at") or e["t"]  # when the agent's voice stopped
            record["interruption"] = {
                k: e.get(k) for k in ("speech_start", "stopped_at", "reason", "user_text") if k in e
            } | {"decided": e["t"]}
        elif kind == "agent_paused":
            record.setdefault("pauses", []).append({"at": e["t"], "speech_start": e["speech_start"]})
        elif kind == "agent_resumed":
            pauses = record.setdefault("pauses", [{}])
            pauses[-1].update(resumed_at=e["t"], reason=e["reason"], user_text=e["user_text"])
        elif kind == "turn_latency":
            record["latency"] = {k: e[k] for k in ("marks", "stages_ms", "overhead_ms", "response_ms")}
        elif kind == "turn_skipped":
            record["skipped"] = e["reason"]
        elif kind == "agent_cue":
            record.setdefault("cues", []).append({"at": e["t"], "kind": e["kind"], "text": e["text"]})
        elif kind == "turn_held":
            record["held"] = {"at": e["t"], "until": e["until"], "text": e["text"]}
        elif kind == "turn_continued":
            record["continued_at"] = e["t"]  # answered together with the next turn
    out = []
    for number in sorted(turns):
        record = turns[number]
        record["agent_text"] = " ".join(record.pop("agent_sentences"))
        if not record["interrupted"] and record["agent_text"]:
            record["heard_text"] = record["agent_text"]
        out.append(record)
    return out


async def run_conversation(
    audio: np.ndarray,
    sample_rate: int,
    services: Services,
    config: AgentConfig,
    realtime_when_busy: bool = True,
    on_session: Callable[[VoiceSession], None] | None = None,
    echo_path: EchoPath | None = None,
    instant: bool = False,
    agent: Agent | None = None,
    user: str | None = None,
    source: Callable[[VoiceSession], AsyncIterator[np.ndarray]] | None = None,
) -> ConversationResult:
    """Run a whole conversation over `audio` (mono float32) and return the agent's aligned track.
    `source`: instead of `audio`, a microphone that listens to the session and decides as it goes
    (20 ms frames at 16 kHz; a simulated caller): the conversation lasts as long as it yields.
    `echo_path` simulates a loudspeaker next to the microphone: the agent hears its own voice.
    `instant`: model calls (STT, TTS, end of turn, run on worker threads) take no media time: each
    frame waits until they are done. The timeline then depends on the audio alone, not on how fast
    or busy the CPU is: for tests of behaviour (latencies in it are not real)."""
    if audio.ndim != 1:
        raise ValueError("run_conversation needs mono audio")
    if echo_path is None and config.senses.echo.enabled:
        # A recorded track has no loudspeaker in it: the agent's voice never reaches this "microphone",
        # and an echo canceller fed a reference that is not there garbles the user's words while the
        # agent talks (measured: "What is seven times six?" heard as "What is that in time? Six."
        # when asked over the greeting).
        config = config.model_copy(update={"senses": config.senses.model_copy(deep=True)})
        config.senses.echo.enabled = False
    pcm16k = resample(audio, sample_rate, INPUT_RATE) if sample_rate != INPUT_RATE else audio.astype(np.float32)
    clock = ManualClock()
    host = SessionHost(services, config, max_sessions=1, frame_s=FRAME_SECONDS, agent=agent)
    hosted = host.open(sample_rate, clock=clock, user=user)
    session = hosted.session
    if on_session is not None:
        on_session(session)
    events: list[dict[str, Any]] = []
    session.bus.subscribe(lambda e: events.append(e.to_dict()) if isinstance(e, Event) else None)

    frames = source(session) if source is not None else _InputFrames(pcm16k, session).stream()
    pacer = _Pacer(realtime_when_busy)
    out_blocks: list[np.ndarray] = []
    wall_start = time.perf_counter()
    speaker = StreamResampler(sample_rate, INPUT_RATE)
    index = -1
    try:
        async for block in frames:
            index += 1
            t = index * FRAME_SECONDS
            clock.set(t)
            if echo_path is not None:
                block = block + echo_path.take(len(block))
            hosted.feed(block, t)
            host.tick()  # the host keeps the agent track exactly aligned (a rounded length per frame)
            played = hosted.take_output()
            assert played is not None  # one frame per tick
            out_blocks.append(played)
            if echo_path is not None:
                echo_path.feed(played if sample_rate == INPUT_RATE else speaker.process(played))
            if instant and await _models_settled(session):
                pacer.anchor = None  # media time stood still while the models ran
            await pacer.wait(t + FRAME_SECONDS, session.busy)
    finally:
        await host.close("input ended")
    output = np.concatenate(out_blocks) if out_blocks else np.zeros(0, dtype=np.float32)
    return ConversationResult(
        input_seconds=len(audio) / sample_rate if source is None else (index + 1) * FRAME_SECONDS,
        output=output,
        sample_rate=sample_rate,
        events=events,
        turns=summarise_turns(events),
        wall_seconds=time.perf_counter() - wall_start,
        failures=dict(session.answers.errors.failures),
        frame_late_ms=pacer.late_ms,
    )


class _InputFrames:
    """The user's track in 20 ms frames, then silence while the agent still has something to do
    (at most `MAX_TAIL_SECONDS`), until half a second in which nothing happens."""

    def __init__(self, pcm16k: np.ndarray, session: VoiceSession) -> None:
        self.pcm, self.session = pcm16k, session
        self.size = int(INPUT_RATE * FRAME_SECONDS)

    def __iter__(self) -> Iterator[np.ndarray]:
        n = self.size
        total = -(-len(self.pcm) // n)
        for i in range(total):
            block = self.pcm[i * n : (i + 1) * n]
            yield block if len(block) == n else np.concatenate([block, np.zeros(n - len(block), np.float32)])
        idle = 0
        for _ in range(int(MAX_TAIL_SECONDS / FRAME_SECONDS)):
            if not self.session.responding and not self.session.endpointer.in_turn:
                idle += 1
                if idle * FRAME_SECONDS >= 0.5:
                    return
            else:
                idle = 0
            yield np.zeros(n, np.float32)

    async def stream(self) -> AsyncIterator[np.ndarray]:
        for block in self:
            yield block


async def _models_settled(session: VoiceSession) -> bool:
    """Let the session's tasks run until no model call is in flight; True when one was waited for."""
    waited = False
    quiet_rounds = 0
    while session.busy and quiet_rounds < 2:
        for _ in range(10):
            await asyncio.sleep(0)
        if ModelWorker.in_flight:
            waited = True
            quiet_rounds = 0
            await asyncio.sleep(0.002)
        else:
            quiet_rounds += 1
    return waited


class _Pacer:
    """While the session computes (STT, LLM, TTS), media time follows the wall clock, so the user's
    audio keeps arriving during the computation as it would live; otherwise frames go as fast as the
    CPU allows."""

    def __init__(self, realtime_when_busy: bool) -> None:
        self.realtime = realtime_when_busy
        self.anchor: float | None = None  # wall time that corresponds to media time 0 while pacing
        self.late_ms: list[float] = []
        """For each frame paced on the wall clock: how late its processing ended (0: on time)."""

    async def wait(self, t_next: float, busy: bool) -> None:
        if self.realtime and busy:
            now = time.perf_counter()
            if self.anchor is None:
                self.anchor = now - (t_next - FRAME_SECONDS)
            delay = self.anchor + t_next - now
            self.late_ms.append(max(0.0, -delay * 1000))
            await asyncio.sleep(delay if delay > 0 else 0)
        else:
            self.anchor = None
            if busy:
                await asyncio.sleep(0)


def load_user_track(path: str | Path) -> tuple[np.ndarray, int]:
    """Read and check a user track before any model is loaded, so bad input fails fast."""
    audio, rate = read_audio(path)
    if audio.size == 0:
        raise AudioFileError(f"{path}: contains no audio samples")
    if not np.isfinite(audio).all():
        raise AudioFileError(f"{path}: contains NaN or infinite samples")
    return audio, rate


async def talk_file(
    input_path: str | Path,
    output_path: str | Path,
    services: Services,
    config: AgentConfig,
    transcript_path: str | Path | None = None,
    agent: Agent | None = None,
    user: str | None = None,
) -> ConversationResult:
    check_output_path(output_path, input_path)
    audio, rate = load_user_track(input_path)
    result = await run_conversation(audio, rate, services, config, agent=agent, user=user)
    write_audio(output_path, result.output, rate)
    if transcript_path is not None:
        Path(transcript_path).parent.mkdir(parents=True, exist_ok=True)
        Path(transcript_path).write_text(json.dumps(result.timeline(), indent=2), encoding="utf-8")
    return result
