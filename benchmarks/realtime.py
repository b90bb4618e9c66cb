"""The Realtime API's cost and latency against the talk page's own WebRTC path, offline models.

Latency, end of the user's speech → the agent's first audio at the client, interleaved rounds:

- **Realtime WebSocket**: the client streams the question as 24 kHz PCM16 in 20 ms chunks at the
  pace of a microphone; the end of speech is when the chunk holding the recording's last spoken
  sample was sent; first audio is the first `response.output_audio.delta` (and, in the `loud` row,
  the first one louder than -40 dBFS, as the WebRTC rows measure).
- **Realtime WebRTC** (`POST /v1/realtime/calls`) and **the talk page's path** (`POST /offer`): the same
  aiortc client, whose microphone track plays the recording in real time (the end of speech is when
  the frame holding its last spoken sample was handed to the sender); first audio is the first
  received RTP frame of the agent's voice louder than -40 dBFS (Opus, jitter buffer and all).

Cost: per client event (`input_audio_buffer.append` of 20 ms, decoded, resampled, queued) and per
20 ms of the agent's voice sent as an event (encoded, base64, JSON), in microseconds.

Runs itself in a loopback-only network namespace (root, `unshare -n`), like the tests:

    sudo .venv/bin/python benchmarks/realtime.py [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import fractions
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np
from _netns import free_port, inside, reexec_in_namespace

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
QUESTIONS = ["hello", "long_question"]
LOUD = 10 ** (-40 / 20)


def question(name: str) -> tuple[np.ndarray, float]:
    """The recording (16 kHz) with 4 s of silence after it, and where its speech ends (seconds)."""
    from vagus.audio.wav import read_audio

    audio, rate = read_audio(FIXTURES / f"{name}.wav")
    manifest = json.loads((FIXTURES / "manifest.json").read_text())
    end = manifest[name][-1]["end"]
    return np.concatenate([audio, np.zeros(4 * rate, np.float32)]), end


async def over_websocket(url: str, name: str, loud: bool = False) -> float:
    """`loud`: the first delta louder than -40 dBFS (as the WebRTC paths measure), not the first."""
    import aiohttp

    from vagus.audio.resample import resample

    audio, speech_end = question(name)
    pcm = (np.clip(resample(audio, 16000, 24000), -1, 1) * 32767).astype("<i2").tobytes()
    chunk = 960  # 20 ms of 24 kHz PCM16
    sent_end: float | None = None
    async with aiohttp.ClientSession() as http, http.ws_connect(f"{url}/v1/realtime?model=bench") as ws:
        await ws.receive()  # session.created
        start = time.perf_counter()

        async def microphone() -> None:
            nonlocal sent_end
            for i in range(0, len(pcm), chunk):
                await ws.send_str(json.dumps({"type": "input_audio_buffer.append",
                                              "audio": base64.b64encode(pcm[i : i + chunk]).decode()}))  # fmt: skip
                if sent_end is None and (i + chunk) / 48000 >= speech_end:
                    sent_end = time.perf_counter()
                await asyncio.sleep(max(0.0, start + (i + chunk) / 48000 - time.perf_counter()))

        task = asyncio.ensure_future(microphone())
        try:
            async for message in ws:
                event = json.loads(message.data)
                if event["type"] == "response.output_audio.delta":
                    assert sent_end is not None
                    pcm16 = np.frombuffer(base64.b64decode(event["delta"]), "<i2")
                    if not loud or np.abs(pcm16).max() / 32768 > LOUD:
                        return (time.perf_counter() - sent_end) * 1000
        finally:
            task.cancel()
    raise RuntimeError("no answer")


class Microphone:
    """An aiortc audio track that plays a recording in real time and notes when its speech ended."""

    def __init__(self, audio: np.ndarray, speech_end: float) -> None:
        from aiortc import MediaStreamTrack

        outer = self

        class Track(MediaStreamTrack):
            kind = "audio"

            async def recv(self):  # type: ignore[no-untyped-def]
                return await outer.next_frame()

        self.track = Track()
        self.audio = (np.clip(audio, -1, 1) * 32767).astype(np.int16)
        self.speech_end = speech_end
        self.pos = 0
        self.start: float | None = None
        self.sent_end: float | None = None

    async def next_frame(self):  # type: ignore[no-untyped-def]
        from av import AudioFrame

        if self.start is None:
            self.start = time.perf_counter()
        await asyncio.sleep(max(0.0, self.start + self.pos / 16000 - time.perf_counter()))
        block = self.audio[self.pos : self.pos + 320]
        if len(block) < 320:
            block = np.zeros(320, np.int16)
        frame = AudioFrame.from_ndarray(block.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = 16000
        frame.pts = self.pos
        frame.time_base = fractions.Fraction(1, 16000)
        self.pos += 320
        if self.sent_end is None and self.pos / 16000 >= self.speech_end:
            self.sent_end = time.perf_counter()
        return frame


async def over_webrtc(url: str, name: str, path: str) -> float:
    import aiohttp
    from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription

    audio, speech_end = question(name)
    mic = Microphone(audio, speech_end)
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    pc.addTrack(mic.track)
    pc.createDataChannel("oai-events" if path == "calls" else "events")
    heard: asyncio.Future[float] = asyncio.get_running_loop().create_future()
    listeners: list[asyncio.Future[None]] = []

    @pc.on("track")
    def on_track(track) -> None:  # type: ignore[no-untyped-def]
        async def listen() -> None:
            while not heard.done():
                frame = await track.recv()
                if mic.sent_end is not None and np.abs(frame.to_ndarray()).max() / 32768 > LOUD:
                    heard.set_result((time.perf_counter() - mic.sent_end) * 1000)

        listeners.append(asyncio.ensure_future(listen()))

    await pc.setLocalDescription(await pc.createOffer())
    async with aiohttp.ClientSession() as http:
        if path == "calls":
            async with http.post(f"{url}/v1/realtime/calls", data=pc.localDescription.sdp,
                                 headers={"Content-Type": "application/sdp"}) as response:  # fmt: skip
                answer = RTCSessionDescription(await response.text(), "answer")
        else:
            body = {"sdp": pc.localDescription.sdp, "type": "offer", "options": {"echo": "off"}}
            async with http.post(f"{url}/offer", json=body) as response:
                reply = await response.json()
                answer = RTCSessionDescription(reply["sdp"], reply["type"])
        await pc.setRemoteDescription(answer)
        try:
            return await asyncio.wait_for(heard, 60)
        finally:
            await pc.close()


async def event_costs(host) -> dict[str, float]:  # type: ignore[no-untyped-def]
    """µs per 20 ms append event handled, and per 20 ms of voice sent as an event."""
    from vagus.transports.realtime.connection import RealtimeConnection

    sent: list[str] = []

    async def send(text: str) -> None:
        sent.append(text)

    connection = RealtimeConnection(host, send, "bench")
    connection.open_session()
    await connection.start_io()
    tone = (np.sin(np.arange(480) * 0.1) * 8000).astype("<i2").tobytes()
    event = json.dumps({"type": "input_audio_buffer.append", "audio": base64.b64encode(tone).decode()})
    connection.settings.turn_detection.type = None  # manual: the audio waits in the buffer, unheard
    n = 3000
    start = time.perf_counter()
    for _ in range(n):
        await connection.handle(event)
    per_append = (time.perf_counter() - start) / n * 1e6
    frame = (np.sin(np.arange(480) * 0.05) * 0.3).astype(np.float32)
    from vagus.transports.realtime.items import Response

    response = Response("resp_bench", ["audio"], turn=1, created=True, speaking=True)
    response.message = {"id": "item_bench"}
    response.items.append(response.message)
    connection.active = response
    start = time.perf_counter()
    for _ in range(n):
        connection._on_output(frame)
    per_frame = (time.perf_counter() - start) / n * 1e6
    connection.active = None
    await connection.close()
    return {"append_us": per_append, "voice_frame_us": per_frame}


def summary(values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return f"median {statistics.median(values):6.0f} ms  p95 {p95:6.0f} ms  (n={len(values)})"


async def main(rounds: int) -> None:
    from aiohttp import web

    from vagus.agent.host import SessionHost
    from vagus.agent.services import build_services
    from vagus.config import load_config
    from vagus.server.app import create_app
    from vagus.transports.webrtc import WebRTCGateway, allow_loopback_candidates

    allow_loopback_candidates(["127.0.0.1"])
    config = load_config(None, env={})
    config.tts.noise_scale = 0  # type: ignore[attr-defined]
    config.tts.noise_w_scale = 0  # type: ignore[attr-defined]
    # one session at a time: admission by load (measured while models load) is not what is measured
    sc = config.server
    sc.admit_max_lateness_ms, sc.admit_max_tick_fraction, sc.admit_max_cpu = 1000, 1, 64
    host = SessionHost(build_services(config), config)
    runner = web.AppRunner(create_app(WebRTCGateway(host)))
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    url = f"http://127.0.0.1:{port}"
    results: dict[str, list[float]] = {"realtime websocket": [], "realtime websocket, loud": [],
                                       "realtime webrtc": [], "talk page webrtc": []}  # fmt: skip
    by_question: dict[tuple[str, str], list[float]] = {}
    try:
        for name in QUESTIONS:  # warm the models
            await over_websocket(url, name)
        for r in range(rounds):
            for name in QUESTIONS:
                paths = list(results)
                for path in paths[r % 4 :] + paths[: r % 4]:  # each path first in turn
                    if path.startswith("realtime websocket"):
                        ms = await over_websocket(url, name, loud=path.endswith("loud"))
                    else:
                        ms = await over_webrtc(url, name, "calls" if "realtime" in path else "offer")
                    results[path].append(ms)
                    by_question.setdefault((path, name), []).append(ms)
                    await asyncio.sleep(1.0)  # the previous session has closed
            print(f"round {r + 1}/{rounds} done", file=sys.stderr)
        costs = await event_costs(host)
    finally:
        await runner.cleanup()
    print(f"end of speech → first agent audio at the client ({', '.join(QUESTIONS)}; {rounds} rounds, offline models)")
    for path, values in results.items():
        each = ", ".join(f"{n} {statistics.median(by_question[(path, n)]):.0f}" for n in QUESTIONS)
        print(f"  {path:25s} {summary(values)}   medians: {each}")
    print(f"per input_audio_buffer.append event (20 ms of 24 kHz PCM16): {costs['append_us']:.0f} µs")
    print(f"per 20 ms of the agent's voice sent as response.output_audio.delta: {costs['voice_frame_us']:.0f} µs")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if not inside():
        reexec_in_namespace()
    sys.path.insert(0, str(ROOT))
    import logging

    logging.disable(logging.WARNING)
    asyncio.run(main(args.rounds))
