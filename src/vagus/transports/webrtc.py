"""WebRTC transport (aiortc): a browser or any WebRTC peer talks to a voice session.

Inbound audio arrives as Opus 48 kHz stereo, G.722 16 kHz or PCMU 8 kHz depending on negotiation; it
is mixed to mono and resampled to 16 kHz once per frame. Outbound audio is a track that, every 20 ms,
pulls one frame from the session's playout queue, so barge-in (emptying that queue) silences the
agent on the very next frame. Session events go to the peer as JSON over a data channel.
"""

from __future__ import annotations

import asyncio
import fractions
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import numpy as np
from aiortc import MediaStreamTrack, RTCConfiguration, RTCIceServer, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError
from av import AudioFrame as AvAudioFrame

from vagus.agent.host import HostedSession, SessionHost
from vagus.agent.session import INPUT_RATE
from vagus.audio.pcm import float_to_int16
from vagus.audio.resample import StreamResampler
from vagus.config import AgentConfig
from vagus.core.events import Event

log = logging.getLogger("vagus.webrtc")

OUTPUT_RATE = 48000
ECHO_CHOICES = ("browser", "server", "off")
"""Where echo is cancelled: in the browser (getUserMedia's canceller), on the server (AEC3 with the
audio we sent as reference), or nowhere (headphones)."""
FRAME_SECONDS = 0.02
MAX_MEDIA_SECTIONS = 8
"""A talking peer needs an audio section and perhaps a data channel; hundreds are an attack."""
_INT16 = 1.0 / 32768.0
MAX_MESSAGE_CHARS = 2000
"""A request from the page is a short JSON object."""


def allow_loopback_candidates(addresses: list[str]) -> None:
    """Make aioice offer these host addresses too (it leaves 127.0.0.1 out by default).

    Needed where the only interface is loopback, e.g. tests inside a network namespace.
    """
    import aioice.ice

    original = getattr(aioice.ice, "_vagus_original_get_host_addresses", aioice.ice.get_host_addresses)
    aioice.ice._vagus_original_get_host_addresses = original  # type: ignore[attr-defined]

    def get_host_addresses(use_ipv4: bool, use_ipv6: bool) -> list[str]:
        found = original(use_ipv4, use_ipv6)
        extra = [a for a in addresses if a not in found and ((":" in a and use_ipv6) or (":" not in a and use_ipv4))]
        return found + extra

    aioice.ice.get_host_addresses = get_host_addresses


def _shorten_jitter_buffer(pc: RTCPeerConnection, prefetch: int) -> None:
    """aiortc waits for 4 packets (~60 ms) before releasing audio; on a good link 1 is enough."""
    from aiortc.jitterbuffer import JitterBuffer

    for transceiver in pc.getTransceivers():
        receiver = transceiver.receiver
        if hasattr(receiver, "_RTCRtpReceiver__jitter_buffer") and transceiver.kind == "audio":
            receiver._RTCRtpReceiver__jitter_buffer = JitterBuffer(capacity=16, prefetch=prefetch)


def frame_to_mono_float(frame: AvAudioFrame) -> np.ndarray:
    """Any PyAV audio frame (s16/flt, packed/planar, any channel count) → mono float32."""
    data = frame.to_ndarray()
    channels = len(frame.layout.channels)
    if frame.format.is_planar:
        mono = data.mean(axis=0) if channels > 1 else data[0]
    else:
        flat = data.reshape(-1)
        mono = flat.reshape(-1, channels).mean(axis=1) if channels > 1 else flat
    if data.dtype == np.int16:
        return mono.astype(np.float32) * _INT16
    return mono.astype(np.float32, copy=False)


async def microphone(track: MediaStreamTrack, timeout_s: float) -> AsyncIterator[np.ndarray]:
    """A peer's audio track as 16 kHz mono float32 blocks, one per received frame. Ends when nothing
    has come for `timeout_s`: browsers send audio continuously, silence included, so a peer that
    sends nothing that long has gone (closed tab, lost network) even if ICE has not noticed.
    MediaStreamError when the track ends."""
    resampler: StreamResampler | None = None
    while True:
        try:
            frame = await asyncio.wait_for(track.recv(), timeout_s)
        except TimeoutError:
            return
        if not isinstance(frame, AvAudioFrame):
            continue  # an audio track yields audio frames; anything else is skipped
        pcm = frame_to_mono_float(frame)
        if resampler is None or resampler.from_rate != frame.sample_rate:
            resampler = StreamResampler(frame.sample_rate, INPUT_RATE)
        pcm16k = resampler.process(pcm)
        if pcm16k.size:
            yield pcm16k


