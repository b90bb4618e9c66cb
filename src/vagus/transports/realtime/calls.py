"""The Realtime API over WebRTC (`POST /v1/realtime/calls`), as OpenAI's browser examples use it: the
page sends its SDP offer (with a microphone track and a data channel named `oai-events`), gets the
answer, hears the agent on the audio track and exchanges the same JSON events as the WebSocket on the
data channel. The agent's voice is media, not events: `output_audio_buffer.started|stopped|cleared`
say when it plays, and the client may stop it with `output_audio_buffer.clear`.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from aiortc import MediaStreamTrack
from aiortc.mediastreams import MediaStreamError

from vagus.transports.realtime.audio import SESSION_INPUT_RATE
from vagus.transports.realtime.connection import RealtimeConnection
from vagus.transports.webrtc import SignalingError, WebRTCGateway, answer_offer, check_offer, microphone

log = logging.getLogger("vagus.realtime.calls")

EVENTS_CHANNEL = "oai-events"
CALL_PREFIX = "rtc_"


class RealtimeCall:
    """One WebRTC call: its peer connection and the Realtime connection behind it."""

    def __init__(self, calls: RealtimeCalls, connection: RealtimeConnection, pc: Any) -> None:
        self.calls, self.connection, self.pc = calls, connection, pc
        assert connection.hosted is not None
        self.id = CALL_PREFIX + connection.hosted.id
        self.channel: Any = None
        self._reader: asyncio.Task[None] | None = None
        self._closing = False

    async def _send(self, text: str) -> None:
        channel = self.channel
        if channel is not None and channel.readyState == "open":
            channel.send(text)

    async def read_microphone(self, track: MediaStreamTrack) -> None:
        hosted = self.connection.hosted
        assert hosted is not None
        clock = hosted.session.clock
        try:
            async for pcm16k in microphone(track, self.calls.gateway.inactivity_timeout_s):
                self.connection.hear(pcm16k, clock.now() - len(pcm16k) / SESSION_INPUT_RATE)
        except MediaStreamError:
            pass
        finally:
            self.calls.close_later(self, "the caller's audio ended")

    async def close(self, reason: str) -> None:
        if self._closing:
            return
        self._closing = True
        await self.connection.close(reason)
        await self.pc.close()
        self.calls.calls.pop(self.id, None)
        log.info("realtime call %s closed: %s", self.id, reason)


class RealtimeCalls:
    """Accepts Realtime calls on the gateway's host, with the gateway's ICE servers and timeouts."""

    def __init__(self, gateway: WebRTCGateway) -> None:
        self.gateway = gateway
        self.calls: dict[str, RealtimeCall] = {}
        self._closing: set[asyncio.Task[None]] = set()

    def close_later(self, call: RealtimeCall, reason: str) -> None:
        task = asyncio.get_running_loop().create_task(call.close(reason))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    async def accept(
        self, sdp: str, model: str | None = None, user: str | None = None, initial: dict[str, Any] | None = None
    ) -> tuple[str, str]:
        """(answer SDP, call id); SignalingError for a bad offer, HostFull without room, SettingError
        for bad initial settings."""
        check_offer(sdp)
        host = self.gateway.host
        connection = RealtimeConnection(host, None, model, user, initial, audio_in_events=False)
        connection.open_session()  # HostFull: at the limit or draining
        pc = self.gateway.peer_connection()
        call = RealtimeCall(self, connection, pc)
        connection.attach(call._send)
        self.calls[call.id] = call
        try:
            await self._wire(call, sdp)
        except Exception as exc:
            await call.close("bad offer")
            if isinstance(exc, SignalingError):
                raise
            raise SignalingError(f"could not negotiate: {exc}") from None
        return pc.localDescription.sdp, call.id

    async def _wire(self, call: RealtimeCall, sdp: str) -> None:
        pc, connection = call.pc, call.connection
        hosted = connection.hosted
        assert hosted is not None
        got_audio = asyncio.Event()

        @pc.on("datachannel")
        def on_datachannel(channel: Any) -> None:
            if channel.label != EVENTS_CHANNEL or call.channel is not None:
                log.info("call %s: ignoring data channel %r", call.id, channel.label)
                return
            call.channel = channel

            @channel.on("message")
            def on_message(message: Any) -> None:
                if isinstance(message, str):
                    hosted.session.spawn(connection.handle(message), "realtime-event")
                else:
                    connection.error("events are JSON text messages, not binary", "invalid_event")

            @channel.on("close")
            def on_close() -> None:
                self.close_later(call, "the caller closed its data channel")

            hosted.session.spawn(connection.start_io(), "realtime-start")

        @pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            if track.kind == "audio" and call._reader is None:
                call._reader = hosted.session.spawn(call.read_microphone(track), "mic")
                got_audio.set()

        @pc.on("connectionstatechange")
        async def on_state() -> None:
            if pc.connectionState in ("failed", "closed"):
                await call.close(f"connection {pc.connectionState}")

        await answer_offer(pc, sdp, got_audio, hosted, self.gateway.jitter_prefetch)

    async def hang_up(self, call_id: str) -> bool:
        call = self.calls.get(call_id)
        if call is None:
            return False
        await call.close("hung up")
        return True

    async def close(self) -> None:
        await asyncio.gather(*(c.close("server shutdown") for c in list(self.calls.values())))


def parse_call_body(content_type: str, body: bytes, form: dict[str, str] | None) -> tuple[str, dict[str, Any] | None]:
    """The offer and optional session settings from `application/sdp` or a multipart form (`sdp`,
    `session`)."""
    if content_type == "application/sdp":
        return body.decode("utf-8", "replace"), None
    if form is None:
        raise SignalingError("send the offer as application/sdp, or multipart/form-data with 'sdp' and 'session'")
    sdp = form.get("sdp")
    if not sdp:
        raise SignalingError("the form has no 'sdp' field")
    session = form.get("session")
    if session is None:
        return sdp, None
    try:
        settings = json.loads(session)
    except ValueError:
        raise SignalingError("the form's 'session' field is not JSON") from None
    if not isinstance(settings, dict):
        raise SignalingError("the form's 'session' field must be a JSON object")
    return sdp, settings
