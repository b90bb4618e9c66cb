"""The live nodes of a cluster as their heartbeats describe them.

A node is alive while its heartbeats keep coming: one missing for `dead_after_s` (a crash, a cut
network, a frozen process) drops it, and whoever routed sessions there is told (`on_dropped`) so the
clients' slots are released. A node that says `bye` is dropped at once. The choice of node is by load
as each node measures it (its host's admission: sessions against its limit, tick lateness, CPU),
plus the offers this router has in flight to it, so a burst is spread before the next heartbeat.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class NodeInfo:
    node: str
    url: str = ""
    sessions: int = 0
    max_sessions: int = 1
    admitting: bool = True
    draining: bool = False
    cpu_percent: float = 0.0
    lateness_p99_ms: float = 0.0
    agent: str = ""
    started: float = 0.0
    seen: float = 0.0
    """When the last heartbeat came (this process's monotonic clock)."""
    pending: int = 0
    """Offers this router sent it that are not answered yet."""
    session_ids: set[str] = field(default_factory=set)
    """Sessions this router placed there (released when they end or the node is dropped)."""

    @classmethod
    def from_heartbeat(cls, data: dict[str, Any], seen: float) -> NodeInfo:
        return cls(
            node=str(data["node"]),
            url=str(data.get("url", "")),
            sessions=int(data.get("sessions", 0)),
            max_sessions=max(1, int(data.get("max_sessions", 1))),
            admitting=bool(data.get("admitting", True)),
            draining=bool(data.get("draining", False)),
            cpu_percent=float(data.get("cpu_percent", 0.0)),
            lateness_p99_ms=float(data.get("lateness_p99_ms", 0.0)),
            agent=str(data.get("agent", "")),
            started=float(data.get("started", 0.0)),
            seen=seen,
        )

    def load(self) -> tuple[float, float]:
        """Sort key: the share of its sessions in use (offers in flight counted), then CPU."""
        return ((self.sessions + self.pending) / self.max_sessions, self.cpu_percent)

    def describe(self) -> dict[str, Any]:
        return {
            "node": self.node,
            "url": self.url,
            "agent": self.agent,
            "sessions": self.sessions,
            "max_sessions": self.max_sessions,
            "admitting": self.admitting,
            "draining": self.draining,
            "cpu_percent": self.cpu_percent,
            "lateness_p99_ms": self.lateness_p99_ms,
        }


class Registry:
    def __init__(
        self,
        dead_after_s: float,
        clock: Callable[[], float] = time.monotonic,
        on_dropped: Callable[[NodeInfo, str], None] | None = None,
    ) -> None:
        self.dead_after_s = dead_after_s
        self.clock = clock
        self.on_dropped = on_dropped
        self.nodes: dict[str, NodeInfo] = {}

    def heartbeat(self, data: dict[str, Any]) -> NodeInfo:
        """Take a node's heartbeat (KeyError/ValueError/TypeError: not one)."""
        fresh = NodeInfo.from_heartbeat(data, self.clock())
        known = self.nodes.get(fresh.node)
        if known is not None and known.started != fresh.started:  # the same id, a new process
            self.drop(fresh.node, "it restarted")
        elif known is not None:
            fresh.pending, fresh.session_ids = known.pending, known.session_ids
        self.nodes[fresh.node] = fresh
        return fresh

    def drop(self, node: str, why: str) -> None:
        info = self.nodes.pop(node, None)
        if info is not None and self.on_dropped is not None:
            self.on_dropped(info, why)

    def prune(self) -> list[str]:
        """Drop every node not heard from for `dead_after_s`; their ids."""
        now = self.clock()
        dead = [n for n, info in self.nodes.items() if now - info.seen > self.dead_after_s]
        for node in dead:
            self.drop(node, f"no heartbeat for {self.dead_after_s:g} s")
        return dead

    def candidates(self) -> list[NodeInfo]:
        """Nodes that take sessions now, least loaded first."""
        self.prune()
        ready = [n for n in self.nodes.values() if n.admitting and not n.draining]
        return sorted(ready, key=NodeInfo.load)

    def summary(self) -> list[dict[str, Any]]:
        self.prune()
        now = self.clock()
        return [
            {**n.describe(), "heard_s_ago": round(now - n.seen, 2)}
            for n in sorted(self.nodes.values(), key=lambda n: n.node)
        ]
