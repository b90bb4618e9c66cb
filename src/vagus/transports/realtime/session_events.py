"""Session events → Realtime server events: the user's turns as input-buffer events and user items,
each answer as a response with its items, transcript and audio, and the truth about interruptions."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np

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
from vagus.transports.realtime.items import ClientError, Response, as_json, new_id, set_transcript

log = logging.getLogger("vagus.realtime")

IDLE_NUDGE = "The user has said nothing for {seconds:.0f} seconds: check in with them in a few words."


class SessionEvents:
    """The server's side of `RealtimeConnection` (a mixin: the state lives on the connection)."""

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
        self._speech_item = new_id("item")
        self._emit({"type": "input_audio_buffer.speech_started", "audio_start_ms": self._audio_ms(event.speech_start),
                    "item_id": self._speech_item})  # fmt: skip

    def _interrupted(self, event: Interruption) -> None:
        if self._speech_item is None:
            self._speech_item = new_id("item")
            start_ms = self._audio_ms(event.speech_start)
            self._emit({"type": "input_audio_buffer.speech_started", "audio_start_ms": start_ms,
                        "item_id": self._speech_item})  # fmt: skip

    def _turn_ended(self, event: TurnEnded) -> None:
        item_id = self._speech_item or new_id("item")
        self._speech_item = item_id
        self._turn_items[event.turn] = item_id
        self._emit({"type": "input_audio_buffer.speech_stopped", "audio_end_ms": self._audio_ms(event.speech_end),
                    "item_id": item_id})  # fmt: skip

    def _transcript_final(self, event: TranscriptFinal) -> None:
        item_id = self._turn_items.pop(event.turn, None) or new_id("item")
        if self._speech_item == item_id:
            self._speech_item = None
        previous = self._last_item()
        self._emit({"type": "input_audio_buffer.committed", "item_id": item_id, "previous_item_id": previous})
        item = self._user_audio_item(item_id, None)
        self.items[item_id] = item
        self._order.append(item_id)
        self._emit({"type": "conversation.item.added", "previous_item_id": previous, "item": as_json(item)})
        set_transcript(item, event.text)
        self._transcribed(item_id, event.text, 0.0)
        self._emit({"type": "conversation.item.done", "previous_item_id": previous, "item": as_json(item)})

    def _turn_skipped(self, event: TurnSkipped) -> None:
        item_id = self._turn_items.pop(event.turn, None)
        if item_id is not None and self._speech_item == item_id:
            self._speech_item = None

    def _response_for(self, turn: int) -> Response:
        """The response of this turn of the session, created when it first says or does something."""
        response = self.responses.get(turn)
        if response is None:
            response = Response(new_id("resp"), list(self.settings.output_modalities), turn, rate=self.output_rate)
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
            item = {"id": new_id("item"), "object": "realtime.item", "type": "message", "role": "assistant",
                    "status": "in_progress", "content": []}  # fmt: skip
            response.message = item
            response.items.append(item)
            previous = self._last_item()
            self.items[item["id"]] = item
            self._order.append(item["id"])
            index = len(response.items) - 1
            self._emit({"type": "response.output_item.added", "response_id": response.id, "output_index": index,
                        "item": as_json(item)})  # fmt: skip
            self._emit({"type": "conversation.item.added", "previous_item_id": previous, "item": as_json(item)})
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
            item = {"id": new_id("item"), "object": "realtime.item", "type": "function_call", "status": "completed",
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
                        "item": {**as_json(item), "status": "in_progress", "arguments": ""}})  # fmt: skip
            self._emit({"type": "conversation.item.added", "previous_item_id": previous,
                        "item": {**as_json(item), "status": "in_progress", "arguments": ""}})  # fmt: skip
            self._emit({"type": "response.function_call_arguments.delta", **base, "delta": call["arguments"]})
            self._emit({"type": "response.function_call_arguments.done", **base, "name": call["name"],
                        "arguments": call["arguments"]})  # fmt: skip
            self._emit({"type": "response.output_item.done", "response_id": response.id, "output_index": index,
                        "item": as_json(item)})  # fmt: skip
            self._emit({"type": "conversation.item.done", "previous_item_id": previous, "item": as_json(item)})
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
                    "item": as_json(item)})  # fmt: skip
        position = self._order.index(item["id"])
        previous = self._order[position - 1] if position else None
        self._emit({"type": "conversation.item.done", "previous_item_id": previous, "item": as_json(item)})

    def _finish(self, response: Response) -> None:
        """response.done, once: completed, cancelled (turn_detected / client_cancelled) or failed."""
        if not response.created or response.done:
            return
        if response.message is not None and response.message.get("status") == "in_progress":
            self._close_message(response, interrupted=response.cancel_reason is not None)
        if response.cancel_reason is not None:
            status = "cancelled"
        elif response.failed is not None:
            status = "failed"
        else:
            status = "completed"
        response.answer_done = response.done = True
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
        self._emit({"type": "input_audio_buffer.timeout_triggered", "item_id": new_id("item"),
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
            "output": [as_json(i) for i in response.items] if status != "in_progress" else [],
            "conversation_id": "conv_" + (self.hosted.id if self.hosted is not None else "0"),
            "output_modalities": list(response.modalities),
            "max_output_tokens": self.settings.max_output_tokens,
            "audio": {"output": {"format": self.settings.output_format.to_json(), "voice": self.settings.voice}},
            "usage": None,
            "metadata": None,
        }

    _EVENT_HANDLERS: ClassVar[dict[type, Callable[[SessionEvents, Any], None]]] = {
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
