"""One Realtime API connection: OpenAI's Realtime protocol (GA shape) spoken over a Vagus voice session.

The protocol is a conversation of *items* (user and assistant messages, function calls and their
outputs) and *responses*. Vagus keeps its own turn-taking underneath: with `server_vad` or
`semantic_vad` the session's VAD, end-of-turn model and barge-in policy decide when the user is done
and whether speech over the agent is an interruption (a backchannel is not), and the events say what
they decided. With `turn_detection: null` the client commits its audio and asks for responses.

Truth about interruptions: the agent's audio leaves in real time, one 20 ms frame per host tick (a
client playing it as it comes has heard what was sent), so when the user cuts in the server knows
what was heard, truncates the assistant item there itself and says so (`conversation.item.truncated`);
the conversation the model sees holds only the heard words. A client that plays later may still send
`conversation.item.truncate` with its own position.

Nothing a client sends can break the session: every bad event gets an `error` event in OpenAI's shape
(`type`, `code`, `message`, `param`, `event_id`) and the connection goes on.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

import numpy as np

from vagus.agent.host import HostedSession, SessionHost
from vagus.brain.context import Entry
from vagus.config import AgentConfig
from vagus.transports.realtime.audio import (
    SESSION_INPUT_RATE,
    SESSION_OUTPUT_RATE,
    InputDecoder,
    OutputEncoder,
)
from vagus.transports.realtime.beta import to_beta
from vagus.transports.realtime.client_events import ClientEvents
from vagus.transports.realtime.items import (
    FRAME,
    FRAME_S,
    MAX_PENDING_INPUT_S,
    Response,
    client_side_tool,
)
from vagus.transports.realtime.session_events import SessionEvents
from vagus.transports.realtime.settings import (
    RealtimeSettings,
    end_of_turn_for,
)

log = logging.getLogger("vagus.realtime")

INPUT_LEAD_S = 0.04
"""Audio that arrives faster than real time (a file sent at once) is fed at the pace of a microphone,
at most this far ahead of the clock, so the turn logic sees the timing it would see live."""
MAX_OUTGOING = 5000
"""Events waiting for a client that does not read: beyond this the connection is closed."""
WEBRTC_OUTPUT_RATE = 48000


class RealtimeConnection(ClientEvents, SessionEvents):
    """`send` writes one JSON text to the client (None: not yet connected, see `attach`); `host` runs
    the voice session."""

    def __init__(
        self,
        host: SessionHost,
        send: Callable[[str], Awaitable[None]] | None,
        model: str | None = None,
        user: str | None = None,
        initial: dict[str, Any] | None = None,
        on_closed: Callable[[str], None] | None = None,
        audio_in_events: bool = True,
        beta: bool = False,
    ) -> None:
        """`audio_in_events`: the agent's voice goes out as `response.output_audio.delta` events (a
        WebSocket); False: it goes out as media (WebRTC), and `output_audio_buffer.*` events say when."""
        self.host = host
        self.audio_in_events = audio_in_events
        self.beta = beta
        """The client speaks the retired beta shape (`OpenAI-Beta: realtime=v1`): events go out in it."""
        self.output_rate = SESSION_OUTPUT_RATE if audio_in_events else WEBRTC_OUTPUT_RATE
        """The session speaks at 24 kHz for events (the format's rate), at 48 kHz for WebRTC's Opus."""
        self._send = send or _not_connected
        self.user = user
        self.settings = RealtimeSettings.for_agent(host.config, model)
        if host.agent is not None and host.agent.instructions is not None:
            self.settings.instructions = host.agent.instructions  # a `vagus.Agent`'s, as in its sessions
        if initial:
            self.settings.update(initial)
        self.on_closed = on_closed
        self.hosted: HostedSession | None = None
        self._event_ids = itertools.count(1)
        self._outgoing: asyncio.Queue[str | None] = asyncio.Queue()
        self._writer: asyncio.Task[None] | None = None
        self._feeder: asyncio.Task[None] | None = None
        self._input: deque[np.ndarray] = deque()
        self._input_samples = 0
        self._input_ready = asyncio.Event()
        self._next_t: float | None = None
        self._audio_t0: float | None = None
        self._manual: list[np.ndarray] = []
        self._manual_samples = 0
        self._decoder = InputDecoder(self.settings.input_format)
        self._encoder = OutputEncoder(self.settings.output_format)
        self.items: dict[str, dict[str, Any]] = {}
        self._entries: dict[str, Entry] = {}
        self._order: list[str] = []
        self._speech_item: str | None = None
        self._turn_items: dict[int, str] = {}
        self._pending_work: set[asyncio.Future[Any]] = set()
        self._open_calls: dict[str, dict[str, str]] = {}
        """Function calls the client has not answered yet: call_id → name, arguments, item id."""
        self.responses: dict[int, Response] = {}
        """Turn number → its response (a turn of the session is at most one response)."""
        self.active: Response | None = None
        self._fresh = True
        self._idle: asyncio.TimerHandle | None = None
        self._nudge: asyncio.Future[None] | None = None
        self._closed = False
        self._closing: asyncio.Future[None] | None = None
        self._started = False
        self._early: list[dict[str, Any]] = []
        """Events before `session.created` was sent (WebRTC audio can come before its data channel)."""
        self.events_in = 0
        self.events_out = 0

    # ---- lifecycle ----------------------------------------------------------------------------------

    def open_session(self) -> None:
        """Open the voice session (HostFull when there is no room)."""
        self._open_session()

    def attach(self, send: Callable[[str], Awaitable[None]]) -> None:
        """Where the events go (the socket, once it is open)."""
        self._send = send or _not_connected

    async def start(self) -> None:
        """Open the voice session and greet the client."""
        self._open_session()
        await self.start_io()

    async def start_io(self) -> None:
        """Start sending and hearing; the first event is `session.created`."""
        loop = asyncio.get_running_loop()
        self._writer = loop.create_task(self._write(), name="realtime-writer")
        self._feeder = loop.create_task(self._feed(), name="realtime-feeder")
        self._started = True
        self._emit({"type": "session.created", "session": self.settings.to_json()})
        for event in self._early:
            self._emit(event)
        self._early.clear()

    def _session_config(self) -> AgentConfig:
        s, config = self.settings, self.host.config.model_copy(deep=True)
        config.senses.echo.enabled = False  # the client plays the voice: echo is its own canceller's
        config.system_prompt = s.instructions
        td = s.turn_detection
        if td.type is not None:
            _set_threshold(config.vad, td.threshold)
            config.turns.preroll_ms = td.prefix_padding_ms
            config.turns.barge_in = td.interrupt_response
            if td.type == "server_vad":
                config.turns.silence_ms = td.silence_duration_ms
        return config

    def _open_session(self) -> None:
        """A voice session built from the settings (again, while nothing has been said in it)."""
        hosted = self.host.open(self.output_rate, self._session_config(), user=self.user)
        self.host.start()
        hosted.on_output = self._on_output
        self.hosted = hosted
        session = hosted.session
        session.bus.subscribe(self._on_event)
        self._apply_live()
        log.info("realtime session %s opened (%s)", session.id, self.settings.turn_detection.type or "manual")

    def _apply_live(self) -> None:
        """What can change in a live session without rebuilding it."""
        assert self.hosted is not None
        session, s = self.hosted.session, self.settings
        session.conversation.system_prompt = s.instructions
        answers = session.answers
        answers.text_only = s.text_only
        answers.auto_answer = s.kind == "realtime" and s.turn_detection.create_response
        td = s.turn_detection
        session.barge_in.enabled = td.interrupt_response and td.type is not None
        if td.type == "server_vad":
            session.endpointer.semantic = None
            session.endpointer.silence_s = td.silence_duration_ms / 1000.0
            _set_threshold(session.config.vad, td.threshold)  # the settings its VAD reads
        elif td.type == "semantic_vad" and session.services.end_of_turn is not None:
            session.endpointer.semantic = end_of_turn_for(td.eagerness, self.host.config.turns.end_of_turn)
        self._use_client_tools(s.tools)

    def _use_client_tools(self, specs: list[dict[str, Any]]) -> None:
        """The client's function tools join the agent's own for the model; calls to them end the
        answer and go to the client."""
        from vagus.brain.tools import Tool, Toolbox

        assert self.hosted is not None
        session = self.hosted.session
        answers = session.answers
        box = answers.toolbox
        if box is None:
            box = answers.toolbox = Toolbox()
        for name in answers.client_tools - {t["name"] for t in specs}:
            box.remove(name)
        for spec in specs:
            box.remove(spec["name"])  # a declared tool replaces its earlier declaration
            box.add(Tool(spec["name"], spec["description"], spec["parameters"], client_side_tool))
        answers.client_tools = frozenset(t["name"] for t in specs)

    async def close(self, reason: str = "client disconnected") -> None:
        """End the connection and its session. The work runs as its own task: a caller cancelled
        meanwhile (the web server cancels a handler whose client has gone) cannot leave the session
        half closed."""
        if self._closing is None:
            self._closing = asyncio.ensure_future(self._close(reason))
        await asyncio.shield(self._closing)

    async def _close(self, reason: str) -> None:
        self._closed = True
        if self._idle is not None:
            self._idle.cancel()
        for task in (self._feeder, self._writer):
            if task is not None:
                task.cancel()
        for work in list(self._pending_work):
            work.cancel()
        await asyncio.gather(
            *(t for t in (self._feeder, self._writer) if t is not None), *self._pending_work, return_exceptions=True
        )
        if self.hosted is not None:
            await self.host.close_session(self.hosted.id, reason)
            log.info("realtime session %s closed: %s", self.hosted.id, reason)
        if self.on_closed is not None:
            self.on_closed(reason)

    @property
    def closed(self) -> bool:
        return self._closed

    # ---- sending ------------------------------------------------------------------------------------

    def _emit(self, event: dict[str, Any]) -> None:
        if self._closed:
            return
        if not self._started:
            self._early.append(event)
            return
        if self.beta:
            translated = to_beta(event)
            if translated is None:
                return
            event = translated
        event["event_id"] = f"event_{next(self._event_ids):06d}"
        if self._outgoing.qsize() >= MAX_OUTGOING:
            log.warning("realtime: the client is not reading its events; closing")
            self._closed_by_server("the client does not read its events")
            return
        self._outgoing.put_nowait(json.dumps(event, ensure_ascii=False))

    def _closed_by_server(self, reason: str) -> None:
        self._outgoing.put_nowait(None)
        asyncio.get_running_loop().create_task(self.close(reason))

    async def _write(self) -> None:
        while True:
            text = await self._outgoing.get()
            if text is None:
                return
            try:
                await self._send(text)
            except Exception:  # the socket has gone: reading will notice and close
                return
            self.events_out += 1

    def error(self, message: str, code: str = "invalid_value", param: str | None = None,
              event_id: str | None = None, kind: str = "invalid_request_error") -> None:  # fmt: skip
        self._emit({"type": "error", "error": {"type": kind, "code": code, "message": message, "param": param,
                                                "event_id": event_id}})  # fmt: skip

    def hear(self, pcm: np.ndarray, t: float) -> None:
        """Live microphone audio (16 kHz, a WebRTC track) straight into the session."""
        if self.hosted is None:
            return
        self._fresh = False
        if self._is_manual:  # kept for the client's commit (at most MAX_PENDING_INPUT_S)
            if (self._manual_samples + pcm.size) / SESSION_INPUT_RATE <= MAX_PENDING_INPUT_S:
                self._manual.append(pcm)
                self._manual_samples += pcm.size
            return
        if self._audio_t0 is None:
            self._audio_t0 = t
        self.hosted.feed(pcm, t)

    # ---- the microphone path ------------------------------------------------------------------------

    async def _feed(self) -> None:
        """Client audio into the session in 20 ms frames, at most at the pace of a live microphone."""
        carry = np.zeros(0, np.float32)
        while True:
            await self._input_ready.wait()
            self._input_ready.clear()
            while self._input:
                block = self._input.popleft()
                self._input_samples -= block.size
                carry = np.concatenate([carry, block]) if carry.size else block
                while carry.size >= FRAME:
                    frame, carry = carry[:FRAME].copy(), carry[FRAME:]
                    await self._feed_frame(frame)

    async def _feed_frame(self, frame: np.ndarray) -> None:
        hosted = self.hosted
        if hosted is None or hosted.session.closed:
            return
        clock = hosted.session.clock
        now = clock.now()
        if self._next_t is None or self._next_t < now - FRAME_S:
            self._next_t = now - FRAME_S  # live: this frame has just been spoken
        ahead = self._next_t - now
        if ahead > INPUT_LEAD_S:
            await asyncio.sleep(ahead - INPUT_LEAD_S / 2)
        t = self._next_t
        if self._audio_t0 is None:
            self._audio_t0 = t
        self._next_t = t + FRAME_S
        if self.hosted is hosted:  # not reopened while this frame waited
            hosted.feed(frame, t)

    def _audio_ms(self, t: float) -> int:
        return max(0, int((t - (self._audio_t0 or t)) * 1000))

    def _session(self) -> Any:
        assert self.hosted is not None
        return self.hosted.session


def _set_threshold(vad: Any, threshold: float) -> None:
    """server_vad's threshold as the VAD's start threshold (its stop threshold kept below it)."""
    vad.start_threshold = min(max(threshold, 0.05), 0.95)
    vad.stop_threshold = min(vad.stop_threshold, vad.start_threshold)


async def _not_connected(text: str) -> None:
    raise ConnectionError("not connected")
