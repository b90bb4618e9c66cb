"""The cluster on a real NATS server (loopback), with nodes whose sessions are stand-ins (no models):
offers go to the least-loaded node and its answer comes back; a node that refuses is passed over, a bad
offer is not tried elsewhere; a node that stops beating is dropped and only its sessions end; a drained
node takes nothing new and says when its last session is over; `vagus cluster status` lists them.
The registry's choice and expiry are also checked on a virtual clock."""

from __future__ import annotations

import asyncio
import json
import tempfile
from pathlib import Path
from typing import Any

import pytest

from tests.nats_server import NatsServer
from vagus.agent.host import HostFull
from vagus.cluster.bus import connect
from vagus.cluster.join import cluster_status, drain_node
from vagus.cluster.node import ClusterNode
from vagus.cluster.registry import Registry
from vagus.cluster.router import ClusterSessions
from vagus.config import AgentConfig, ClusterConfig
from vagus.transports.webrtc import SignalingError


@pytest.fixture(scope="module")
def nats_url():
    server = NatsServer().start()
    yield server.url
    server.stop()


def cluster_config(url: str, name: str) -> AgentConfig:
    return AgentConfig.model_validate(
        {"server": {"cluster": {"url": url, "name": name, "heartbeat_s": 0.2, "dead_after_s": 0.6, "drain_s": 30}}}
    )


class StandIn:
    """A node whose sessions are names in a list: what the router sees of a host."""

    def __init__(self, nc: Any, config: AgentConfig, name: str, capacity: int = 4) -> None:
        self.name, self.capacity = name, capacity
        self.sessions: list[str] = []
        self.offers = 0
        self.refuse = False
        self.draining = False
        self.node = ClusterNode(
            nc, config.server.cluster, name, f"http://{name}:8080", "Test", self.load, self.offer, self.offer,
            self.start_draining, lambda: len(self.sessions),
        )  # fmt: skip

    def load(self) -> dict[str, Any]:
        n = len(self.sessions)
        return {"sessions": n, "max_sessions": self.capacity, "admitting": n < self.capacity and not self.draining,
                "process_cpu_percent": 10.0 * n, "tick_lateness_ms": {"p50": 0.1, "p99": 0.5}}  # fmt: skip

    async def offer(self, payload: dict[str, Any]) -> dict[str, Any]:
        self.offers += 1
        if payload["sdp"] == "bad":
            raise SignalingError("no audio in the offer")
        if self.refuse:
            raise HostFull("at capacity")
        session = f"{self.name}-s{len(self.sessions)}"
        self.sessions.append(session)
        return {"sdp": f"answer from {self.name}", "type": "answer", "session_id": session, "call_id": session}

    def start_draining(self) -> None:
        self.draining = True

    def end(self, session: str) -> None:
        self.sessions.remove(session)
        self.node.session_ended(session)


async def until(condition, timeout_s: float = 15.0) -> None:  # type: ignore[no-untyped-def]
    for _ in range(int(timeout_s / 0.05)):
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not met in time")


@pytest.fixture
async def cluster(nats_url, request):
    config = cluster_config(nats_url, request.node.name.replace("[", "_").replace("]", "")[:60])
    connections = [await connect(config.server.cluster, f"t{i}") for i in range(3)]
    router = ClusterSessions(connections[0], config)
    await router.start()
    nodes = [StandIn(connections[i + 1], config, name) for i, name in enumerate(("alpha", "beta"))]
    for n in nodes:
        await n.node.start()
    await until(lambda: len(router.registry.nodes) == 2)
    yield config, router, nodes, connections
    for n in nodes:
        await n.node.close()
    await router.close()
    for nc in connections[1:]:
        await nc.close()


async def test_offers_go_to_the_least_loaded_node_and_its_answer_comes_back(cluster):
    _, router, (alpha, beta), _ = cluster
    alpha.sessions += ["old-1", "old-2"]
    await alpha.node.beat()
    await until(lambda: router.registry.nodes["alpha"].sessions == 2)
    answers = [await router.accept("v=0 …", "offer", "browser") for _ in range(4)]
    assert [a[0] for a in answers[:2]] == ["answer from beta"] * 2
    assert (len(alpha.sessions), len(beta.sessions)) == (3, 3)  # spread as they filled
    realtime = await router.realtime_call("v=0 …", "gpt-realtime", None, None)
    assert realtime[0].startswith("answer from")
    assert router.status()["dispatch_ms"]["p50"] > 0


