"""Soak: N aiortc clients talking to a real `vagus serve` at once, ramped past capacity.

Runs itself inside a loopback-only network namespace (`unshare -n`, as root), starts `vagus serve`
(the shipped default config, real models) as a child process, then adds one client every `--every`
seconds up to `--clients`. Each client plays the committed fixtures in a loop as its microphone and
counts the agent's frames it receives. Every second the server's `/status` is read.

Reports: sessions admitted and refused (503 with Retry-After), admitted sessions that died (their
connection failed or closed before the end), the server's p99 tick lateness and input frames dropped
(backlog), CPU per session, the server's RSS at start and end.

    sudo .venv/bin/python benchmarks/soak.py [--clients 24] [--every 2] [--seconds 120] [--workers 1]

`--workers N` runs `vagus serve --workers N`: the figures are then summed (sessions, dropped frames,
CPU) or the worst (tick lateness) over the workers, and RSS is the front's plus every worker's.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _netns import free_port, inside, reexec_in_namespace

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"


def in_namespace() -> bool:
    return inside()


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def rss_tree_mb(pid: int) -> float:
    """The server's resident memory with its worker processes."""
    children = Path(f"/proc/{pid}/task/{pid}/children")
    kids = [int(k) for k in children.read_text().split()] if children.exists() else []
    return rss_mb(pid) + sum(rss_tree_mb(k) for k in kids)


def combined(status: dict) -> dict:
    """One host's status, or the sum (the worst lateness) over `vagus serve --workers N`."""
    workers = [w for w in status.get("workers", []) if w.get("ready") and "tick_lateness_ms" in w]
    if "workers" not in status:
        return status
    if not workers:
        return {**status, "tick_lateness_ms": {"p99": 0.0}, "tick_ms": {"p50": 0.0}, "process_cpu_percent": 0.0,
                "dropped_input_frames": 0, "cpu_percent_per_session": 0.0}  # fmt: skip
    return {
        "sessions": sum(w["sessions"] for w in workers),
        "admitting": status["admitting"],
        "tick_lateness_ms": {"p99": max(w["tick_lateness_ms"]["p99"] for w in workers)},
        "tick_ms": {"p50": max(w["tick_ms"]["p50"] for w in workers)},
        "process_cpu_percent": sum(w["process_cpu_percent"] for w in workers),
        "dropped_input_frames": sum(w["dropped_input_frames"] for w in workers),
        "cpu_percent_per_session": max(w["cpu_percent_per_session"] for w in workers),
    }


class Client:
    def __init__(self, number: int) -> None:
        self.number = number
        self.state = "new"
        self.frames_in = 0
        self.died = False
        self.refused: str | None = None
        self.pc = None
        self._drain: asyncio.Future[None] | None = None

    async def run(self, url: str, stop: asyncio.Event) -> None:
        import aiohttp
        from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
        from aiortc.contrib.media import MediaPlayer

        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.pc = pc
        player = MediaPlayer(str(FIXTURES / "two_questions.wav"), loop=True)
        pc.addTrack(player.audio)

        @pc.on("track")
        def on_track(track) -> None:  # type: ignore[no-untyped-def]
            async def drain() -> None:
                try:
                    while True:
                        await track.recv()
                        self.frames_in += 1
                except Exception:
                    return

            self._drain = asyncio.ensure_future(drain())

        @pc.on("connectionstatechange")
        async def on_state() -> None:
            self.state = pc.connectionState
            if pc.connectionState in ("failed", "closed") and not stop.is_set() and self.refused is None:
                self.died = True

        await pc.setLocalDescription(await pc.createOffer())
        async with aiohttp.ClientSession() as http:
            body = {"sdp": pc.localDescription.sdp, "type": "offer"}
            async with http.post(f"{url}/offer", json=body) as response:
                answer = await response.json()
                if response.status != 200:
                    self.refused = (
                        f"{response.status} {answer.get('error')} (Retry-After {response.headers.get('Retry-After')})"
                    )
                    await pc.close()
                    player.audio.stop()
                    return
        await pc.setRemoteDescription(RTCSessionDescription(answer["sdp"], answer["type"]))
        await stop.wait()
        await pc.close()
        player.audio.stop()


