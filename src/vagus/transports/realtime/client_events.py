"""Client events of the Realtime protocol (`session.update`, `input_audio_buffer.*`,
`conversation.item.*`, `response.create|cancel`, `output_audio_buffer.clear`), carried out on the
connection's voice session. A bad event raises ClientError or SettingError, answered by an `error`
event; nothing of it is applied."""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any, ClassVar

import numpy as np

from vagus.brain.context import Entry
from vagus.brain.tools import ToolCall, ToolResult
from vagus.services.errors import ProviderError
from vagus.transports.realtime.audio import (
    SESSION_INPUT_RATE,
    AudioFormatError,
    InputDecoder,
    OutputEncoder,
)
from vagus.transports.realtime.items import (
    FRAME,
    FRAME_S,
    MAX_EVENT_CHARS,
    MAX_PENDING_INPUT_S,
    MIN_COMMIT_S,
    TOOL_OUTPUT_CHARS,
    ClientError,
    Response,
    as_json,
    content_without_audio,
    message_parts,
    new_id,
    set_transcript,
    words_until,
)
from vagus.transports.realtime.settings import (
    SettingError,
    parse_modalities,
    parse_tools,
)

log = logging.getLogger("vagus.realtime")


class ClientEvents:
    """The client's side of `RealtimeConnection` (a mixin: the state lives on the connection)."""

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
        except Exception:  # our fault, not the client's: said so, logged, and the connection goes on
            log.exception("realtime: %s failed", kind)
            self.error(f"the server failed to carry out {kind}", "server_error", None, event_id, "server_error")

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
            await self._commit_heard_speech()
            return
        if self._manual_samples < MIN_COMMIT_S * SESSION_INPUT_RATE:
            ms = self._manual_samples * 1000 // SESSION_INPUT_RATE
            raise ClientError(
                f"buffer too small: at least {MIN_COMMIT_S * 1000:.0f} ms of audio is needed, got {ms} ms",
                "input_audio_buffer_commit_empty",
            )
        audio = np.concatenate(self._manual)
        self._manual, self._manual_samples = [], 0
        item_id = new_id("item")
        previous = self._last_item()
        self._emit({"type": "input_audio_buffer.committed", "item_id": item_id, "previous_item_id": previous})
        item = self._user_audio_item(item_id, None)
        self._add_item(item, previous)
        self._track(self._transcribe_item(item_id, audio))

    async def _commit_heard_speech(self) -> None:
        """With turn detection on: once the audio sent so far has been heard, the user's turn in
        progress ends now (as if the silence had run out)."""
        hosted = self.hosted
        assert hosted is not None
        while (self._input_samples >= FRAME or hosted.inbox) and not self._closed:
            await asyncio.sleep(FRAME_S)
        if not hosted.session.end_turn_now():
            raise ClientError("buffer too small: no speech has been heard since the last turn",
                              "input_audio_buffer_commit_empty")  # fmt: skip

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
        last = self._last_item()
        after = self._insertion_point(event.get("previous_item_id"), last)
        item_id = item.get("id") or new_id("item")
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
            texts, audio = message_parts(content, role, self._decoder.format)
            stored = {"id": item_id, "object": "realtime.item", "type": "message", "role": role,
                      "status": "completed", "content": content_without_audio(content)}  # fmt: skip
            self._fresh = False
            if audio is not None:
                self._add_item(stored, last)
                self._track(self._transcribe_item(item_id, audio, prefix=" ".join(texts)))
                return
            text = " ".join(texts).strip()
            if after is not None:  # inserted: into the context at the same place, then it is done
                entry = Entry(role, text)
                conversation.insert_after(entry, None if after == "root" else self._entries[after])
                self._entries[item_id] = entry
                self._insert_item(stored, None if after == "root" else after)
                return
            self._entries[item_id] = conversation.add_message(role, text)
        elif after is not None:
            raise ClientError("only text messages can be inserted before the end of the conversation",
                              "invalid_value", "previous_item_id")  # fmt: skip
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

    def _insertion_point(self, previous: Any, last: str | None) -> str | None:
        """None: at the end; "root": first; else the item the new one goes right after."""
        if previous is None or previous == last or (previous == "root" and last is None):
            return None
        if previous == "root":
            return "root"
        if not isinstance(previous, str) or previous not in self.items:
            raise ClientError(f"no item with id {previous!r}", "item_not_found", "previous_item_id")
        if previous not in self._entries:
            raise ClientError(f"item {previous!r} is not in the conversation yet", "invalid_value", "previous_item_id")
        return previous

    def _insert_item(self, item: dict[str, Any], previous: str | None) -> None:
        index = 0 if previous is None else self._order.index(previous) + 1
        self.items[item["id"]] = item
        self._order.insert(index, item["id"])
        self._emit({"type": "conversation.item.added", "previous_item_id": previous, "item": as_json(item)})
        self._emit({"type": "conversation.item.done", "previous_item_id": previous, "item": as_json(item)})

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
        heard = words_until(" ".join(response.parts), end_ms / total if total else 0.0)
        entry = self._entries.get(item_id)
        if entry is not None:
            self._session().conversation.replace_text(entry, heard, interrupted=end_ms < total)
        set_transcript(item, heard)
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
        asked = options.get("output_modalities", options.get("modalities"))  # the beta's name
        modalities = parse_modalities(asked, "response") if asked is not None else list(self.settings.output_modalities)
        instructions = options.get("instructions")
        if instructions is not None and not isinstance(instructions, str):
            raise ClientError("response.instructions must be a string", "invalid_value", "response.instructions")
        if "tools" in options:
            self._use_client_tools(parse_tools(options["tools"], "response.tools"))
        response = Response(new_id("resp"), modalities, rate=self.output_rate)
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
        if session.current_turn == response.turn:
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

    HANDLERS: ClassVar[dict[str, Callable[[ClientEvents, dict[str, Any]], Awaitable[None]]]] = {
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
        self._emit({"type": "conversation.item.added", "previous_item_id": previous, "item": as_json(item)})
        if done:
            self._emit({"type": "conversation.item.done", "previous_item_id": previous, "item": as_json(item)})

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
        self._entries[item_id] = session.conversation.add_message("user", f"{prefix} {transcript}".strip())
        set_transcript(item, transcript)
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