async def test_a_refusing_node_is_passed_over_and_a_bad_offer_is_not_retried(cluster):
    _, router, (alpha, beta), _ = cluster
    alpha.sessions.append("old")
    await alpha.node.beat()
    await until(lambda: router.registry.nodes["alpha"].sessions == 1)  # beta is asked first
    beta.refuse = True  # admits by its last heartbeat, refuses when asked (it filled meanwhile)
    assert (await router.accept("v=0 …", "offer", "browser"))[0] == "answer from alpha"
    assert (alpha.offers, beta.offers) == (1, 1)
    with pytest.raises(SignalingError, match="no audio"):
        await router.accept("bad", "offer", "browser")
    assert (alpha.offers, beta.offers) == (1, 2)  # the bad offer was asked of one node only
    alpha.refuse = True
    with pytest.raises(HostFull, match=r"no node can take a session now.*at capacity"):
        await router.accept("v=0 …", "offer", "browser")


async def test_a_node_that_stops_beating_is_dropped_and_only_its_sessions_end(cluster):
    _, router, (alpha, beta), connections = cluster
    ended: list[str] = []
    for _ in range(4):
        _, _, session = await router.accept("v=0 …", "offer", "browser")
        router.watch_end(session, lambda s=session: ended.append(s))
    assert len(alpha.sessions) == len(beta.sessions) == 2
    for task in list(alpha.node._tasks):  # the process froze: no heartbeat, no goodbye
        task.cancel()
    await connections[1].close()
    await until(lambda: "alpha" not in router.registry.nodes)
    assert sorted(ended) == sorted(alpha.sessions)  # beta's sessions go on
    assert (await router.accept("v=0 …", "offer", "browser"))[0] == "answer from beta"
    beta.end(beta.sessions[0])
    await until(lambda: len(ended) == 3)


async def test_a_drained_node_takes_nothing_new_and_finishes(cluster):
    config, router, (alpha, beta), _ = cluster
    _, _, session = await router.accept("v=0 …", "offer", "browser")
    on = alpha if alpha.sessions else beta
    other = beta if on is alpha else alpha
    reply = await drain_node(config.server.cluster, on.name)
    assert reply == {"node": on.name, "draining": True, "sessions": 1}
    await until(lambda: router.registry.nodes[on.name].draining)
    for _ in range(3):
        assert (await router.accept("v=0 …", "offer", "browser"))[0] == f"answer from {other.name}"
    assert not on.node.drained.is_set()  # its call goes on
    on.end(session)
    await asyncio.wait_for(on.node.drained.wait(), 10)


async def test_status_lists_the_nodes(cluster):
    config, router, _, _ = cluster
    nodes = await cluster_status(config.server.cluster)
    assert [n["node"] for n in nodes] == ["alpha", "beta"]
    assert nodes[0]["url"] == "http://alpha:8080" and nodes[0]["admitting"] and nodes[0]["max_sessions"] == 4
    status = router.status()
    assert status["admitting"] and [n["node"] for n in status["nodes"]] == ["alpha", "beta"]


async def test_a_node_that_leaves_is_dropped_at_once(cluster):
    _, router, (alpha, _), _ = cluster
    await alpha.node.close()
    await until(lambda: "alpha" not in router.registry.nodes, timeout_s=0.5)  # before it could expire


async def test_no_cluster_server_is_a_clear_error():
    from vagus.cluster.bus import ClusterError

    with pytest.raises(ClusterError, match=r"cannot reach the cluster at nats://127\.0\.0\.1:9"):
        await connect(ClusterConfig(url="nats://127.0.0.1:9"), "t")


class FakeLocal:
    """This process's own sessions (LocalSessions' part the router uses), over a stand-in node."""

    def __init__(self, node: StandIn) -> None:
        self.node = node
        self.watchers: dict[str, Any] = {}

    async def accept(self, sdp: str, kind: str, echo: str, user: str | None = None) -> tuple[str, str, str]:
        answer = await self.node.offer({"sdp": sdp})
        return answer["sdp"], answer["type"], answer["session_id"]

    def watch_end(self, session_id: str, callback: Any) -> None:
        self.watchers[session_id] = callback

    def end(self, session_id: str) -> None:
        self.node.end(session_id)
        self.watchers.pop(session_id)()

    def describe(self) -> dict[str, str]:
        return {"name": "Test"}

    def status(self) -> dict[str, Any]:
        return self.node.load()

    async def close(self) -> None:
        pass


