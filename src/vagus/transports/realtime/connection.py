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
import base64
import binascii
import contextlib
import itertools
import json
import logging
import uuid
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from vagus.agent.host import HostedSession, SessionHost
from vagus.brain.context import Entry
from vagus.brain.tools import ToolCall, ToolResult
from vagus.config import AgentConfig
from vagus.core.events import (
    AgentSentence,
    AgentSpeechStarted,
    AgentSpeechStopped,
    AgentTextDelta,
    AnswerDone,
    ClientToolCalls,
    Interruption,
    TranscriptFinal,
    TurnEnded,
    TurnSkipped,
    UserSpeechStarted,
)
from vagus.services.errors import ProviderError
from vagus.transports.realtime.audio import (
    SESSION_INPUT_RATE,
    SESSION_OUTPUT_RATE,
    AudioFormatError,
    InputDecoder,
    OutputEncoder,
)
from vagus.transports.realtime.settings import (
    RealtimeSettings,
    SettingError,
    end_of_turn_for,
    parse_modalities,
    parse_tools,
)

log = logging.getLogger("vagus.realtime")

FRAME = 320
"""20 ms at 16 kHz: what the host takes per tick."""
FRAME_S = FRAME / SESSION_INPUT_RATE
INPUT_LEAD_S = 0.04
"""Audio that arrives faster than real time (a file sent at once) is fed at the pace of a microphone,
at most this far ahead of the clock, so the turn logic sees the timing it would see live."""
MAX_PENDING_INPUT_S = 300.0
"""Audio waiting to be heard (or, manual mode, to be committed) beyond this is refused with an error."""
MAX_EVENT_CHARS = 16 * 1024 * 1024
MAX_OUTGOING = 5000
"""Events waiting for a client that does not read: beyond this the connection is closed."""
MIN_COMMIT_S = 0.1
WEBRTC_OUTPUT_RATE = 48000
IDLE_NUDGE = "The user has said nothing for {seconds:.0f} seconds: check in with them in a few words."

TOOL_OUTPUT_CHARS = 100_000


class ClientError(Exception):
    """A client event that cannot be carried out: answered with an `error` event, nothing changed."""

    def __init__(self, message: str, code: str = "invalid_value", param: str | None = None) -> None:
        super().__init__(message)
        self.code, self.param = code, param


@dataclass(slots=True)
class Response:
    id: str
    modalities: list[str]
    turn: int | None = None
    created: bool = False
    items: list[dict[str, Any]] = field(default_factory=list)
    message: dict[str, Any] | None = None
    """The assistant message item being spoken or written."""
    parts: list[str] = field(default_factory=list)
    """Its transcript (audio) or text, as sent."""
    audio_samples: int = 0
    """Samples of its audio sent, at the session's output rate."""
    rate: int = SESSION_OUTPUT_RATE
    speaking: bool = False
    stop_pending: bool | None = None
    """The agent stopped speaking in the frame being sent (True: interrupted)."""
    answer_done: bool = False
    cancel_reason: str | None = None
    failed: str | None = None
    restore_instructions: str | None = None
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    truncated_at_ms: int | None = None
    """Where the client said it stopped playing (`conversation.item.truncate` while it played)."""
    truncated_text: str = ""
    """What it had heard by then."""

    @property
    def audio_ms(self) -> int:
        return int(self.audio_samples * 1000 / self.rate)


def _new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:22]}"