async def soak(args: argparse.Namespace) -> None:
    import aiohttp

    from vagus.transports.webrtc import allow_loopback_candidates

    allow_loopback_candidates(["127.0.0.1"])
    port = free_port()
    # every client comes from 127.0.0.1: the per-address budgets would refuse them before the load does
    config = Path(tempfile.mkdtemp()) / "soak.yaml"
    config.write_text("server: {max_sessions_per_client: 10000, max_offers_per_minute: 10000}\n")
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "vagus",
            "--log-level",
            "warning",
            "serve",
            "--port",
            str(port),
            "--config",
            str(config),
            "--workers",
            str(args.workers),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=ROOT,
    )
    assert server.stdout is not None
    server.stdout.readline()  # "Vagus is listening…"
    url = f"http://127.0.0.1:{port}"
    await asyncio.sleep(1.0)
    rss_start = rss_tree_mb(server.pid)
    stop = asyncio.Event()
    clients: list[Client] = []
    tasks = []
    samples: list[dict] = []
    started = time.monotonic()
    next_client = started
    async with aiohttp.ClientSession() as http:
        while time.monotonic() - started < args.seconds:
            if len(clients) < args.clients and time.monotonic() >= next_client:
                client = Client(len(clients) + 1)
                clients.append(client)
                tasks.append(asyncio.ensure_future(client.run(url, stop)))
                next_client += args.every
            async with http.get(f"{url}/status") as response:
                status = combined(await response.json())
            samples.append(status)
            live = sum(1 for c in clients if c.refused is None and c.state == "connected")
            print(
                f"t={time.monotonic() - started:5.0f}s clients={len(clients):3d} connected={live:3d} "
                f"refused={sum(c.refused is not None for c in clients):3d} died={sum(c.died for c in clients):2d} "
                f"server: sessions={status['sessions']:3d} late p99={status['tick_lateness_ms']['p99']:6.1f} ms "
                f"tick p50={status['tick_ms']['p50']:5.1f} ms cpu={status['process_cpu_percent']:5.0f}% "
                f"dropped={status['dropped_input_frames']:5d} admitting={status['admitting']}",
                flush=True,
            )
            await asyncio.sleep(1.0)
    stop.set()
    await asyncio.gather(*tasks, return_exceptions=True)
    rss_end = rss_tree_mb(server.pid)
    server.terminate()
    server.wait(timeout=60)
    admitted = [c for c in clients if c.refused is None]
    summary = {
        "clients": len(clients),
        "admitted": len(admitted),
        "refused": len(clients) - len(admitted),
        "admitted_that_died": sum(c.died for c in admitted),
        "max_tick_lateness_p99_ms": max(s["tick_lateness_ms"]["p99"] for s in samples),
        "max_dropped_input_frames": max(s["dropped_input_frames"] for s in samples),
        "cpu_percent_per_session_at_peak": max(s["cpu_percent_per_session"] for s in samples),
        "server_rss_mb": [round(rss_start, 1), round(rss_end, 1)],
        "workers": args.workers,
        "process_cpu_percent_at_peak": max(s["process_cpu_percent"] for s in samples),
        "refusals": sorted({c.refused for c in clients if c.refused}),
    }
    print(json.dumps(summary, indent=2))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=24)
    parser.add_argument("--every", type=float, default=2.0, help="seconds between new clients")
    parser.add_argument("--seconds", type=float, default=120.0)
    parser.add_argument("--workers", type=int, default=1, help="vagus serve --workers")
    args = parser.parse_args()
    if not in_namespace():
        reexec_in_namespace()
    asyncio.run(soak(args))


if __name__ == "__main__":
    main()