async def test_a_node_takes_its_own_offers_while_the_nats_server_is_down():
    server = NatsServer().start()
    config = cluster_config(server.url, "outage")
    nc = await connect(config.server.cluster, "self")
    me = StandIn(nc, config, "self")
    router = ClusterSessions(nc, config, FakeLocal(me), me.node)
    await router.start()
    await me.node.start()
    try:
        await until(lambda: "self" in router.registry.nodes)
        server.stop()  # NATS is gone: no heartbeat comes back, the registry empties
        await until(lambda: not router.registry.nodes)
        ended: list[str] = []
        answer, _, session = await router.accept("v=0 …", "offer", "browser")
        assert answer == "answer from self"
        router.watch_end(session, lambda: ended.append(session))
        router.local.end(session)  # told by its own host, not over NATS
        assert ended == [session]
        me.refuse = True
        with pytest.raises(HostFull, match="at capacity"):
            await router.accept("v=0 …", "offer", "browser")
    finally:
        server.stop()
        for task in list(me.node._tasks):
            task.cancel()
        await router.close()


def test_a_node_that_restarted_under_the_same_id_has_lost_its_sessions():
    dropped: list[tuple[str, set[str]]] = []
    registry = Registry(3.0, clock=lambda: 0.0, on_dropped=lambda info, why: dropped.append((why, info.session_ids)))
    registry.heartbeat({"node": "a", "started": 100.0}).session_ids.add("s1")
    registry.heartbeat({"node": "a", "started": 100.0})  # the same process: its sessions go on
    assert dropped == [] and registry.nodes["a"].session_ids == {"s1"}
    registry.heartbeat({"node": "a", "started": 250.0})
    assert dropped == [("it restarted", {"s1"})] and registry.nodes["a"].session_ids == set()


def test_the_registry_chooses_by_load_and_expires_on_a_virtual_clock():
    now = [0.0]
    dropped: list[str] = []
    registry = Registry(3.0, clock=lambda: now[0], on_dropped=lambda info, why: dropped.append(f"{info.node}: {why}"))
    registry.heartbeat({"node": "a", "sessions": 5, "max_sessions": 10})
    registry.heartbeat({"node": "b", "sessions": 2, "max_sessions": 4})
    registry.heartbeat({"node": "c", "sessions": 0, "max_sessions": 4, "draining": True})
    registry.heartbeat({"node": "d", "sessions": 1, "max_sessions": 4, "admitting": False})
    assert [n.node for n in registry.candidates()] == ["a", "b"]  # 50 % each; a uses less CPU? tie → stable
    registry.nodes["a"].pending = 2  # offers in flight count as sessions
    assert [n.node for n in registry.candidates()] == ["b", "a"]
    now[0] = 2.0
    registry.heartbeat({"node": "b", "sessions": 2, "max_sessions": 4})
    now[0] = 3.5
    assert [n.node for n in registry.candidates()] == ["b"]
    assert dropped == ["a: no heartbeat for 3 s", "c: no heartbeat for 3 s", "d: no heartbeat for 3 s"]
    with pytest.raises(ValueError, match="two heartbeats"):
        ClusterConfig(heartbeat_s=2, dead_after_s=3)


async def test_the_cluster_commands(cluster, capsys):
    from vagus.cli import main

    config, _, _, _ = cluster
    url, name = config.server.cluster.url, config.server.cluster.name
    agent = Path(tempfile.mkdtemp()) / "agent.yaml"
    agent.write_text(f"server:\n  cluster: {{url: '{url}', name: {name}, heartbeat_s: 0.2, dead_after_s: 0.6}}\n")
    status = await asyncio.to_thread(main, ["cluster", "status", "--config", str(agent)])
    out = capsys.readouterr().out
    assert status == 0 and "alpha\thttp://alpha:8080\t0/4 sessions\tadmitting" in out and "2 nodes, 0 sessions" in out
    missing = await asyncio.to_thread(main, ["cluster", "drain", "nobody", "--config", str(agent)])
    assert missing == 2 and "node 'nobody' did not answer" in capsys.readouterr().err
    nowhere = await asyncio.to_thread(main, ["cluster", "status", "--cluster", "nats://127.0.0.1:9"])
    assert nowhere == 2 and "cannot reach the cluster" in capsys.readouterr().err


async def test_a_garbled_routed_request_gets_a_clear_refusal(cluster):
    _, _, (alpha, _), connections = cluster
    nc = connections[0]
    reply = await nc.request(alpha.node.subjects.offer("alpha"), b"not json", timeout=5)
    assert json.loads(reply.data) == {
        "status": 400,
        "error": "bad routed request: Expecting value: line 1 column 1 (char 0)",
    }
    reply = await nc.request(alpha.node.subjects.offer("alpha"), b'{"kind": "fax", "payload": {}}', timeout=5)
    assert json.loads(reply.data)["status"] == 400 and "unknown request 'fax'" in json.loads(reply.data)["error"]
    assert alpha.offers == 0
