"""What the end-to-end scripts share: Debian's Chromium and the flags every headless run takes, and a
free loopback port (the scripts run as `python tests/e2e/X.py`, so this is imported as `chromium`)."""

from __future__ import annotations

import socket

CHROMIUM = "/usr/bin/chromium"
QUIET = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]  # fmt: skip
"""Headless, and nothing that reaches for the network on its own."""


def with_microphone(wav: str) -> list[str]:
    """A WAV file as the microphone (played once), WebRTC on loopback addresses."""
    return [*QUIET, "--disable-quic", "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-audio-capture={wav}%noloop", "--allow-loopback-in-peer-connection",
            "--autoplay-policy=no-user-gesture-required", "--disable-features=WebRtcHideLocalIpsWithMdns"]  # fmt: skip


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def watched_page(browser):  # type: ignore[no-untyped-def]
    """A 1280×800 page, and the lists its console errors, page errors and requests go to."""
    page = await browser.new_page(viewport={"width": 1280, "height": 800})
    errors: list[str] = []
    requests: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: requests.append(r.url))
    return page, errors, requests
