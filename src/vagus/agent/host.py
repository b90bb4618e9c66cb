"""The session host: one per process. It owns the shared providers, opens sessions for any transport,
keeps the registry of live sessions and drives all of them from one tick per 20 ms frame period.

Transports only move audio: they `feed` microphone frames into a session's inbox and take the
agent's frames from its outbox. Each tick, for every session, the host runs the first half of the
frame path (front end, stage hooks), scores every session's pending VAD chunk in **one batched model
call** (per-session recurrent state), runs the second half (turn logic), then pulls one frame of the
agent's voice. The tick is a plain synchronous loop over sessions: no task or queue per session per
frame (DESIGN, principles 1 and 2).

`run` ticks on the wall clock and measures how late each tick starts; tests, the file transport and
benchmarks call `tick` themselves on a virtual clock.
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

from vagus.agent.recording import SessionRecording, start_recording
from vagus.agent.services import Services, describe_services
from vagus.agent.session import INPUT_RATE, Heard, VoiceSession
from vagus.brain.flow import Flow
from vagus.brain.memory import open_store
from vagus.brain.tools import Toolbox
from vagus.config import AgentConfig
from vagus.core.clock import Clock
from vagus.core.events import InputDropped
from vagus.perception.vault import open_vault

if TYPE_CHECKING:
    from vagus.api import Agent, AgentSession

log = logging.getLogger("vagus.host")

FRAME_S = 0.02
INBOX_FRAMES = 25
"""Microphone frames a session may have waiting (0.5 s): beyond that the host is not keeping up,
and the oldest are dropped (counted) rather than growing a backlog that makes every answer late."""
OUTBOX_FRAMES = 3
"""The agent's frames waiting for the transport: few, so that a barge-in is heard within a frame."""
STATS_TICKS = 3000
"""Tick statistics cover the last minute."""
RECENT_TICKS = 250
"""Admission looks at the last 5 s of ticks."""
CPU_WINDOW_TICKS = 50
CPU_SMOOTHING = 0.2


class HostFull(RuntimeError):
    """No session can be opened now (at the limit, or draining); the message says which."""


class HostedSession:
    """A session's place on the host: its inbox, outbox and cost."""

    def __init__(self, session: VoiceSession, frame_s: float) -> None:
        self.session = session
        self.inbox: deque[tuple[np.ndarray, float | None]] = deque()
        self.outbox: deque[np.ndarray] = deque()
        self.dropped_in = 0
        self._dropped_reported = -math.inf
        self.dropped_out = 0
        self._frame_s = frame_s
        self._ticks = 0
        self._out_pos = 0
        self._ready = asyncio.Event()
        self.handle: AgentSession | None = None
        """The agent's handle on this session (when the host runs a `vagus.Agent`)."""
        self.recording: SessionRecording | None = None
        """Set when the config records sessions (`recording.enabled`): sees both sides' audio."""
        self.on_output: Callable[[np.ndarray], bool] | None = None
        """Sees each frame of the agent's voice in the tick itself, right after the playout events
        of that frame: a transport that must know exactly which frame an answer started and ended in
        (the Realtime API). True: it took the frame (it does not go to the outbox)."""

    @property
    def id(self) -> str:
        return self.session.id

    def feed(self, pcm: np.ndarray, t: float | None = None) -> None:
        """One microphone frame (16 kHz mono float32) starting at session time `t`."""
        if len(self.inbox) >= INBOX_FRAMES:
            self.inbox.popleft()
            self.dropped_in += 1
            now = self.session.clock.now()
            if now - self._dropped_reported >= 1.0:
                self._dropped_reported = now
                self.session.bus.publish(InputDropped(now, self.dropped_in))
        self.inbox.append((pcm, t))

    def take_output(self) -> np.ndarray | None:
        """The oldest frame of the agent's voice not yet taken, or None."""
        if not self.outbox:
            self._ready.clear()
            return None
        return self.outbox.popleft()

    async def next_output(self) -> np.ndarray | None:
        """Wait for the next frame of the agent's voice (one per tick); None once the session closed."""
        while True:
            frame = self.take_output()
            if frame is not None:
                return frame
            if self.session.closed:
                return None
            await self._ready.wait()

    def _pull(self) -> None:
        self._ticks += 1
        rate = self.session.output_rate
        target = round(self._ticks * self._frame_s * rate)
        frame = self.session.pull_audio(target - self._out_pos).copy()
        self._out_pos = target
        if self.recording is not None:
            self.recording.voice(frame, self.session.clock.now())
        if self.on_output is not None and self.on_output(frame):
            return
        if len(self.outbox) >= OUTBOX_FRAMES:
            self.outbox.popleft()
            self.dropped_out += 1
        self.outbox.append(frame)
        self._ready.set()


