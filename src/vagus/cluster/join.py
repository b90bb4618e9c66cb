"""Joining a cluster (`vagus serve --cluster`), and `vagus cluster status|drain`."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from typing import Any

from vagus.cluster.bus import Subjects, check_node_id, connect, decode, encode
from vagus.cluster.node import ClusterNode
from vagus.cluster.registry import Registry
from vagus.cluster.router import ClusterSessions
from vagus.config import AgentConfig, ClusterConfig, ConfigError
from vagus.core.events import SessionEnded


def default_node_id() -> str:
    name = "".join(c if c.isalnum() or c in "_-" else "-" for c in socket.gethostname())[:40] or "node"
    return f"{name}-{os.getpid()}"


async def join_cluster(config: AgentConfig, local: Any, node_id: str | None, url: str) -> ClusterSessions:
    """This server's sessions over the cluster: with `local` (LocalSessions) it is a node that takes
    sessions too; without, a front door that only routes."""
    cc = config.server.cluster
    node_id = check_node_id(node_id or default_node_id())
    nc = await connect(cc, f"vagus-{node_id}")
    node = None
    if local is not None:
        host = local.gateway.host

        async def answer_offer(payload: dict[str, Any]) -> dict[str, Any]:
            from vagus.transports.webrtc import SignalingError

            sdp, kind, echo, user = (payload.get(k) for k in ("sdp", "type", "echo", "user"))
            if not all(isinstance(v, str) for v in (sdp, kind or "offer", echo or "browser")) or not (
                user is None or isinstance(user, str)
            ):
                raise SignalingError("a routed offer needs sdp, type and echo as strings")
            answer_sdp, answer_type, session_id = await local.accept(sdp, kind or "offer", echo or "browser", user)
            return {"sdp": answer_sdp, "type": answer_type, "session_id": session_id}

        async def no_calls(payload: dict[str, Any]) -> dict[str, Any]:
            from vagus.agent.host import HostFull

            raise HostFull("this node takes no Realtime calls")

        def draining() -> None:
            host.draining = True

        node = ClusterNode(
            nc, cc, node_id, url, local.describe().get("name", config.name), host.status, answer_offer, no_calls,
            draining, lambda: len(host),
        )  # fmt: skip

        def watch(session: Any) -> None:
            session.on(SessionEnded, lambda _e: node.session_ended(session.id))

        host.open_hooks.append(watch)
    router = ClusterSessions(nc, config, local, node)
    await router.start()  # hears its own node's first heartbeat
    if node is not None:
        await node.start()
    await nc.flush(timeout=2)
    return router


async def cluster_status(cc: ClusterConfig) -> list[dict[str, Any]]:
    """The live nodes, from their heartbeats over two heartbeat periods."""
    nc = await connect(cc, "vagus-status")
    registry = Registry(cc.dead_after_s)

    async def heard(msg: Any) -> None:
        with contextlib.suppress(ValueError, KeyError, TypeError):
            registry.heartbeat(decode(msg.data))

    try:
        await nc.subscribe(Subjects(cc.name).heartbeat, cb=heard)
        await asyncio.sleep(2 * cc.heartbeat_s + 0.3)
        return registry.summary()
    finally:
        await nc.close()


async def drain_node(cc: ClusterConfig, node_id: str) -> dict[str, Any]:
    nc = await connect(cc, "vagus-drain")
    try:
        msg = await nc.request(Subjects(cc.name).drain(check_node_id(node_id)), encode({}), timeout=5)
        return decode(msg.data)
    except Exception as exc:
        if isinstance(exc, ConfigError):
            raise
        raise ConfigError(
            f"node {node_id!r} did not answer ({exc.__class__.__name__}): is it in this cluster?"
        ) from None
    finally:
        await nc.close()
