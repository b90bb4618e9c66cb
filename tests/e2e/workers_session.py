"""`vagus serve --workers 2` with two aiortc clients, run inside a loopback-only network namespace:

    unshare -n bash -c 'ip link set lo up && exec python tests/e2e/workers_session.py'

Two clients talk at once (the fixtures as microphones, events over a data channel); one worker is
killed; the other client's session must go on, the front must report the death and start a new
worker; SIGTERM ends the server with exit 0. Prints `REPORT {json}`.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import aiohttp
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.contrib.media import MediaPlayer
from processes import FIXTURES, ROOT, VAGUS, free_port, reap


class Client:
    def __init__(self, name: str) -> None:
        self.name = name
        self.events: list[dict] = []
        self.frames = 0
        self.session_id: str | None = None
        self.agent: dict = {}
        self.reader: asyncio.Future[None] | None = None
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.player = MediaPlayer(str(FIXTURES / "two_questions.wav"), loop=True)

    async def connect(self, http: aiohttp.ClientSession, url: str) -> int:
        pc = self.pc
        pc.addTrack(self.player.audio)
        channel = pc.createDataChannel("events")

        @channel.on("message")
        def on_message(message: str) -> None:
            self.events.append(json.loads(message))

        @pc.on("track")
        def on_track(track) -> None:  # type: ignore[no-untyped-def]
            async def drain() -> None:
                try:
                    while True:
                        await track.recv()
                        self.frames += 1
                except Exception:  # the connection ended
                    return

            self.reader = asyncio.ensure_future(drain())

        await pc.setLocalDescription(await pc.createOffer())
        body = {"sdp": pc.localDescription.sdp, "type": "offer", "options": {"echo": "browser"}}
        async with http.post(f"{url}/offer", json=body) as response:
            answer = await response.json()
            if response.status != 200:
                return response.status
        self.session_id = answer["session_id"]
        self.agent = answer["agent"]
        await pc.setRemoteDescription(RTCSessionDescription(answer["sdp"], answer["type"]))
        return 200

    def said(self) -> list[str]:
        return [e["text"] for e in self.events if e.get("type") == "transcript_final"]

    async def close(self) -> None:
        await self.pc.close()
        self.player.audio.stop()


async def until(check, timeout: float) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await check():
            return True
        await asyncio.sleep(0.25)
    return False


async def realtime_through_the_front(http: aiohttp.ClientSession, url: str) -> list[str]:
    """A Realtime API connection relayed by the front to a worker: a spoken question, its answer."""
    import base64

    import numpy as np

    from vagus.audio.resample import resample
    from vagus.audio.wav import read_audio

    audio, rate = read_audio(FIXTURES / "hello.wav")
    pcm = np.concatenate([resample(audio, rate, 24000), np.zeros(36000, np.float32)])
    data = (pcm * 32767).astype("<i2").tobytes()
    kinds: list[str] = []
    async with http.ws_connect(f"{url}/v1/realtime?model=vagus") as ws:
        await ws.send_json({"type": "input_audio_buffer.append", "audio": base64.b64encode(data).decode()})
        async with asyncio.timeout(60):
            async for message in ws:
                event = json.loads(message.data)
                kinds.append(event["type"])
                if event["type"] == "response.done":
                    kinds.append(event["response"]["status"])
                    break
    return kinds


async def realtime_call_through_the_front(http: aiohttp.ClientSession, url: str) -> list[str]:
    """A Realtime WebRTC call: the front relays the offer to a worker, whose answer it returns."""
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    # A live microphone never ends (a track that ends closes the call, before a slow answer): the
    # greeting, then a long quiet, looped. Not the greeting alone looped: every "Hello there." would
    # land before a slow answer and continue the same turn, which is then never answered.
    import numpy as np
    import soundfile as sf

    hello, rate = sf.read(FIXTURES / "hello.wav", dtype="int16")
    mic = Path(tempfile.mkdtemp()) / "hello_then_quiet.wav"
    sf.write(mic, np.concatenate([hello, np.zeros(30 * rate, np.int16)]), rate, subtype="PCM_16")
    player = MediaPlayer(str(mic), loop=True)
    pc.addTrack(player.audio)
    channel = pc.createDataChannel("oai-events")
    kinds: list[str] = []
    channel.on("message", lambda message: kinds.append(json.loads(message)["type"]))
    await pc.setLocalDescription(await pc.createOffer())
    async with http.post(
        f"{url}/v1/realtime/calls", data=pc.localDescription.sdp, headers={"Content-Type": "application/sdp"}
    ) as response:
        kinds.append(f"http {response.status}")
        answer = await response.text()
    await pc.setRemoteDescription(RTCSessionDescription(answer, "answer"))

    async def answered() -> bool:
        return "response.done" in kinds

    await until(answered, 60)
    await pc.close()
    player.audio.stop()
    return kinds


async def main() -> dict:
    from vagus.transports.webrtc import allow_loopback_candidates

    allow_loopback_candidates(["127.0.0.1"])
    port = free_port()
    config = Path(tempfile.mkdtemp()) / "workers.yaml"
    # admission by load is relaxed: on a busy machine (the suite beside other work) it would refuse the
    # second session, which is right for a server but not what this test is about
    config.write_text(
        "server: {drain_s: 2, admit_max_lateness_ms: 1000, admit_max_tick_fraction: 1.0, admit_max_cpu: 1024}\n"
        "tts: {provider: piper, noise_scale: 0, noise_w_scale: 0}\n"
    )
    server = subprocess.Popen(
        [*VAGUS, "serve", "--workers", "2", "--port", str(port), "--config", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    report: dict = {}
    url = f"http://127.0.0.1:{port}"
    clients = [Client("a"), Client("b")]
    try:
        assert server.stdout is not None
        report["banner"] = server.stdout.readline().strip()
        async with aiohttp.ClientSession() as http:

            async def status() -> dict:
                async with http.get(f"{url}/status") as response:
                    return await response.json()

            # bad offers get a clear 400 from the front (JSON checks) or from a worker (SDP checks)
            async with http.post(f"{url}/offer", json={"sdp": "v=0 not really", "type": "offer"}) as response:
                report["bad_sdp"] = (response.status, (await response.json()).get("error"))
            async with http.post(f"{url}/offer", data=b"{nope", headers={"Content-Type": "application/json"}) as r:
                report["bad_json"] = (r.status, (await r.json()).get("error"))
            first = await status()
            report["workers_at_start"] = [(w["pid"], w["ready"]) for w in first["workers"]]
            report["offers"] = [await clients[0].connect(http, url)]
            await asyncio.sleep(1.0)  # the front's next poll sees the first session
            report["offers"].append(await clients[1].connect(http, url))
            report["agent"] = clients[0].agent

            async def both_answered() -> bool:
                return all(c.said() for c in clients)

            report["both_answered"] = await until(both_answered, 60)
            routed = await status()
            report["sessions_per_worker"] = [w.get("sessions") for w in routed["workers"]]
            report["said"] = {c.name: c.said()[:1] for c in clients}
            a, b = clients
            victim = next(w for w in routed["workers"] if a.session_id in w["session_ids"])
            survivor = next(w for w in routed["workers"] if w["pid"] != victim["pid"])
            report["b_on_survivor"] = b.session_id in survivor["session_ids"]
            frames_before = b.frames
            os.kill(victim["pid"], signal.SIGKILL)

            async def restarted() -> bool:
                s = await status()
                return s["restarts"] >= 1 and all(w["ready"] for w in s["workers"])

            report["restarted"] = await until(restarted, 60)
            after = await status()
            report["deaths"] = after["worker_deaths"]
            report["survivor_kept_pid"] = any(w["pid"] == survivor["pid"] for w in after["workers"])
            report["survivor_sessions"] = next(w["sessions"] for w in after["workers"] if w["pid"] == survivor["pid"])
            await asyncio.sleep(1.0)
            report["survivor_frames_grew"] = b.frames > frames_before
            report["survivor_session_listed"] = any(
                b.session_id in w["session_ids"] for w in after["workers"] if w["pid"] == survivor["pid"]
            )
            report["new_pid"] = [w["pid"] for w in after["workers"] if w["pid"] != survivor["pid"]]
            report["victim_pid"] = victim["pid"]
            # a new session after the death goes to a ready worker
            late = Client("c")
            report["offer_after_death"] = await late.connect(http, url)
            clients.append(late)
            report["realtime"] = await realtime_through_the_front(http, url)
            report["realtime_call"] = await realtime_call_through_the_front(http, url)
            async with http.get(f"{url}/metrics") as response:
                report["metrics"] = [line for line in (await response.text()).splitlines()
                                     if line.startswith(("vagus_sessions_opened_total", "vagus_turns_total"))]  # fmt: skip
        for c in clients:
            await c.close()
        server.send_signal(signal.SIGTERM)
        report["exit_code"] = server.wait(timeout=60)
    finally:
        reap(server, report)
    return report


if __name__ == "__main__":
    print("REPORT " + json.dumps(asyncio.run(main())), flush=True)
