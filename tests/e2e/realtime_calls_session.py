"""The Realtime API over WebRTC (`POST /v1/realtime/calls`), run inside a loopback-only network namespace:

    unshare -n bash -c 'ip link set lo up && exec python tests/e2e/realtime_calls_session.py MIC.wav'

1. An aiortc client sends an offer as `application/sdp` with a microphone track (the WAV) and an
   `oai-events` data channel, and gets the answer, the events and the agent's voice.
2. Headless Debian Chromium runs a page written the way OpenAI's WebRTC guide shows (getUserMedia,
   `createDataChannel("oai-events")`, `fetch(…/v1/realtime/calls, {body: offer.sdp})` with a client
   secret), only the URL changed. Prints `REPORT {json}`.
"""

from __future__ import annotations

import asyncio
import json
import socket
import sys
import time

CHROMIUM = "/usr/bin/chromium"
KEY = "k" * 32
SECRET = "s" * 32

PAGE = """<!doctype html><meta charset="utf-8"><title>Realtime over WebRTC</title>
<script>
window.events = [];
window.state = "starting";
async function init(baseUrl, ephemeralKey) {
  try {
    const pc = new RTCPeerConnection();
    window.pc = pc;
    const audioEl = document.createElement("audio");
    audioEl.autoplay = true;
    pc.ontrack = (e) => (audioEl.srcObject = e.streams[0]);
    const ms = await navigator.mediaDevices.getUserMedia({ audio: true });
    pc.addTrack(ms.getTracks()[0]);
    const dc = pc.createDataChannel("oai-events");
    dc.addEventListener("message", (e) => window.events.push(JSON.parse(e.data)));
    dc.addEventListener("open", () => dc.send(JSON.stringify({
      type: "session.update",
      session: { type: "realtime", audio: { input: { transcription: { model: "whisper-1" } } } },
    })));
    const offer = await pc.createOffer();
    await pc.setLocalDescription(offer);
    const sdpResponse = await fetch(`${baseUrl}/v1/realtime/calls?model=vagus`, {
      method: "POST",
      body: offer.sdp,
      headers: { Authorization: `Bearer ${ephemeralKey}`, "Content-Type": "application/sdp" },
    });
    window.httpStatus = sdpResponse.status;
    window.location_header = sdpResponse.headers.get("Location");
    await pc.setRemoteDescription({ type: "answer", sdp: await sdpResponse.text() });
    window.state = "connected";
  } catch (err) {
    window.state = "failed: " + err;
  }
}
async function audioEnergy() {
  let energy = 0;
  (await window.pc.getStats()).forEach((r) => {
    if (r.type === "inbound-rtp" && r.kind === "audio") energy = r.totalAudioEnergy || 0;
  });
  return energy;
}
</script>"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def aiortc_call(url: str, mic_wav: str) -> dict:
    import aiohttp
    from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
    from aiortc.contrib.media import MediaPlayer

    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    player = MediaPlayer(mic_wav)
    pc.addTrack(player.audio)
    channel = pc.createDataChannel("oai-events")
    events: list[dict] = []
    frames = {"n": 0, "loud": 0}
    readers: list[asyncio.Future[None]] = []
    channel.on("message", lambda message: events.append(json.loads(message)))

    @pc.on("track")
    def on_track(track) -> None:  # type: ignore[no-untyped-def]
        async def drain() -> None:
            import numpy as np

            try:
                while True:
                    frame = await track.recv()
                    frames["n"] += 1
                    if np.abs(frame.to_ndarray()).max() > 1000:
                        frames["loud"] += 1
            except Exception:
                return

        readers.append(asyncio.ensure_future(drain()))

    await pc.setLocalDescription(await pc.createOffer())
    report: dict = {}
    async with aiohttp.ClientSession() as http:
        bad = await http.post(f"{url}/v1/realtime/calls", data="v=0 nothing", headers=auth("application/sdp"))
        report["bad_offer"] = (bad.status, (await bad.json())["error"])
        async with http.post(
            f"{url}/v1/realtime/calls?model=vagus", data=pc.localDescription.sdp, headers=auth("application/sdp")
        ) as response:
            report["status"] = response.status
            report["content_type"] = response.headers.get("Content-Type")
            report["location"] = response.headers.get("Location")
            answer = await response.text()
        await pc.setRemoteDescription(RTCSessionDescription(answer, "answer"))
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not any(e["type"] == "output_audio_buffer.stopped" for e in events):
            await asyncio.sleep(0.2)
        await asyncio.sleep(0.5)
        call_id = report["location"].rsplit("/", 1)[-1] if report["location"] else "none"
        hung = await http.post(f"{url}/v1/realtime/calls/{call_id}/hangup", headers=auth(None))
        report["hangup"] = hung.status
        again = await http.post(f"{url}/v1/realtime/calls/{call_id}/hangup", headers=auth(None))
        report["hangup_again"] = again.status
    report["events"] = [e["type"] for e in events]
    report["transcripts"] = [e.get("transcript") for e in events if e["type"].endswith("transcript.done")]
    report["frames"] = frames
    await pc.close()
    player.audio.stop()
    return report


def auth(content_type: str | None) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {KEY}"}
    if content_type:
        headers["Content-Type"] = content_type
    return headers


async def browser_call(url: str, mic_wav: str) -> dict:
    import aiohttp
    from playwright.async_api import async_playwright

    async with aiohttp.ClientSession() as http:
        minted = await http.post(f"{url}/v1/realtime/client_secrets", json={}, headers=auth(None))
        secret = (await minted.json())["value"]
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--use-fake-ui-for-media-stream",
                "--use-fake-device-for-media-stream", f"--use-file-for-fake-audio-capture={mic_wav}%noloop",
                "--allow-loopback-in-peer-connection", "--autoplay-policy=no-user-gesture-required",
                "--disable-features=WebRtcHideLocalIpsWithMdns",
            ],
        )  # fmt: skip
        page = await browser.new_page()
        console: list[str] = []
        page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
        await page.goto(f"{url}/oai-example")
        await page.evaluate(f"init({json.dumps(url)}, {json.dumps(secret)})")
        deadline = time.monotonic() + 60
        events: list[dict] = []
        while time.monotonic() < deadline:
            await asyncio.sleep(0.5)
            events = await page.evaluate("window.events")
            if any(e["type"] == "output_audio_buffer.stopped" for e in events):
                break
            if str(await page.evaluate("window.state")).startswith("failed"):
                break
        await asyncio.sleep(0.5)
        report = {
            "state": await page.evaluate("window.state"),
            "status": await page.evaluate("window.httpStatus"),
            "energy": await page.evaluate("audioEnergy()"),
            "events": [e["type"] for e in events],
            "errors": [e["error"] for e in events if e["type"] == "error"],
            "heard": [e.get("transcript") for e in events if e["type"].endswith("input_audio_transcription.completed")],
            "console": [c for c in console if c.startswith("error")][-10:],
        }
        report["insecure"] = await insecure_page(browser, url)
        await browser.close()
    return report


INSECURE_HOST = "10.99.0.1"
"""An address that exists only inside the test's namespace: a page from it over plain http is not a
secure context, as a server opened from another machine is not."""


async def insecure_page(browser, url: str) -> dict:  # type: ignore[no-untyped-def]
    page = await browser.new_page()
    await page.goto(url.replace("127.0.0.1", INSECURE_HOST) + "/")
    shown = await page.inner_text("#insecure")
    await page.click("#connect")
    await asyncio.sleep(0.5)
    result = {
        "shown": shown,
        "status": await page.inner_text("#status"),
        "secure": await page.evaluate("isSecureContext"),
    }
    await page.close()
    return result


async def main(mic_wav: str) -> dict:
    from aiohttp import web

    from vagus.agent.host import SessionHost
    from vagus.agent.services import build_services
    from vagus.config import load_config
    from vagus.server.app import Access, create_app
    from vagus.server.auth import ClientLimits
    from vagus.transports.webrtc import WebRTCGateway, allow_loopback_candidates

    allow_loopback_candidates(["127.0.0.1"])
    config = load_config(None, env={})
    config.server.admit_max_lateness_ms = 1000
    config.server.admit_max_tick_fraction = 1.0
    config.server.admit_max_cpu = 1024
    gateway = WebRTCGateway(SessionHost(build_services(config), config))
    app = create_app(gateway, Access(config.name, SECRET, True, KEY, [], 600, ClientLimits(100, 10)))

    async def example(request: web.Request) -> web.Response:
        return web.Response(text=PAGE, content_type="text/html")

    app.router.add_get("/oai-example", example)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    import subprocess

    subprocess.run(["ip", "addr", "add", f"{INSECURE_HOST}/32", "dev", "lo"], check=True)
    await web.TCPSite(runner, INSECURE_HOST, port).start()
    url = f"http://127.0.0.1:{port}"
    try:
        report = {"aiortc": await aiortc_call(url, mic_wav), "browser": await browser_call(url, mic_wav)}
        for _ in range(100):  # both calls end by themselves once their peers have gone
            if not gateway.host.sessions:
                break
            await asyncio.sleep(0.1)
        report["sessions_after"] = len(gateway.host.sessions)
    finally:
        await runner.cleanup()
    return report


if __name__ == "__main__":
    print("REPORT " + json.dumps(asyncio.run(main(sys.argv[1]))), flush=True)