class RealtimeConnection:
    """`send` writes one JSON text to the client; `host` runs the voice session."""

    def __init__(
        self,
        host: SessionHost,
        send: Callable[[str], Awaitable[None]],
        model: str | None = None,
        user: str | None = None,
        initial: dict[str, Any] | None = None,
        on_closed: Callable[[str], None] | None = None,
        audio_in_events: bool = True,
    ) -> None:
        """`audio_in_events`: the agent's voice goes out as `response.output_audio.delta` events (a
        WebSocket); False: it goes out as media (WebRTC), and `output_audio_buffer.*` events say when."""
        self.host = host
        self.audio_in_events = audio_in_events
        self.output_rate = SESSION_OUTPUT_RATE if audio_in_events else WEBRTC_OUTPUT_RATE
        """The session speaks at 24 kHz for events (the format's rate), at 48 kHz for WebRTC's Opus."""
        self._send = send
        self.user = user
        self.settings = RealtimeSettings.for_agent(host.config, model)
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
        self._send = send

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
            config.vad.start_threshold = min(max(td.threshold, 0.05), 0.95)
            config.vad.stop_threshold = min(config.vad.stop_threshold, config.vad.start_threshold)
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
        if self.settings.turn_detection.type == "server_vad":
            session.endpointer.semantic = None
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
            session.vad._settings.start_threshold = min(max(td.threshold, 0.05), 0.95)
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
            box.tools.pop(name, None)
        for spec in specs:
            box.tools[spec["name"]] = Tool(spec["name"], spec["description"], spec["parameters"], _client_side)
        box.version += 1
        answers.client_tools = frozenset(t["name"] for t in specs)

    async def close(self, reason: str = "client disconnected") -> None:
        if self._closed:
            return
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

    # ---- client events ------------------------------------------------------------------------------

    async def handle(self, text: str) -> None:
        """One client event (a JSON text)."""
        self.events_in += 1
        if len(text) > MAX_EVENT_CHARS:
            self.error(f"the event is {len(text)} characters; at most {MAX_EVENT_CHARS}", "event_too_large")
            return
        try:
            event = json.loads(text)
        except (ValueError, RecursionError):
            self.error("the event is not valid JSON", "invalid_json")
            return
        if not isinstance(event, dict):
            self.error("an event must be a JSON object", "invalid_event")
            return
        event_id = event.get("event_id") if isinstance(event.get("event_id"), str) else None
        kind = event.get("type")
        handler = self.HANDLERS.get(kind) if isinstance(kind, str) else None
        if handler is None:
            self.error(f"unknown event type {kind!r}", "invalid_event_type", "type", event_id)
            return
        try:
            await handler(self, event)
        except SettingError as exc:
            self.error(str(exc), "invalid_value", exc.param, event_id)
        except ClientError as exc:
            self.error(str(exc), exc.code, exc.param, event_id)

    async def _session_update(self, event: dict[str, Any]) -> None:
        before = (self.settings.turn_detection.to_json(), self.settings.kind)
        self.settings.update(event.get("session"))
        s = self.settings
        self._decoder = InputDecoder(s.input_format) if self._decoder.format != s.input_format else self._decoder
        self._encoder = OutputEncoder(s.output_format) if self._encoder.format != s.output_format else self._encoder
        assert self.hosted is not None
        if (s.turn_detection.to_json(), s.kind) != before and self._fresh and not self.hosted.session.responding:
            await self._reopen()
        else:
            self._apply_live()
        self._emit({"type": "session.updated", "session": s.to_json()})

    async def _reopen(self) -> None:
        old = self.hosted
        assert old is not None
        await self.host.close_session(old.id, "settings changed before the conversation began")
        self._open_session()

    async def _append(self, event: dict[str, Any]) -> None:
        audio = event.get("audio")
        if not isinstance(audio, str):
            raise ClientError("audio must be a base64 string", "invalid_value", "audio")
        try:
            data = base64.b64decode(audio, validate=True)
        except (binascii.Error, ValueError):
            raise ClientError("audio is not valid base64", "invalid_value", "audio") from None
        try:
            pcm = self._decoder.decode(data)
        except AudioFormatError as exc:
            raise ClientError(str(exc), "invalid_value", "audio") from None
        if not pcm.size:
            return
        pending = self._manual_samples if self._is_manual else self._input_samples
        if (pending + pcm.size) / SESSION_INPUT_RATE > MAX_PENDING_INPUT_S:
            raise ClientError(
                f"the input audio buffer holds {pending / SESSION_INPUT_RATE:.0f} s not yet heard; "
                f"at most {MAX_PENDING_INPUT_S:.0f} s may wait",
                "input_audio_buffer_full",
                "audio",
            )
        self._fresh = False
        if self._is_manual:
            self._manual.append(pcm)
            self._manual_samples += pcm.size
            return
        self._input.append(pcm)
        self._input_samples += pcm.size
        self._input_ready.set()

    @property
    def _is_manual(self) -> bool:
        return self.settings.turn_detection.type is None

    async def _commit(self, event: dict[str, Any]) -> None:
        if not self._is_manual:
            raise ClientError(
                "with turn detection on, the server commits the audio itself (set "
                "audio.input.turn_detection to null to commit by hand)",
                "input_audio_buffer_commit_unsupported",
            )
        if self._manual_samples < MIN_COMMIT_S * SESSION_INPUT_RATE:
            ms = self._manual_samples * 1000 // SESSION_INPUT_RATE
            raise ClientError(
                f"buffer too small: at least {MIN_COMMIT_S * 1000:.0f} ms of audio is needed, got {ms} ms",
                "input_audio_buffer_commit_empty",
            )
        audio = np.concatenate(self._manual)
        self._manual, self._manual_samples = [], 0
        item_id = _new_id("item")
        previous = self._last_item()
        self._emit({"type": "input_audio_buffer.committed", "item_id": item_id, "previous_item_id": previous})
        item = self._user_audio_item(item_id, None)
        self._add_item(item, previous)
        self._track(self._transcribe_item(item_id, audio))

    async def _clear(self, event: dict[str, Any]) -> None:
        self._manual, self._manual_samples = [], 0
        self._input.clear()
        self._input_samples = 0
        if self.hosted is not None and not self._is_manual:
            self.hosted.inbox.clear()
            self.hosted.session.forget_speech()
        self._speech_item = None
        self._emit({"type": "input_audio_buffer.cleared"})

    async def _item_create(self, event: dict[str, Any]) -> None:
        item = event.get("item")
        if not isinstance(item, dict):
            raise ClientError("item must be an object", "invalid_value", "item")
        previous = event.get("previous_item_id")
        last = self._last_item()
        if previous not in (None, last) and not (previous == "root" and last is None):
            raise ClientError(
                "items can only be added at the end of the conversation (previous_item_id: the last item)",
                "invalid_value",
                "previous_item_id",
            )
        item_id = item.get("id") or _new_id("item")
        if not isinstance(item_id, str) or len(item_id) > 64:
            raise ClientError("item.id must be a string of at most 64 characters", "invalid_value", "item.id")
        if item_id in self.items:
            raise ClientError(f"an item with id {item_id!r} already exists", "item_already_exists", "item.id")
        kind = item.get("type")
        session = self._session()
        conversation = session.conversation
        if kind == "message":
            role = item.get("role")
            if role not in ("user", "assistant", "system"):
                raise ClientError("item.role must be user, assistant or system", "invalid_value", "item.role")
            content = item.get("content")
            if not isinstance(content, list) or not content:
                raise ClientError("item.content must be a non-empty list", "invalid_value", "item.content")
            texts, audio = _message_parts(content, role, self._decoder.format)
            stored = {"id": item_id, "object": "realtime.item", "type": "message", "role": role,
                      "status": "completed", "content": _content_without_audio(content)}  # fmt: skip
            self._fresh = False
            if audio is not None:
                self._add_item(stored, last)
                self._track(self._transcribe_item(item_id, audio, prefix=" ".join(texts)))
                return
            text = " ".join(texts).strip()
            entry = Entry(role, text)
            conversation._add(entry)
            self._entries[item_id] = entry
        elif kind == "function_call_output":
            call_id, output = item.get("call_id"), item.get("output")
            if not isinstance(call_id, str) or call_id not in self._open_calls:
                raise ClientError(f"no function call waits for call_id {call_id!r}", "invalid_value", "item.call_id")
            if not isinstance(output, str) or len(output) > TOOL_OUTPUT_CHARS:
                raise ClientError(
                    f"item.output must be a string of at most {TOOL_OUTPUT_CHARS}", "invalid_value", "item.output"
                )
            call = self._open_calls.pop(call_id)
            tool_call = ToolCall(call_id, call["name"], call["arguments"])
            conversation.add_tools([tool_call], [ToolResult(tool_call, output)], call.get("said", ""))
            self._entries[item_id] = conversation.entries[-1]
            stored = {"id": item_id, "object": "realtime.item", "type": "function_call_output", "call_id": call_id,
                      "output": output, "status": "completed"}  # fmt: skip
        elif kind == "function_call":
            call_id, name, arguments = item.get("call_id"), item.get("name"), item.get("arguments", "{}")
            if not all(isinstance(v, str) and v for v in (call_id, name)) or not isinstance(arguments, str):
                raise ClientError("a function_call item needs call_id, name and arguments (strings)", "invalid_value",
                                  "item")  # fmt: skip
            self._open_calls[call_id] = {"name": name, "arguments": arguments, "item_id": item_id}
            stored = {"id": item_id, "object": "realtime.item", "type": "function_call", "call_id": call_id,
                      "name": name, "arguments": arguments, "status": "completed"}  # fmt: skip
        else:
            raise ClientError(
                "item.type must be message, function_call or function_call_output", "invalid_value", "item.type"
            )
        self._add_item(stored, last)

    async def _item_delete(self, event: dict[str, Any]) -> None:
        item_id = self._known_item(event)
        entry = self._entries.pop(item_id, None)
        if entry is not None:
            self._session().conversation.remove(entry)
        self.items.pop(item_id)
        self._order.remove(item_id)
        self._emit({"type": "conversation.item.deleted", "item_id": item_id})

    async def _item_retrieve(self, event: dict[str, Any]) -> None:
        item_id = self._known_item(event)
        self._emit({"type": "conversation.item.retrieved", "item": json.loads(json.dumps(self.items[item_id]))})

    async def _item_truncate(self, event: dict[str, Any]) -> None:
        item_id = self._known_item(event)
        item = self.items[item_id]
        if item.get("role") != "assistant" or item.get("type") != "message":
            raise ClientError("only assistant messages can be truncated", "invalid_value", "item_id")
        end_ms = event.get("audio_end_ms")
        if isinstance(end_ms, bool) or not isinstance(end_ms, int) or end_ms < 0:
            raise ClientError("audio_end_ms must be a whole number of milliseconds", "invalid_value", "audio_end_ms")
        if event.get("content_index", 0) != 0:
            raise ClientError("content_index must be 0", "invalid_value", "content_index")
        response = next((r for r in self.responses.values() if r.message is item), None)
        total = response.audio_ms if response is not None else 0
        if end_ms > total:
            raise ClientError(
                f"audio_end_ms ({end_ms}) is longer than the item's audio ({total} ms)", "invalid_value", "audio_end_ms"
            )
        assert response is not None
        if response is self.active and response.speaking:  # still playing: stop it there
            response.cancel_reason = "client_cancelled"
            response.truncated_at_ms = end_ms
            session = self._session()
            response.truncated_text = session.playout.heard_text_at(end_ms * response.rate // 1000)
            session.stop_answer()  # the rest is not played; its words never enter the context
            return
        heard = _words_until(" ".join(response.parts), end_ms / total if total else 0.0)
        entry = self._entries.get(item_id)
        if entry is not None:
            self._session().conversation.replace_text(entry, heard, interrupted=end_ms < total)
        _set_transcript(item, heard)
        self._emit({"type": "conversation.item.truncated", "item_id": item_id, "content_index": 0,
                    "audio_end_ms": end_ms})  # fmt: skip

    async def _response_create(self, event: dict[str, Any]) -> None:
        if self.settings.kind == "transcription":
            raise ClientError("a transcription session does not respond", "invalid_value", "type")
        if self.active is not None:
            raise ClientError(
                f"the conversation already has an active response ({self.active.id})",
                "conversation_already_has_active_response",
            )
        options = event.get("response") or {}
        if not isinstance(options, dict):
            raise ClientError("response must be an object", "invalid_value", "response")
        if options.get("conversation", "auto") != "auto" or options.get("input") is not None:
            raise ClientError(
                "responses outside the default conversation are not supported", "unsupported", "response.conversation"
            )
        modalities = (
            parse_modalities(options["output_modalities"], "response")
            if "output_modalities" in options
            else list(self.settings.output_modalities)
        )
        instructions = options.get("instructions")
        if instructions is not None and not isinstance(instructions, str):
            raise ClientError("response.instructions must be a string", "invalid_value", "response.instructions")
        if "tools" in options:
            self._use_client_tools(parse_tools(options["tools"], "response.tools"))
        response = Response(_new_id("resp"), modalities, rate=self.output_rate)
        self.active = response
        self._fresh = False
        self._emit_created(response)
        await self._settle_pending()
        if response is not self.active:  # cancelled while the input was being transcribed
            return
        session = self._session()
        session.answers.text_only = "audio" not in modalities
        if instructions is not None:
            response.restore_instructions = session.conversation.system_prompt
            session.conversation.system_prompt = instructions
        for call_id in list(self._open_calls):  # a call the client never answered: the model is told
            self._answer_missing_call(call_id)
        response.turn = session.respond_now()
        self.responses[response.turn] = response

    async def _response_cancel(self, event: dict[str, Any]) -> None:
        response = self.active
        wanted = event.get("response_id")
        if response is None or (wanted is not None and wanted != response.id):
            raise ClientError("there is no active response to cancel", "response_cancel_not_active")
        response.cancel_reason = "client_cancelled"
        if response.turn is None:  # still waiting for its input
            self._finish(response)
            return
        session = self._session()
        if session._current is not None and session._current.number == response.turn:
            session.stop_answer()
        if not response.speaking:
            self._finish(response)

    async def _output_clear(self, event: dict[str, Any]) -> None:
        if self.audio_in_events:
            raise ClientError("output_audio_buffer.clear is for WebRTC connections", "invalid_event_type", "type")
        response = self.active
        if response is None or not response.speaking:
            raise ClientError("no audio is playing", "output_audio_buffer_empty")
        response.cancel_reason = "client_cancelled"
        self._session().stop_answer()

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

    HANDLERS: ClassVar[dict[str, Callable[[RealtimeConnection, dict[str, Any]], Awaitable[None]]]] = {
        "session.update": _session_update,
        "input_audio_buffer.append": _append,
        "input_audio_buffer.commit": _commit,
        "input_audio_buffer.clear": _clear,
        "conversation.item.create": _item_create,
        "conversation.item.delete": _item_delete,
        "conversation.item.retrieve": _item_retrieve,
        "conversation.item.truncate": _item_truncate,
        "response.create": _response_create,
        "response.cancel": _response_cancel,
        "output_audio_buffer.clear": _output_clear,
    }

    # ---- helpers ------------------------------------------------------------------------------------

    def _session(self) -> Any:
        assert self.hosted is not None
        return self.hosted.session

    def _known_item(self, event: dict[str, Any]) -> str:
        item_id = event.get("item_id")
        if not isinstance(item_id, str) or item_id not in self.items:
            raise ClientError(f"no item with id {item_id!r}", "item_not_found", "item_id")
        return item_id

    def _last_item(self) -> str | None:
        return self._order[-1] if self._order else None

    def _add_item(self, item: dict[str, Any], previous: str | None, done: bool = True) -> None:
        self.items[item["id"]] = item
        self._order.append(item["id"])
        self._emit({"type": "conversation.item.added", "previous_item_id": previous, "item": _public(item)})
        if done:
            self._emit({"type": "conversation.item.done", "previous_item_id": previous, "item": _public(item)})

    def _user_audio_item(self, item_id: str, transcript: str | None) -> dict[str, Any]:
        return {"id": item_id, "object": "realtime.item", "type": "message", "role": "user",
                "status": "completed", "content": [{"type": "input_audio", "transcript": transcript}]}  # fmt: skip

    def _track(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._pending_work.add(task)
        task.add_done_callback(self._pending_work.discard)

    async def _settle_pending(self) -> None:
        """A response waits for the transcriptions of the audio committed before it."""
        if self._pending_work:
            await asyncio.gather(*list(self._pending_work), return_exceptions=True)

    async def _transcribe_item(self, item_id: str, audio: np.ndarray, prefix: str = "") -> None:
        session = self._session()
        stt = session.services.stt
        try:
            transcript = (await stt.transcribe(audio, SESSION_INPUT_RATE)).text.strip()
        except ProviderError as exc:
            self._emit({"type": "conversation.item.input_audio_transcription.failed", "item_id": item_id,
                        "content_index": 0, "error": {"type": "transcription_error", "code": exc.kind,
                                                      "message": exc.message, "param": None}})  # fmt: skip
            return
        item = self.items.get(item_id)
        if item is None:  # deleted meanwhile
            return
        text = f"{prefix} {transcript}".strip()
        entry = Entry("user", text)
        session.conversation._add(entry)
        self._entries[item_id] = entry
        _set_transcript(item, transcript)
        self._transcribed(item_id, transcript, len(audio) / SESSION_INPUT_RATE)

    def _transcribed(self, item_id: str, transcript: str, seconds: float) -> None:
        if self.settings.transcription is not None or self.settings.kind == "transcription":
            self._emit({"type": "conversation.item.input_audio_transcription.delta", "item_id": item_id,
                        "content_index": 0, "delta": transcript})  # fmt: skip
            self._emit({"type": "conversation.item.input_audio_transcription.completed", "item_id": item_id,
                        "content_index": 0, "transcript": transcript,
                        "usage": {"type": "duration", "seconds": round(seconds, 3)}})  # fmt: skip

    def _answer_missing_call(self, call_id: str) -> None:
        call = self._open_calls.pop(call_id)
        tool_call = ToolCall(call_id, call["name"], call["arguments"])
        result = ToolResult(tool_call, "(the client returned no output for this call)", error=True)
        self._session().conversation.add_tools([tool_call], [result], call.get("said", ""))

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

    # ---- session events → Realtime events -----------------------------------------------------------

    def _on_event(self, event: object) -> None:
        handler = self._EVENT_HANDLERS.get(type(event))
        if handler is not None and not self._closed:
            handler(self, event)

    def _speech_started(self, event: UserSpeechStarted) -> None:
        if self._idle is not None:
            self._idle.cancel()
            self._idle = None
        session = self._session()
        if session.playout.speaking or self._speech_item is not None:
            return  # over the agent: said when it is an interruption, not for a backchannel
        self._speech_item = _new_id("item")
        self._emit({"type": "input_audio_buffer.speech_started", "audio_start_ms": self._audio_ms(event.speech_start),
                    "item_id": self._speech_item})  # fmt: skip

    def _interrupted(self, event: Interruption) -> None:
        if self._speech_item is None:
            self._speech_item = _new_id("item")
            start_ms = self._audio_ms(event.speech_start)
            self._emit({"type": "input_audio_buffer.speech_started", "audio_start_ms": start_ms,
                        "item_id": self._speech_item})  # fmt: skip

    def _turn_ended(self, event: TurnEnded) -> None:
        item_id = self._speech_item or _new_id("item")
        self._speech_item = item_id
        self._turn_items[event.turn] = item_id
        self._emit({"type": "input_audio_buffer.speech_stopped", "audio_end_ms": self._audio_ms(event.speech_end),
                    "item_id": item_id})  # fmt: skip

    def _transcript_final(self, event: TranscriptFinal) -> None:
        item_id = self._turn_items.pop(event.turn, None) or _new_id("item")
        if self._speech_item == item_id:
            self._speech_item = None
        previous = self._last_item()
        self._emit({"type": "input_audio_buffer.committed", "item_id": item_id, "previous_item_id": previous})
        item = self._user_audio_item(item_id, None)
        self.items[item_id] = item
        self._order.append(item_id)
        self._emit({"type": "conversation.item.added", "previous_item_id": previous, "item": _public(item)})
        _set_transcript(item, event.text)
        self._transcribed(item_id, event.text, 0.0)
        self._emit({"type": "conversation.item.done", "previous_item_id": previous, "item": _public(item)})

    def _turn_skipped(self, event: TurnSkipped) -> None:
        item_id = self._turn_items.pop(event.turn, None)
        if item_id is not None and self._speech_item == item_id:
            self._speech_item = None

    def _response_for(self, turn: int) -> Response:
        """The response of this turn of the session, created when it first says or does something."""
        response = self.responses.get(turn)
        if response is None:
            response = Response(_new_id("resp"), list(self.settings.output_modalities), turn, rate=self.output_rate)
            self.responses[turn] = response
            if self.active is not None and self.active is not response:
                self._finish(self.active)
            self.active = response
            self._emit_created(response)
        return response

    def _emit_created(self, response: Response) -> None:
        response.created = True
        self._emit({"type": "response.created", "response": self._response_json(response, "in_progress")})

    def _message(self, response: Response) -> dict[str, Any]:
        if response.message is None:
            item = {"id": _new_id("item"), "object": "realtime.item", "type": "message", "role": "assistant",
                    "status": "in_progress", "content": []}  # fmt: skip
            response.message = item
            response.items.append(item)
            previous = self._last_item()
            self.items[item["id"]] = item
            self._order.append(item["id"])
            index = len(response.items) - 1
            self._emit({"type": "response.output_item.added", "response_id": response.id, "output_index": index,
                        "item": _public(item)})  # fmt: skip
            self._emit({"type": "conversation.item.added", "previous_item_id": previous, "item": _public(item)})
            audio = "audio" in response.modalities
            part = {"type": "audio", "transcript": ""} if audio else {"type": "text", "text": ""}
            self._emit({"type": "response.content_part.added", "response_id": response.id, "item_id": item["id"],
                        "output_index": index, "content_index": 0, "part": part})  # fmt: skip
        return response.message

    def _sentence(self, event: AgentSentence) -> None:
        response = self._response_for(event.turn)
        item = self._message(response)
        delta = event.text if not response.parts else " " + event.text
        response.parts.append(event.text)
        self._emit({"type": "response.output_audio_transcript.delta", "response_id": response.id,
                    "item_id": item["id"], "output_index": response.items.index(item), "content_index": 0,
                    "delta": delta})  # fmt: skip

    def _text_delta(self, event: AgentTextDelta) -> None:
        response = self._response_for(event.turn)
        item = self._message(response)
        response.parts.append(event.text)
        self._emit({"type": "response.output_text.delta", "response_id": response.id, "item_id": item["id"],
                    "output_index": response.items.index(item), "content_index": 0, "delta": event.text})  # fmt: skip

    def _client_calls(self, event: ClientToolCalls) -> None:
        response = self._response_for(event.turn)
        if response.message is not None and not response.speaking:
            self._close_message(response, interrupted=False)
        for call in event.calls:
            item = {"id": _new_id("item"), "object": "realtime.item", "type": "function_call", "status": "completed",
                    "call_id": call["call_id"], "name": call["name"], "arguments": call["arguments"]}  # fmt: skip
            previous = self._last_item()
            response.items.append(item)
            self.items[item["id"]] = item
            self._order.append(item["id"])
            self._open_calls[call["call_id"]] = {"name": call["name"], "arguments": call["arguments"],
                                                 "item_id": item["id"], "said": event.said}  # fmt: skip
            index = len(response.items) - 1
            base = {"response_id": response.id, "item_id": item["id"], "output_index": index,
                    "call_id": call["call_id"]}  # fmt: skip
            self._emit({"type": "response.output_item.added", "response_id": response.id, "output_index": index,
                        "item": {**_public(item), "status": "in_progress", "arguments": ""}})  # fmt: skip
            self._emit({"type": "conversation.item.added", "previous_item_id": previous,
                        "item": {**_public(item), "status": "in_progress", "arguments": ""}})  # fmt: skip
            self._emit({"type": "response.function_call_arguments.delta", **base, "delta": call["arguments"]})
            self._emit({"type": "response.function_call_arguments.done", **base, "name": call["name"],
                        "arguments": call["arguments"]})  # fmt: skip
            self._emit({"type": "response.output_item.done", "response_id": response.id, "output_index": index,
                        "item": _public(item)})  # fmt: skip
            self._emit({"type": "conversation.item.done", "previous_item_id": previous, "item": _public(item)})
        response.tool_calls.extend(event.calls)

    def _agent_started(self, event: AgentSpeechStarted) -> None:
        response = self._response_for(event.turn)
        self._message(response)
        response.speaking = True
        if not self.audio_in_events:
            self._emit({"type": "output_audio_buffer.started", "response_id": response.id})

    def _agent_stopped(self, event: AgentSpeechStopped) -> None:
        response = self.responses.get(event.turn)
        if response is None or not response.speaking:
            return
        if not event.interrupted:
            response.stop_pending = False  # the frame being pulled is its last: sent, then closed
            return
        response.speaking = False  # cut off (the user, or the client): nothing more of it is sent
        if not self.audio_in_events:
            self._emit({"type": "output_audio_buffer.cleared", "response_id": response.id})
        if response.cancel_reason is None:
            response.cancel_reason = "turn_detected"
        self._close_message(response, interrupted=True)
        self._finish(response)

    def _answer_done(self, event: AnswerDone) -> None:
        response = self.responses.get(event.turn)
        if response is None:
            return
        response.answer_done = True
        if event.outcome == "failed" and response.failed is None:
            response.failed = "the answer failed (see the server log)"
        if event.outcome == "cancelled" and response.cancel_reason is None:
            response.cancel_reason = "turn_detected"
        playout = self._session().playout
        if response.speaking or (playout.turn == event.turn and playout.active):
            return  # its audio is still to be sent: done when the last of it is
        self._finish(response)

    def _on_output(self, frame: np.ndarray) -> bool:
        """Each frame of the agent's voice, in the tick that played it; True: sent here as an event."""
        response = self.active
        if response is None or not response.speaking:
            return self.audio_in_events
        response.audio_samples += len(frame)
        item = response.message
        assert item is not None
        if self.audio_in_events:
            data = self._encoder.encode(frame)
            self._emit({"type": "response.output_audio.delta", "response_id": response.id, "item_id": item["id"],
                        "output_index": response.items.index(item), "content_index": 0,
                        "delta": base64.b64encode(data).decode("ascii")})  # fmt: skip
        if response.stop_pending is not None:
            response.speaking = False
            if not self.audio_in_events:
                self._emit({"type": "output_audio_buffer.stopped", "response_id": response.id})
            self._close_message(response, interrupted=False)
            if response.answer_done:
                self._finish(response)
        return self.audio_in_events

    def _close_message(self, response: Response, interrupted: bool) -> None:
        item = response.message
        if item is None or item.get("status") != "in_progress":
            return
        index = response.items.index(item)
        session = self._session()
        full = " ".join(response.parts) if "audio" in response.modalities else "".join(response.parts)
        text = full
        entry = session.conversation.entries[-1] if session.conversation.entries else None
        if entry is not None and entry.role == "assistant":
            self._entries[item["id"]] = entry
            if interrupted:
                text = entry.content
        end_ms = response.audio_ms
        if interrupted and response.truncated_at_ms is not None:  # the client played less than was sent
            end_ms = min(response.truncated_at_ms, end_ms)
            text = response.truncated_text
            if entry is not None and entry is self._entries.get(item["id"]):
                session.conversation.replace_text(entry, text, interrupted=True)
        base = {"response_id": response.id, "item_id": item["id"], "output_index": index, "content_index": 0}
        if interrupted:
            self._emit({"type": "conversation.item.truncated", "item_id": item["id"], "content_index": 0,
                        "audio_end_ms": end_ms})  # fmt: skip
        if "audio" in response.modalities:
            self._emit({"type": "response.output_audio.done", **base})
            self._emit({"type": "response.output_audio_transcript.done", **base, "transcript": text})
            part = {"type": "audio", "transcript": text}
            item["content"] = [{"type": "output_audio", "transcript": text}]
        else:
            self._emit({"type": "response.output_text.done", **base, "text": text})
            part = {"type": "text", "text": text}
            item["content"] = [{"type": "output_text", "text": text}]
        item["status"] = "incomplete" if interrupted else "completed"
        self._emit({"type": "response.content_part.done", **base, "part": part})
        self._emit({"type": "response.output_item.done", "response_id": response.id, "output_index": index,
                    "item": _public(item)})  # fmt: skip
        previous = self._order[self._order.index(item["id"]) - 1] if self._order.index(item["id"]) else None
        self._emit({"type": "conversation.item.done", "previous_item_id": previous, "item": _public(item)})

    def _finish(self, response: Response) -> None:
        """response.done, once: completed, cancelled (turn_detected / client_cancelled) or failed."""
        if not response.created:
            return
        if response.message is not None and response.message.get("status") == "in_progress":
            self._close_message(response, interrupted=response.cancel_reason is not None)
        if response.cancel_reason is not None:
            status = "cancelled"
        elif response.failed is not None:
            status = "failed"
        else:
            status = "completed"
        response.answer_done = True
        response.created = False  # no second response.done
        if self.active is response:
            self.active = None
            session = self._session()
            session.answers.text_only = self.settings.text_only
            if response.restore_instructions is not None:
                session.conversation.system_prompt = response.restore_instructions
        self._emit({"type": "response.done", "response": self._response_json(response, status)})
        self._arm_idle_timeout()

    def _arm_idle_timeout(self) -> None:
        """server_vad's `idle_timeout_ms`: the user says nothing that long after the agent finished."""
        if self._idle is not None:
            self._idle.cancel()
            self._idle = None
        td = self.settings.turn_detection
        if td.type == "server_vad" and td.idle_timeout_ms is not None and not self._closed:
            self._idle = asyncio.get_running_loop().call_later(td.idle_timeout_ms / 1000, self._idle_timed_out)

    def _idle_timed_out(self) -> None:
        self._idle = None
        session = self._session()
        if self.active is not None or self._speech_item is not None or session.responding or self._closed:
            return
        td = self.settings.turn_detection
        end_ms = self._audio_ms(session.clock.now())
        self._emit({"type": "input_audio_buffer.timeout_triggered", "item_id": _new_id("item"),
                    "audio_start_ms": max(0, end_ms - (td.idle_timeout_ms or 0)), "audio_end_ms": end_ms})  # fmt: skip
        if td.create_response and self.settings.kind == "realtime":
            seconds = (td.idle_timeout_ms or 0) / 1000
            nudge = f"{session.conversation.system_prompt}\n\n{IDLE_NUDGE.format(seconds=seconds)}"
            self._nudge = asyncio.ensure_future(self._create_quietly({"response": {"instructions": nudge}}))

    async def _create_quietly(self, event: dict[str, Any]) -> None:
        """A response the server asks for itself (none if the client already asked for one)."""
        with contextlib.suppress(ClientError):
            await self._response_create(event)

    def _response_json(self, response: Response, status: str) -> dict[str, Any]:
        details: dict[str, Any] | None = None
        if status == "cancelled":
            details = {"type": "cancelled", "reason": response.cancel_reason}
        elif status == "failed":
            details = {"type": "failed", "error": {"type": "server_error", "code": "answer_failed",
                                                   "message": response.failed}}  # fmt: skip
        return {
            "object": "realtime.response",
            "id": response.id,
            "status": status,
            "status_details": details,
            "output": [_public(i) for i in response.items] if status != "in_progress" else [],
            "conversation_id": "conv_" + (self.hosted.id if self.hosted is not None else "0"),
            "output_modalities": list(response.modalities),
            "max_output_tokens": self.settings.max_output_tokens,
            "audio": {"output": {"format": self.settings.output_format.to_json(), "voice": self.settings.voice}},
            "usage": None,
            "metadata": None,
        }

    _EVENT_HANDLERS: ClassVar[dict[type, Callable[[RealtimeConnection, Any], None]]] = {
        UserSpeechStarted: _speech_started,
        Interruption: _interrupted,
        TurnEnded: _turn_ended,
        TranscriptFinal: _transcript_final,
        TurnSkipped: _turn_skipped,
        AgentSentence: _sentence,
        AgentTextDelta: _text_delta,
        ClientToolCalls: _client_calls,
        AgentSpeechStarted: _agent_started,
        AgentSpeechStopped: _agent_stopped,
        AnswerDone: _answer_done,
    }


async def _client_side(**arguments: Any) -> str:
    """Stands for a tool the client runs: the answer ends before it would be called."""
    raise RuntimeError("a client-side tool is never run on the server")


def _public(item: dict[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps(item))


def _set_transcript(item: dict[str, Any], transcript: str) -> None:
    for part in item.get("content", []):
        if part.get("type") in ("input_audio", "output_audio"):
            part["transcript"] = transcript
        elif part.get("type") == "output_text":
            part["text"] = transcript


def _words_until(text: str, fraction: float) -> str:
    words = text.split()
    return " ".join(words[: int(len(words) * min(max(fraction, 0.0), 1.0))])


def _message_parts(content: list[Any], role: str, fmt: Any) -> tuple[list[str], np.ndarray | None]:
    """The texts of a client's message and its audio (decoded to 16 kHz), if any."""
    allowed = {"user": ("input_text", "input_audio"), "system": ("input_text",), "assistant": ("output_text", "text")}
    texts: list[str] = []
    audio: np.ndarray | None = None
    for i, part in enumerate(content):
        param = f"item.content[{i}]"
        if not isinstance(part, dict) or part.get("type") not in allowed[role]:
            raise ClientError(f"{param}.type must be one of {', '.join(allowed[role])} for a {role} message",
                              "invalid_value", f"{param}.type")  # fmt: skip
        if part["type"] == "input_audio":
            data = part.get("audio")
            if data is None and isinstance(part.get("transcript"), str):
                texts.append(part["transcript"])
                continue
            try:
                raw = base64.b64decode(data if isinstance(data, str) else "", validate=True)
            except (binascii.Error, ValueError):
                raise ClientError(f"{param}.audio is not valid base64", "invalid_value", f"{param}.audio") from None
            decoded = InputDecoder(fmt).decode(raw)
            audio = decoded if audio is None else np.concatenate([audio, decoded])
            continue
        text = part.get("text")
        if not isinstance(text, str):
            raise ClientError(f"{param}.text must be a string", "invalid_value", f"{param}.text")
        texts.append(text)
    if audio is not None and audio.size < MIN_COMMIT_S * SESSION_INPUT_RATE:
        raise ClientError("the message's audio is shorter than 100 ms", "invalid_value", "item.content")
    return texts, audio


def _content_without_audio(content: list[Any]) -> list[dict[str, Any]]:
    out = []
    for part in content:
        part = {k: v for k, v in part.items() if k != "audio"}
        if part.get("type") == "input_audio":
            part.setdefault("transcript", None)
        out.append(part)
    return out