async def answer_offer(
    pc: RTCPeerConnection, sdp: str, got_audio: asyncio.Event, hosted: HostedSession, jitter_prefetch: int
) -> None:
    """Take the offer, send the agent's voice back, answer (SignalingError for what the peer got wrong)."""
    try:
        await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
    except ValueError as exc:
        raise SignalingError(f"malformed SDP: {exc}") from None
    if not got_audio.is_set():
        raise SignalingError("the offer carries no audio track the agent can listen to")
    pc.addTrack(AgentAudioTrack(hosted))
    _shorten_jitter_buffer(pc, jitter_prefetch)
    await pc.setLocalDescription(await pc.createAnswer())


class AgentAudioTrack(MediaStreamTrack):
    """The agent's voice: the 20 ms frames at 48 kHz that the host's tick pulls for this session."""

    kind = "audio"

    def __init__(self, hosted: HostedSession) -> None:
        super().__init__()
        self._hosted = hosted
        self._timestamp = -int(OUTPUT_RATE * FRAME_SECONDS)
        self._time_base = fractions.Fraction(1, OUTPUT_RATE)
        self._silence = np.zeros(int(OUTPUT_RATE * FRAME_SECONDS), np.int16)

    async def recv(self) -> AvAudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        out = await self._hosted.next_output()
        if out is None:  # the session has closed
            raise MediaStreamError
        if out.any():
            pcm = float_to_int16(out)
        else:  # the agent is silent most of the time
            if self._silence.shape[0] != len(out):
                self._silence = np.zeros(len(out), np.int16)
            pcm = self._silence
        self._timestamp += len(pcm)
        frame = AvAudioFrame.from_ndarray(pcm.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = OUTPUT_RATE
        frame.pts = self._timestamp
        frame.time_base = self._time_base
        return frame


class WebRTCPeer:
    """One peer connection and the voice session behind it."""

    def __init__(self, gateway: WebRTCGateway, pc: RTCPeerConnection, hosted: HostedSession) -> None:
        self.gateway = gateway
        self.pc = pc
        self.hosted = hosted
        self.session = session = hosted.session
        self.channel: Any = None
        self._closing = False
        self._reader: asyncio.Task[None] | None = None
        self.frames_in = 0
        session.bus.subscribe(self._forward_event)

    def _forward_event(self, event: object) -> None:
        channel = self.channel
        if channel is None or channel.readyState != "open" or not isinstance(event, Event):
            return
        try:
            channel.send(json.dumps(event.to_dict()))
        except Exception:  # a closing channel must not disturb the audio path
            log.debug("dropping event for closing channel", exc_info=True)

    async def read_microphone(self, track: MediaStreamTrack) -> None:
        clock = self.session.clock
        try:
            async for pcm16k in microphone(track, self.gateway.inactivity_timeout_s):
                self.frames_in += 1
                self.hosted.feed(pcm16k, clock.now() - len(pcm16k) / INPUT_RATE)
            log.info("session %s: no audio for %.0f s", self.session.id, self.gateway.inactivity_timeout_s)
        except MediaStreamError:
            log.info("session %s: peer's audio ended", self.session.id)
        finally:
            self.gateway.close_later(self, "peer audio ended")

    def __repr__(self) -> str:
        return f"WebRTCPeer({self.session.id}, {self.pc.connectionState})"

    async def handle_message(self, message: Any) -> None:
        """A request from the page over the data channel: `{"type": "enroll", "name", "consent"}`
        enrols the person talking from their latest speech; the answer is an `enrolment` message."""
        try:
            request = json.loads(message) if isinstance(message, str) and len(message) <= MAX_MESSAGE_CHARS else None
        except ValueError:
            request = None
        if not isinstance(request, dict) or request.get("type") != "enroll":
            self._reply({"type": "error", "message": 'unknown request (expected {"type": "enroll", ...})'})
            return
        name, consent = request.get("name"), request.get("consent")
        try:
            if not isinstance(name, str):
                raise ValueError("say whose voice it is: a name")
            stored, seconds = await self.session.enrol(name, consent is True)
        except ValueError as exc:  # VaultError, EnrolmentError: the reason, for the person
            self._reply({"type": "enrolment", "ok": False, "message": str(exc)})
            return
        log.info("session %s: a voiceprint was enrolled from %.1f s of speech", self.session.id, seconds)
        self._reply({"type": "enrolment", "ok": True, "name": stored, "seconds": round(seconds, 1)})

    def _reply(self, payload: dict[str, Any]) -> None:
        channel = self.channel
        if channel is not None and channel.readyState == "open":
            channel.send(json.dumps(payload))

    async def close(self, reason: str) -> None:
        if self._closing:
            return
        self._closing = True
        await self.gateway.host.close_session(self.session.id, reason)
        await self.pc.close()
        self.gateway.peers.pop(self.session.id, None)
        log.info("session %s closed: %s", self.session.id, reason)


class SignalingError(ValueError):
    """The offer cannot be accepted; the message says why."""


def check_offer(sdp: str) -> None:
    """An SDP offer a talking peer could send (SignalingError otherwise)."""
    if not sdp.lstrip().startswith("v=0"):
        raise SignalingError("not an SDP: it must start with 'v=0'")
    if "m=audio" not in sdp:
        raise SignalingError("the offer has no audio section (m=audio)")
    sections = sum(1 for line in sdp.splitlines() if line.startswith("m="))
    if sections > MAX_MEDIA_SECTIONS:
        raise SignalingError(f"the offer has {sections} media sections (at most {MAX_MEDIA_SECTIONS})")


def ice_servers(config: AgentConfig) -> list[RTCIceServer]:
    """STUN/TURN servers for the server's side of each connection (the same list goes to the page)."""
    return [RTCIceServer(s.urls, s.username, s.credential) for s in config.server.ice_servers]


class WebRTCGateway:
    """Accepts SDP offers; each peer gets a session on the host, which drives it."""

    def __init__(self, host: SessionHost, jitter_prefetch: int = 1, inactivity_timeout_s: float = 5.0) -> None:
        self.host = host
        self.jitter_prefetch = jitter_prefetch
        self.inactivity_timeout_s = inactivity_timeout_s
        self.peers: dict[str, WebRTCPeer] = {}
        self._closing: set[asyncio.Task[None]] = set()

    def peer_connection(self) -> RTCPeerConnection:
        """A peer connection with the configured STUN/TURN servers (`server.ice_servers`)."""
        return RTCPeerConnection(RTCConfiguration(iceServers=ice_servers(self.config)))

    @property
    def config(self) -> AgentConfig:
        """The host's config: what new sessions get (the Studio may change it between sessions)."""
        return self.host.config

    def close_later(self, peer: WebRTCPeer, reason: str) -> None:
        """Close a peer from inside one of its own callbacks or tasks, without cancelling the caller."""
        task = asyncio.get_running_loop().create_task(peer.close(reason))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    def session_config(self, echo: str) -> AgentConfig:
        """Per-session front end: with the browser's own echo canceller (or none), ours is off."""
        if echo not in ECHO_CHOICES:
            raise SignalingError(f"options.echo must be one of {', '.join(ECHO_CHOICES)}, got {echo!r}")
        config = self.config.model_copy(deep=True)
        config.senses.echo.enabled = echo == "server"
        return config

    async def accept(
        self, sdp: str, kind: str = "offer", echo: str = "browser", user: str | None = None
    ) -> tuple[RTCSessionDescription, str]:
        """`user`: who is talking (a token's identity), for the agent's memory of them."""
        if kind != "offer":
            raise SignalingError(f"expected an SDP of type 'offer', got {kind!r}")
        check_offer(sdp)
        config = self.session_config(echo)
        hosted = self.host.open(OUTPUT_RATE, config, user=user)  # HostFull: at the limit or draining
        self.host.start()
        pc = self.peer_connection()
        peer = WebRTCPeer(self, pc, hosted)
        session = hosted.session
        self.peers[session.id] = peer
        try:
            await self._wire(peer, sdp)
        except Exception as exc:
            await peer.close("bad offer")
            if isinstance(exc, SignalingError):
                raise
            raise SignalingError(f"could not negotiate: {exc}") from None
        return pc.localDescription, session.id

    async def _wire(self, peer: WebRTCPeer, sdp: str) -> None:
        pc, session = peer.pc, peer.session
        got_audio = asyncio.Event()

        @pc.on("datachannel")
        def on_datachannel(channel: Any) -> None:
            peer.channel = channel

            @channel.on("message")
            def on_message(message: Any) -> None:
                session.spawn(peer.handle_message(message), "page-message")

            @channel.on("close")
            def on_close() -> None:
                self.close_later(peer, "peer closed its data channel")

        @pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            if track.kind == "audio" and peer._reader is None:
                peer._reader = session.spawn(peer.read_microphone(track), "mic")
                got_audio.set()

        @pc.on("connectionstatechange")
        async def on_state() -> None:
            log.info("session %s: connection %s", session.id, pc.connectionState)
            if pc.connectionState in ("failed", "closed"):
                await peer.close(f"connection {pc.connectionState}")

        await answer_offer(pc, sdp, got_audio, peer.hosted, self.jitter_prefetch)

    async def close(self) -> None:
        await asyncio.gather(*(peer.close("server shutdown") for peer in list(self.peers.values())))
        await self.host.close()
