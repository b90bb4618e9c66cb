"""Fake providers on a virtual clock: scripted words and delays, no models, no wall-clock time.

Speech is a tone: the fake VAD hears any chunk louder than -30 dBFS as speech. Every provider delay
is waited on the session's `VirtualClock`, so a test moves time frame by frame and every decision
lands on an exact, machine-independent time.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from vagus.agent.host import HostedSession, SessionHost
from vagus.agent.services import Services
from vagus.brain.tools import Toolbox, ToolCall
from vagus.config import AgentConfig, load_config
from vagus.core.clock import VirtualClock
from vagus.core.events import Event
from vagus.senses.silero import SileroState
from vagus.services.errors import ProviderError
from vagus.services.stt.base import Transcript

RATE = 16000
FRAME = 0.02


class FakeVad:
    """Silero's interface: probability 0.95 for a loud chunk, 0.02 for a quiet one."""

    def __init__(self) -> None:
        self.batches: list[int] = []

    @staticmethod
    def _p(chunk: np.ndarray) -> float:
        return 0.95 if float(np.sqrt(np.mean(np.square(chunk)))) > 0.03 else 0.02

    def infer(self, chunk: np.ndarray, state: SileroState) -> float:
        self.batches.append(1)
        state.context[:] = chunk[-len(state.context) :]
        return self._p(chunk)

    def infer_batch(self, chunks: np.ndarray, states: list[SileroState]) -> np.ndarray:
        self.batches.append(len(states))
        for chunk, state in zip(chunks, states, strict=True):
            state.context[:] = chunk[-len(state.context) :]
        return np.array([self._p(c) for c in chunks], dtype=np.float32)


@dataclass
class Step:
    """A scripted answer: words after `delay` seconds, or an error."""

    text: str = ""
    delay: float = 0.1
    error: ProviderError | None = None
    calls: list[tuple[str, str]] = field(default_factory=list)
    """Tool calls (name, JSON arguments) the scripted model makes after its words."""


class ScriptedSTT:
    name = "fake-stt"
    punctuates = True

    def __init__(self, clock: VirtualClock, turns: list[Step] | None = None, judge: list[Step] | None = None):
        self.clock = clock
        self.turns = list(turns or [])
        self.judge = list(judge or [])
        self.calls: list[tuple[str, float]] = []

    async def transcribe(self, audio: np.ndarray, sample_rate: int, prompt: str | None = None) -> Transcript:
        kind = "judge" if prompt else "turn"
        self.calls.append((kind, self.clock.now()))
        script = self.judge if prompt else self.turns
        step = script.pop(0) if script else Step("")
        await self.clock.sleep(step.delay)
        if step.error is not None:
            raise step.error
        return Transcript(step.text)


class ScriptedLLM:
    name = "fake-llm"
    summarizes = False
    """Summaries are extractive unless a test asks for the model's (its answers are scripted)."""

    def __init__(self, clock: VirtualClock, answers: list[Step] | None = None, default: str = "Okay."):
        self.clock = clock
        self.answers = list(answers or [])
        self.default = default
        self.prompts: list[list[Any]] = []
        self.tools_offered: list[Any] = []
        self.call_count = 0

    async def stream(self, messages: list[Any], tools: list[Any] | None = None) -> AsyncIterator[Any]:
        self.prompts.append(list(messages))
        self.tools_offered.append(tools)
        step = self.answers.pop(0) if self.answers else Step(self.default)
        await self.clock.sleep(step.delay)
        if step.error is not None:
            raise step.error
        if step.text:
            for word in step.text.split(" "):
                yield word + " "
        for name, arguments in step.calls:
            self.call_count += 1
            yield ToolCall(f"call_{self.call_count}", name, arguments)


class ToneTTS:
    """Speaks `seconds_per_word` of a quiet tone per word, after `delay` (virtual)."""

    name = "fake-tts"
    sample_rate = RATE

    def __init__(self, clock: VirtualClock, delay: float = 0.05, seconds_per_word: float = 0.3) -> None:
        self.clock = clock
        self.delay = delay
        self.seconds_per_word = seconds_per_word
        self.failures: list[ProviderError] = []
        self.spoken: list[str] = []
        self.speeds: list[float] = []

    async def stream(self, text: str, speed: float = 1.0) -> AsyncIterator[np.ndarray]:
        self.speeds.append(speed)
        await self.clock.sleep(self.delay)
        if self.failures:
            raise self.failures.pop(0)
        self.spoken.append(text)
        n = int(len(text.split()) * self.seconds_per_word * RATE)
        yield (0.01 * np.sin(np.arange(n) * 2 * np.pi * 300 / RATE)).astype(np.float32)


