"""The cluster's NATS connection and subjects (all under `vagus.<cluster name>.`):

heartbeat              every node's load, each `heartbeat_s` (registry.py reads it)
bye                    a node leaving on purpose (dropped at once, not after `dead_after_s`)
ended                  a session ended on some node (routers release the client's slot)
node.<id>.offer        request/reply: a WebRTC offer or a Realtime call, answered by that node
node.<id>.drain        request/reply: stop taking sessions, exit when the live ones are over
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

from vagus.config import ClusterConfig, ConfigError

log = logging.getLogger("vagus.cluster")

NODE_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class ClusterError(RuntimeError):
    """The cluster cannot be reached or used; the message says why."""


class Subjects:
    def __init__(self, name: str) -> None:
        self.prefix = f"vagus.{name}"
        self.heartbeat = f"{self.prefix}.heartbeat"
        self.bye = f"{self.prefix}.bye"
        self.ended = f"{self.prefix}.ended"

    def offer(self, node: str) -> str:
        return f"{self.prefix}.node.{node}.offer"

    def drain(self, node: str) -> str:
        return f"{self.prefix}.node.{node}.drain"


def check_node_id(node: str) -> str:
    if not NODE_ID.match(node):
        raise ConfigError(f"a node id is 1–64 letters, digits, '_' or '-': {node!r}")
    return node


async def connect(config: ClusterConfig, name: str) -> Any:
    """A NATS connection that reconnects by itself (a restarted NATS server is waited for)."""
    if not config.url:
        raise ConfigError("no cluster: set server.cluster.url or --cluster nats://HOST:4222")
    try:
        import nats
    except ImportError:
        raise ConfigError("cluster mode needs the NATS client: pip install 'vagus[cluster]'") from None

    servers = [u.strip() for u in config.url.split(",") if u.strip()]

    async def on_error(exc: Exception) -> None:
        log.warning("cluster connection: %s", exc)

    try:
        nc = await nats.connect(
            servers,
            name=name,
            connect_timeout=2,
            reconnect_time_wait=0.5,
            max_reconnect_attempts=2,  # the first connection: a few tries, then a clear error
            allow_reconnect=True,
            error_cb=on_error,
        )
    except Exception as exc:  # nats raises its own kinds, and OSError
        raise ClusterError(f"cannot reach the cluster at {config.url}: {exc or exc.__class__.__name__}") from None
    nc.options["max_reconnect_attempts"] = -1  # once in, a lost NATS server is waited for, however long
    return nc


def encode(data: dict[str, Any]) -> bytes:
    return json.dumps(data, separators=(",", ":")).encode()


def decode(raw: bytes) -> dict[str, Any]:
    data = json.loads(raw)
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    return data
