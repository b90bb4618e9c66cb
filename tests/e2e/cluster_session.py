"""A cluster of `vagus serve` nodes on one machine, each "host" its own network namespace, run inside a
loopback-only namespace (tests/e2e/netns.py) so nothing reaches the machine's own network:

    this namespace   10.77.0.254 on the bridge br0: the aiortc clients and `vagus cluster` commands
    host 1           10.77.0.1: nats-server
    host 2, host 3   10.77.0.2 / .3: `vagus serve --cluster nats://10.77.0.1:4222` (nodes a and b)

The addresses exist only inside the outer namespace. Offers are posted to node a: the first two land
one on each node (the SDP answer names the node's address and the media flows there: the agent answers
the spoken question); node b is killed and only its call ends; a new offer lands on a; b comes back and
is listed again; a is drained (`vagus cluster drain a`): new offers go to b, a's call goes on, and a
exits by itself once it ends; SIGTERM ends b. Prints `REPORT {json}`.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.e2e.workers_session import (
    Client,
    realtime_call_through_the_front,
    realtime_through_the_front,
    until,
)
from tests.nats_server import nats_binary

ROOT = Path(__file__).resolve().parents[2]
VAGUS = [sys.executable, "-m", "vagus", "--log-level", "warning"]
SECRET = "cluster-test-secret-" + "x" * 20
API_KEY = "cluster-test-key-" + "y" * 16
NATS = "nats://10.77.0.1:4222"


def sh(command: str) -> None:
    subprocess.run(["bash", "-c", command], check=True)


def on_host(index: int, argv: list[str], log: Path) -> subprocess.Popen[bytes]:
    """`argv` in a namespace of its own, joined to br0 as 10.77.0.INDEX."""
    inner = (
        "while ! ip link show eth0 >/dev/null 2>&1; do sleep 0.05; done; "
        f'ip link set lo up && ip addr add 10.77.0.{index}/24 dev eth0 && ip link set eth0 up && exec "$@"'
    )
    env = {**os.environ, "VAGUS_SECRET": SECRET, "VAGUS_API_KEY": API_KEY}
    process = subprocess.Popen(
        ["unshare", "-n", "bash", "-c", inner, "host", *argv], stdout=log.open("wb"), stderr=subprocess.STDOUT,
        env=env, cwd=ROOT,
    )  # fmt: skip
    sh(f"ip link add h{index}-{process.pid} type veth peer name eth0 netns {process.pid}")
    sh(f"ip link set h{index}-{process.pid} master br0 up")
    return process


def node(index: int, name: str, config: Path, logs: Path) -> subprocess.Popen[bytes]:
    argv = [*VAGUS, "serve", "--host", f"10.77.0.{index}", "--port", "8080", "--config", str(config),
            "--cluster", NATS, "--node-id", name]  # fmt: skip
    return on_host(index, argv, logs / f"node-{name}.log")


class TokenClient(Client):
    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.answer_sdp = ""

    async def offer(self, http: aiohttp.ClientSession, url: str) -> int:
        from vagus.server.auth import mint_token

        token = mint_token(SECRET, self.name, "Cluster Test", 600)
        async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"}) as own:
            code = await self.connect(own, url)
        self.answer_sdp = self.pc.remoteDescription.sdp if self.pc.remoteDescription else ""
        return code

    def node_address(self) -> str | None:
        for address in ("10.77.0.2", "10.77.0.3"):
            if address in self.answer_sdp:
                return address
        return None


def token_session(name: str) -> aiohttp.ClientSession:
    from vagus.server.auth import mint_token

    return aiohttp.ClientSession(headers={"Authorization": f"Bearer {mint_token(SECRET, name, 'Cluster Test', 600)}"})


async def realtime_with_token(url: str) -> list[str]:
    async with token_session("ws") as http:
        return await realtime_through_the_front(http, url)


async def realtime_call_with_token(url: str) -> list[str]:
    async with token_session("call") as http:
        return await realtime_call_through_the_front(http, url)


async def main() -> dict:
    work = Path(tempfile.mkdtemp())
    config = work / "cluster.yaml"
    config.write_text(
        "name: Cluster Test\n"
        "server:\n"
        "  admit_max_lateness_ms: 1000\n  admit_max_tick_fraction: 1.0\n  admit_max_cpu: 1024\n"
        "  cluster: {heartbeat_s: 0.5, dead_after_s: 2.5, drain_s: 600}\n"
        "tts: {provider: piper, noise_scale: 0, noise_w_scale: 0}\n"
    )
    sh("ip link add br0 type bridge && ip link set br0 up && ip addr add 10.77.0.254/24 dev br0")
    processes: dict[str, subprocess.Popen[bytes]] = {}
    report: dict = {}
    clients: list[TokenClient] = []
    try:
        processes["nats"] = on_host(1, [nats_binary(), "-a", "10.77.0.1", "-p", "4222"], work / "nats.log")
        processes["a"] = node(2, "a", config, work)
        processes["b"] = node(3, "b", config, work)
        front = [*VAGUS, "serve", "--host", "10.77.0.4", "--port", "8080", "--config", str(config), "--cluster", NATS,
                 "--front-door", "--node-id", "front"]  # fmt: skip
        processes["front"] = on_host(4, front, work / "front.log")
        front_url = "http://10.77.0.4:8080"
        a_url, b_url = "http://10.77.0.2:8080", "http://10.77.0.3:8080"
        async with aiohttp.ClientSession() as http:
            key = {"Authorization": f"Bearer {API_KEY}"}

            async def nodes_seen_by(url: str) -> list[str]:
                try:
                    async with http.get(f"{url}/status", headers=key, timeout=aiohttp.ClientTimeout(total=3)) as r:
                        return [n["node"] for n in (await r.json())["nodes"]] if r.status == 200 else []
                except (aiohttp.ClientError, TimeoutError):
                    return []

            async def both_up() -> bool:
                return await nodes_seen_by(a_url) == ["a", "b"] and await nodes_seen_by(b_url) == ["a", "b"]

            report["cluster_formed"] = await until(both_up, 180)
            # two offers through node a: one lands on each node, and each is answered there
            for name in ("one", "two"):
                client = TokenClient(name)
                clients.append(client)
                report.setdefault("offers", []).append(await client.offer(http, a_url))
                await asyncio.sleep(1.2)  # the next heartbeats carry the new load
            report["landed"] = [c.node_address() for c in clients]

            async def both_answered() -> bool:
                return all(c.said() for c in clients[:2])

            report["both_answered"] = await until(both_answered, 90)
            report["said"] = [c.said()[:1] for c in clients[:2]]
            survivor = next(c for c in clients if c.node_address() == "10.77.0.2")
            victim = next(c for c in clients if c.node_address() == "10.77.0.3")
            frames = survivor.frames
            started = time.monotonic()
            processes["b"].send_signal(signal.SIGKILL)  # the whole node dies: no goodbye

            async def b_dropped() -> bool:
                return await nodes_seen_by(a_url) == ["a"]

            report["b_dropped"] = await until(b_dropped, 30)
            report["b_dropped_after_s"] = round(time.monotonic() - started, 2)
            await asyncio.sleep(1.0)
            report["survivor_frames_grew"] = survivor.frames > frames
            report["victim_state"] = victim.pc.connectionState
            late = TokenClient("three")
            clients.append(late)
            report["offer_after_death"] = await late.offer(http, a_url)
            report["late_landed"] = late.node_address()
            # b comes back: the registry has it again
            processes["b"].wait()
            processes["b"] = node(3, "b", config, work)
            report["b_back"] = await until(both_up, 180)
            # a is drained: new sessions go to b, a's calls go on, and a exits once they end
            drained = subprocess.run([*VAGUS, "cluster", "drain", "a", "--cluster", NATS], capture_output=True,
                                     text=True, cwd=ROOT, timeout=60)  # fmt: skip
            report["drain_command"] = (drained.returncode, drained.stdout.strip())
            await asyncio.sleep(1.2)
            after_drain = TokenClient("four")
            clients.append(after_drain)
            report["offer_while_a_drains"] = await after_drain.offer(http, a_url)
            report["drain_landed"] = after_drain.node_address()
            frames = survivor.frames
            await asyncio.sleep(1.0)
            report["a_call_goes_on"] = survivor.frames > frames and processes["a"].poll() is None
            for client in (survivor, late):
                await client.close()
            try:
                report["a_exit"] = await asyncio.to_thread(processes["a"].wait, 60)
            except subprocess.TimeoutExpired:
                report["a_exit"] = None
            status = subprocess.run([*VAGUS, "cluster", "status", "--cluster", NATS, "--json"], capture_output=True,
                                    text=True, cwd=ROOT, timeout=60)  # fmt: skip
            report["status_after"] = json.loads(status.stdout)["nodes"] if status.returncode == 0 else status.stderr
            # the front door (no models): an offer, a Realtime WebSocket (relayed) and a Realtime call (routed)
            door = TokenClient("door")
            clients.append(door)
            report["front_offer"] = (await door.offer(http, front_url), door.node_address())
            report["front_realtime"] = await realtime_with_token(front_url)
            report["front_call"] = await realtime_call_with_token(front_url)
            async with http.get(f"{front_url}/status", headers=key) as response:
                front_status = await response.json()
            report["front_dispatch_ms"] = front_status["dispatch_ms"]
        for client in clients:
            await client.close()
        processes["b"].send_signal(signal.SIGTERM)
        report["b_exit"] = await asyncio.to_thread(processes["b"].wait, 60)
    finally:
        for process in processes.values():
            if process.poll() is None:
                process.kill()
                process.wait()
        report["logs"] = {p.name: p.read_text(errors="replace")[-1500:] for p in work.glob("*.log")}
    return report


if __name__ == "__main__":
    print("REPORT " + json.dumps(asyncio.run(main())), flush=True)
