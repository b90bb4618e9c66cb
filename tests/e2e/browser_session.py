"""One real browser conversation, run inside a loopback-only network namespace.

Starts the Vagus server in-process on 127.0.0.1, opens the talk page in Debian's headless Chromium
(driven by Playwright, no downloaded browser) with a WAV file as the fake microphone, waits until the
server has transcribed the speech and the browser has received the agent's voice, and prints a JSON
report. Run by tests/e2e/test_browser.py as:
    unshare -n bash -c 'ip link set lo up && exec python tests/e2e/browser_session.py MIC.wav'
"""

from __future__ import annotations

import asyncio
import json
import socket
import sys
import time

CHROMIUM = "/usr/bin/chromium"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def main(mic_wav: str, query: str, timeout_s: float, mode: str = "full") -> dict:
    """mode 'full': wait for the whole answer; 'vanish': close the browser as soon as the agent speaks."""
    from aiohttp import web
    from playwright.async_api import async_playwright

    from vagus.agent.host import SessionHost
    from vagus.agent.services import build_services
    from vagus.config import load_config
    from vagus.server.app import create_app
    from vagus.transports.webrtc import WebRTCGateway, allow_loopback_candidates

    allow_loopback_candidates(["127.0.0.1"])
    config = load_config(None, env={})
    # two pages at once on a test machine that may be busy: admission by load is tested elsewhere
    config.server.admit_max_lateness_ms = 1000
    config.server.admit_max_tick_fraction = 1.0
    config.server.admit_max_cpu = 1024
    services = build_services(config)
    gateway = WebRTCGateway(SessionHost(services, config))
    runner = web.AppRunner(create_app(gateway))
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    report: dict = {"port": port}
    max_peers = 0

    async def watch_peers() -> None:
        nonlocal max_peers
        while True:
            max_peers = max(max_peers, len(gateway.peers))
            await asyncio.sleep(0.05)

    watcher = asyncio.get_running_loop().create_task(watch_peers())
    try:
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(
                executable_path=CHROMIUM,
                headless=True,
                args=[
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-quic",
                    "--no-first-run",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    "--use-fake-ui-for-media-stream",
                    "--use-fake-device-for-media-stream",
                    f"--use-file-for-fake-audio-capture={mic_wav}%noloop",
                    "--allow-loopback-in-peer-connection",
                    "--autoplay-policy=no-user-gesture-required",
                    "--disable-features=WebRtcHideLocalIpsWithMdns",
                ],
            )
            pages = 2 if mode == "full" else 1  # two people talking to the server at once
            results = await asyncio.gather(*(converse(browser, port, query, timeout_s, mode) for _ in range(pages)))
            report.update(results[0])
            report["pages"] = results
            report["concurrent_sessions_seen"] = max_peers
            await browser.close()
        # The browser has gone: the server must notice and end the session by itself.
        for _ in range(100):
            if not gateway.peers:
                break
            await asyncio.sleep(0.1)
        report["sessions_after_close"] = len(gateway.peers)
        import aiohttp

        async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{port}/status") as response:
            report["health_after"] = (await response.json())["sessions"]
    finally:
        watcher.cancel()
        await runner.cleanup()
    return report


async def converse(browser, port: int, query: str, timeout_s: float, mode: str) -> dict:  # type: ignore[no-untyped-def]
    """One page: connect, speak (the fake mic), wait for the answer (or vanish once it starts)."""
    context = await browser.new_context()
    page = await context.new_page()
    console: list[str] = []
    page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
    await page.goto(f"http://127.0.0.1:{port}/?{query}")
    deadline = time.monotonic() + timeout_s
    stats = None
    events: list = []
    while time.monotonic() < deadline:
        await asyncio.sleep(0.5)
        events = await page.evaluate("window.vagus.events")
        stats = await page.evaluate("window.vagus.audioStats()")
        state = await page.evaluate("window.vagus.state")
        if state == "failed":
            break
        if mode == "vanish" and any(e["type"] == "agent_speech_started" for e in events):
            break
        spoke = any(e["type"] == "agent_speech_stopped" for e in events)
        if spoke and stats and stats["totalAudioEnergy"] > 0:
            break
    result = {
        "state": await page.evaluate("window.vagus.state"),
        "error": await page.evaluate("window.vagus.error"),
        "session_id": await page.evaluate("window.vagus.sessionId"),
        "events": events,
        "audio": stats,
        "transcript": await page.inner_text("#transcript"),
        "brain": await page.inner_text("#brain"),
        "legend": await page.inner_text("#legend"),
        "thinking_hidden": await page.evaluate("document.getElementById('thinking').hidden"),
        "heard_split": await page.evaluate(
            "(() => { const li = addLine('agent', 'One two three four five.'); showHeard(li, 'One two');"
            " return [li.querySelector('.heard').textContent, li.querySelector('.unheard').textContent]; })()"
        ),
        "console": console[-20:],
    }
    await context.close()
    return result


if __name__ == "__main__":
    wav = sys.argv[1]
    query = sys.argv[2] if len(sys.argv) > 2 else "autostart=1&aec=off"
    timeout = float(sys.argv[3]) if len(sys.argv) > 3 else 45.0
    result = asyncio.run(main(wav, query, timeout, sys.argv[4] if len(sys.argv) > 4 else "full"))
    print("REPORT " + json.dumps(result))