def _loop_running() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


class SessionHost:
    def __init__(
        self,
        services: Services,
        config: AgentConfig,
        max_sessions: int = 50,
        frame_s: float = FRAME_S,
        agent: Agent | None = None,
    ) -> None:
        """`agent`: the user's agent (`vagus.Agent`): its tools and hooks in every session."""
        self.services = services
        self.config = config
        self.agent = agent
        self.memory = open_store(config.memory.path, config.memory.max_facts)
        """Per-user facts (None unless `memory.path` is set)."""
        self.vault = open_vault(config)
        """Enrolled voiceprints (None unless `perception.vault.path` is set)."""
        self._check_flow(config)
        self.open_hooks: list[Callable[[VoiceSession], None]] = []
        """Called in turn with each new session before the agent's hooks run (metrics, tracing,
        recorders: to subscribe to its events)."""
        self.on_tick_lateness: Callable[[float], None] | None = None
        """Told how late (ms) each wall-clock tick started (metrics)."""
        self.max_sessions = max_sessions
        self.frame_s = frame_s
        self.sessions: dict[str, HostedSession] = {}
        self.draining = False
        self.ticks = 0
        self.lateness_ms: deque[float] = deque(maxlen=STATS_TICKS)
        self.tick_ms: deque[float] = deque(maxlen=STATS_TICKS)
        self.batch_sizes: deque[int] = deque(maxlen=STATS_TICKS)
        self._runner: asyncio.Task[None] | None = None
        self._retired: list[Services] = []  # models replaced by `reconfigure`, still used by live sessions
        self._closing: set[asyncio.Future[None]] = set()
        self._cpu_start = (time.process_time(), time.perf_counter())
        self._cpu_mark = self._cpu_start
        self.cpu_cores = 0.0
        """CPU the whole process uses, in cores (model threads included), smoothed over ~5 s: answers
        come in bursts (a transcription takes a core for half a second)."""
        sc = config.server
        self.max_lateness_ms = sc.admit_max_lateness_ms
        self.max_tick_fraction = sc.admit_max_tick_fraction
        self.max_cpu = sc.admit_max_cpu or 0.85 * len(os.sched_getaffinity(0))

    def reconfigure(self, config: AgentConfig, services: Services | None = None) -> None:
        """New sessions get `config` (and `services`, when it needs other models); live sessions keep
        what they opened with, and models no session uses any more are closed when their last session
        ends. Server settings (port, limits, keys) are read at start and do not change here."""
        self._check_flow(config)
        if services is not None and services is not self.services:
            self._retired.append(self.services)
            self.services = services
        if config.memory.path != self.config.memory.path or config.memory.max_facts != self.config.memory.max_facts:
            self.memory = open_store(config.memory.path, config.memory.max_facts)
        if config.perception.vault != self.config.perception.vault:
            self.vault = open_vault(config)
        self.config = config
        self._close_retired()

    async def close_models(self) -> None:
        """At exit: the models in use and any a reconfiguration replaced (each closed once)."""
        await asyncio.gather(*self._closing, return_exceptions=True)
        for services in [*self._retired, self.services]:
            await services.close()
        self._retired.clear()

    def _check_flow(self, config: AgentConfig) -> None:
        """A config's flow names only tools the agent has (an agent's own flow wins over it)."""
        if config.flow is not None and (self.agent is None or self.agent.flow is None):
            from vagus.api import Agent

            (self.agent or Agent()).check_flow(Flow.from_config(config.flow), config.tools.builtin)

    def _close_retired(self) -> None:
        in_use = {id(h.session.services) for h in self.sessions.values()}
        for old in [s for s in self._retired if id(s) not in in_use]:
            self._retired.remove(old)
            closing = asyncio.ensure_future(old.close()) if _loop_running() else None
            if closing is not None:
                self._closing.add(closing)
                closing.add_done_callback(self._closing.discard)

    # ---- the registry -------------------------------------------------------------------------------

    def open(
        self,
        output_rate: int,
        config: AgentConfig | None = None,
        clock: Clock | None = None,
        session_id: str | None = None,
        tools: Toolbox | None = None,
        user: str | None = None,
    ) -> HostedSession:
        """A new session on the shared providers; `config` overrides the host's (per-session options);
        `tools`: what its language model may call; `user`: who is talking (for `memory`)."""
        if self.draining:
            raise HostFull("server is draining: no new sessions")
        if len(self.sessions) >= self.max_sessions:
            raise HostFull(f"server is at its limit of {self.max_sessions} sessions")
        busy = self.overloaded()
        if busy is not None:
            raise HostFull(f"server is at capacity ({busy})")
        agent = self.agent
        if tools is None and agent is not None:
            tools = agent.toolbox()
        config = config or self.config
        if agent is not None and agent.instructions is not None and config.system_prompt != agent.instructions:
            config = config.model_copy(update={"system_prompt": agent.instructions})
        session = VoiceSession(
            self.services,
            config,
            output_rate,
            clock=clock,
            session_id=session_id,
            tools=tools,
            flow=agent.flow if agent is not None else None,
            user=user,
            memory=self.memory,
            voiceprints=self.vault.all() if self.vault is not None else None,
            vault=self.vault,
        )
        hosted = HostedSession(session, self.frame_s)
        self.sessions[session.id] = hosted
        if config.recording.enabled:
            name = agent.name if agent is not None and agent.name else config.name
            hosted.recording = start_recording(
                config.recording, session, output_rate, name, describe_services(self.services, name), user
            )
        for hook in self.open_hooks:
            hook(session)
        if agent is not None:
            hosted.handle = agent.attach(session)
        return hosted

    async def close_session(self, session_id: str, reason: str) -> None:
        hosted = self.sessions.pop(session_id, None)
        if hosted is not None:
            hosted._ready.set()
            await hosted.session.close(reason)
            if self._retired:
                self._close_retired()

    def __len__(self) -> int:
        return len(self.sessions)

    def __iter__(self) -> Iterator[HostedSession]:
        return iter(list(self.sessions.values()))

    def overloaded(self) -> str | None:
        """Why one more session would degrade the live ones, or None: admission by measured load."""
        recent_late = list(self.lateness_ms)[-RECENT_TICKS:]
        if len(recent_late) >= 50 and _percentile(recent_late, 99) > self.max_lateness_ms:
            return f"ticks run {_percentile(recent_late, 99):.0f} ms late"
        n = len(self.sessions)
        recent_cost = list(self.tick_ms)[-RECENT_TICKS:]
        if n and len(recent_cost) >= 50:
            projected = _percentile(recent_cost, 95) * (n + 1) / n
            if projected > self.max_tick_fraction * self.frame_s * 1000:
                return f"a tick would take {projected:.1f} ms of the {self.frame_s * 1000:.0f} ms frame"
        if n and self.cpu_cores > self.max_cpu:
            return f"the process uses {self.cpu_cores:.2f} cores"
        return None

    # ---- the tick -----------------------------------------------------------------------------------

    def tick(self) -> None:
        """One frame period for every session: inboxes through the frame path, the VAD batched across
        sessions, then one frame of each agent's voice into its outbox."""
        start = time.perf_counter()
        hosted = [h for h in self.sessions.values() if not h.session.closed]
        rounds = max((len(h.inbox) for h in hosted), default=0)
        for _ in range(rounds):  # a late transport may have queued several frames: one round each
            self._frame_round([h for h in hosted if h.inbox])
        for h in hosted:
            h._pull()
        self.ticks += 1
        self.tick_ms.append((time.perf_counter() - start) * 1000)

    def _frame_round(self, hosted: list[HostedSession]) -> None:
        heard: list[tuple[HostedSession, Heard]] = []
        for h in hosted:
            pcm, t = h.inbox.popleft()
            if h.recording is not None:
                h.recording.mic(pcm, h.session.clock.now() - len(pcm) / INPUT_RATE if t is None else t)
            frame = h.session.hear(pcm, t)
            if frame is not None:
                heard.append((h, frame))
        for (h, frame), probabilities in zip(heard, self._score(heard), strict=True):
            h.session.decide(frame, probabilities)

    def _score(self, heard: list[tuple[HostedSession, Heard]]) -> list[list[float]]:
        """Every pending chunk of every session in one call of the shared model per chunk depth (one
        call a tick at 20 ms frames and 32 ms chunks), each session with its own recurrent state."""
        out: list[list[float]] = [[] for _ in heard]
        depth = max((len(f.chunks) for _, f in heard), default=0)
        model = self.services.vad
        for k in range(depth):
            members = [i for i, (_, f) in enumerate(heard) if len(f.chunks) > k]
            chunks = [heard[i][1].chunks[k][0] for i in members]
            states = [heard[i][0].session.vad.state for i in members]
            if len(members) == 1:
                probabilities = [model.infer(chunks[0], states[0])]
            else:
                probabilities = model.infer_batch(np.stack(chunks), states).tolist()
            self.batch_sizes.append(len(members))
            for i, p in zip(members, probabilities, strict=True):
                out[i].append(p)
        return out

    # ---- real time ----------------------------------------------------------------------------------

    def start(self) -> None:
        """Tick on the wall clock in the background (a server); idempotent."""
        if self._runner is None or self._runner.done():
            self._runner = asyncio.get_running_loop().create_task(self.run(), name="vagus-host-tick")

    async def run(self) -> None:
        period = self.frame_s
        next_at = time.perf_counter()
        while True:
            now = time.perf_counter()
            if next_at > now:
                await asyncio.sleep(next_at - now)
                now = time.perf_counter()
            self.lateness_ms.append((now - next_at) * 1000)
            if self.on_tick_lateness is not None:
                self.on_tick_lateness(self.lateness_ms[-1])
            if self.ticks % CPU_WINDOW_TICKS == 0:
                self._measure_cpu()
            try:
                self.tick()
            except Exception:  # one bad tick must not stop every session
                log.exception("host tick failed")
            next_at += period
            if time.perf_counter() - next_at > 5 * period:
                next_at = time.perf_counter()  # far behind: do not burst to catch up

    def _measure_cpu(self) -> None:
        cpu, wall = time.process_time(), time.perf_counter()
        cpu0, wall0 = self._cpu_mark
        self._cpu_mark = (cpu, wall)
        if wall > wall0:
            self.cpu_cores += CPU_SMOOTHING * ((cpu - cpu0) / (wall - wall0) - self.cpu_cores)

    # ---- health, load, drain ------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        """What a load balancer or a scale-out router reads: sessions, tick lateness, CPU."""
        cpu_now, wall_now = time.process_time(), time.perf_counter()
        cpu0, wall0 = self._cpu_start
        self._cpu_start = (cpu_now, wall_now)
        wall = max(wall_now - wall0, 1e-9)
        seconds = len(self.tick_ms) * self.frame_s
        sessions = max(len(self.sessions), 1)
        return {
            "sessions": len(self.sessions),
            "max_sessions": self.max_sessions,
            "draining": self.draining,
            "ticks": self.ticks,
            "tick_lateness_ms": {"p50": _percentile(self.lateness_ms, 50), "p99": _percentile(self.lateness_ms, 99)},
            "tick_ms": {"p50": _percentile(self.tick_ms, 50), "p99": _percentile(self.tick_ms, 99)},
            "vad_batch_mean": round(float(np.mean(self.batch_sizes)), 2) if self.batch_sizes else 0.0,
            "process_cpu_percent": round((cpu_now - cpu0) / wall * 100, 1),
            "cpu_percent_per_session": round(sum(self.tick_ms) / 1000 / seconds / sessions * 100, 2)
            if seconds
            else 0.0,
            "dropped_input_frames": sum(h.dropped_in for h in self.sessions.values()),
            "admitting": not self.draining and len(self.sessions) < self.max_sessions and self.overloaded() is None,
        }

    async def drain(self, timeout_s: float) -> bool:
        """Admit no new session; wait up to `timeout_s` for live ones to end. True when all ended."""
        self.draining = True
        deadline = time.monotonic() + timeout_s
        while self.sessions and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        return not self.sessions

    async def close(self, reason: str = "server shutdown") -> None:
        if self._runner is not None:
            self._runner.cancel()
            await asyncio.gather(self._runner, return_exceptions=True)
            self._runner = None
        await asyncio.gather(*(self.close_session(sid, reason) for sid in list(self.sessions)))
        if self.memory is not None:
            self.memory.close()
            self.memory = None


def _percentile(values: Iterable[float], q: float) -> float:
    data = np.fromiter(values, dtype=np.float64)
    return round(float(np.percentile(data, q)), 3) if data.size else 0.0