def tone(seconds: float, level: float = 0.3) -> np.ndarray:
    n = round(seconds * RATE)
    return (level * np.sin(np.arange(n) * 2 * np.pi * 220 / RATE)).astype(np.float32)


def silence(seconds: float) -> np.ndarray:
    return np.zeros(round(seconds * RATE), np.float32)


def offline_config(**overrides: Any) -> AgentConfig:
    """The default config without models: no echo canceller, no end-of-turn model."""
    data: dict[str, Any] = {
        "senses": {"echo": {"enabled": False}},
        "turns": {"end_of_turn": {"model": "none"}, "barge_in_level_margin_db": None},
        # prosody is measured on a worker thread, which a virtual clock cannot wait for: on where a
        # test asks for it (tests/unit/test_prosody.py)
        "perception": {"prosody": {"enabled": False}},
    }
    for key, value in overrides.items():
        section = data.setdefault(key, {})
        if isinstance(value, dict):
            _merge(section, value)
        else:
            data[key] = value
    return load_config(None, env={}) if not data else AgentConfig.model_validate(data)


def _merge(into: dict[str, Any], more: dict[str, Any]) -> None:
    for key, value in more.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = value


@dataclass
class Rig:
    """A host with one session on a virtual clock, fed frame by frame."""

    clock: VirtualClock
    host: SessionHost
    hosted: HostedSession
    stt: ScriptedSTT
    llm: ScriptedLLM
    tts: ToneTTS
    events: list[dict[str, Any]] = field(default_factory=list)
    played: list[np.ndarray] = field(default_factory=list)

    @property
    def session(self):  # type: ignore[no-untyped-def]
        return self.hosted.session

    async def play(self, audio: np.ndarray, tail_s: float = 0.0) -> None:
        """Feed `audio` and then `tail_s` of silence, one 20 ms frame per tick, letting the session's
        tasks run between frames."""
        audio = np.concatenate([audio, silence(tail_s)])
        n = int(RATE * FRAME)
        for start in range(0, len(audio), n):
            block = audio[start : start + n]
            if len(block) < n:
                block = np.concatenate([block, np.zeros(n - len(block), np.float32)])
            t = round(self.clock.now(), 6)
            self.hosted.feed(block, t)
            self.host.tick()
            frame = self.hosted.take_output()
            if frame is not None:
                self.played.append(frame)
            self.clock.set(round(t + FRAME, 6))
            await settle()

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e["type"] == kind]


async def settle(rounds: int = 30) -> None:
    """Let every task run until it waits on the virtual clock (or on nothing more)."""
    for _ in range(rounds):
        await asyncio.sleep(0)


def make_rig(
    config: AgentConfig | None = None,
    turns: list[Step] | None = None,
    judge: list[Step] | None = None,
    answers: list[Step] | None = None,
    fallback: bool = False,
    sessions: int = 1,
    tools: Toolbox | None = None,
    agent: Any = None,
    voice: Any = None,
) -> Rig:
    clock = VirtualClock()
    config = config or offline_config()
    stt, llm, tts = ScriptedSTT(clock, turns, judge), ScriptedLLM(clock, answers), ToneTTS(clock)
    services = Services(
        vad=FakeVad(),  # type: ignore[arg-type]
        stt=stt,
        llm=llm,
        tts=tts,
        fallback_tts=ToneTTS(clock) if fallback else None,
        voice=voice,
    )
    host = SessionHost(services, config, max_sessions=max(sessions, 1), agent=agent)
    events: list[dict[str, Any]] = []
    recorder = EventRecorder(events)
    host.open_hooks.append(recorder.attach)  # every event from the session's first moment (a greeting's too)
    hosted = host.open(RATE, clock=clock, tools=tools)
    rig = Rig(clock, host, hosted, stt, llm, tts, events)
    return rig


class EventRecorder:
    def __init__(self, events: list[dict[str, Any]]) -> None:
        self.events = events

    def attach(self, session: Any) -> None:
        session.bus.subscribe(lambda e: self.events.append(e.to_dict()) if isinstance(e, Event) else None)
