"""A node's side of the cluster: announce its load, answer the offers routed to it, drain on request.

The heartbeat carries what the host's own admission measures (sessions against the limit, whether it
admits one more, tick lateness, CPU), so the router chooses on the same figures that would make this
node refuse. A routed offer is answered exactly as a direct one: the same gateway, limits and errors
(400 for a bad offer, 503 when full or draining). Draining stops new sessions; once the live ones are
over (or `cluster.drain_s` passed) `drained` is set and the server exits.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Awaitable, Callable
from typing import Any

from vagus.agent.host import HostFull
from vagus.cluster.bus import Subjects, decode, encode
from vagus.config import ClusterConfig
from vagus.transports.webrtc import SignalingError

log = logging.getLogger("vagus.cluster")

Answer = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]
"""Takes a routed request's payload and returns the answer's fields."""


class ClusterNode:
    def __init__(
        self,
        nc: Any,
        config: ClusterConfig,
        node_id: str,
        url: str,
        agent: str,
        load: Callable[[], dict[str, Any]],
        answer_offer: Answer,
        answer_call: Answer,
        start_draining: Callable[[], None],
        live_sessions: Callable[[], int],
    ) -> None:
        """`load`: the host's status; `answer_offer` / `answer_call`: a WebRTC offer / a Realtime call
        (raising SignalingError, HostFull or SettingError as the local endpoints do)."""
        self.nc, self.config, self.node_id, self.url, self.agent = nc, config, node_id, url, agent
        self.subjects = Subjects(config.name)
        self._load, self._answer_offer, self.answer_call = load, answer_offer, answer_call
        self._start_draining, self._live = start_draining, live_sessions
        self.started = time.time()
        self.draining = False
        self.drained = asyncio.Event()
        self._subs: list[Any] = []
        self._tasks: set[asyncio.Task[Any]] = set()

    async def start(self) -> None:
        self._subs.append(await self.nc.subscribe(self.subjects.offer(self.node_id), cb=self._on_offer))
        self._subs.append(await self.nc.subscribe(self.subjects.drain(self.node_id), cb=self._on_drain))
        await self.beat()
        self._spawn(self._beating())

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def heartbeat(self) -> dict[str, Any]:
        status = self._load()
        lateness = status.get("tick_lateness_ms", {})
        return {
            "node": self.node_id,
            "url": self.url,
            "agent": self.agent,
            "pid": os.getpid(),
            "started": round(self.started, 3),
            "sessions": int(status.get("sessions", 0)),
            "max_sessions": int(status.get("max_sessions", 1)),
            "admitting": bool(status.get("admitting", False)) and not self.draining,
            "draining": self.draining or bool(status.get("draining", False)),
            "cpu_percent": float(status.get("process_cpu_percent", 0.0)),
            "lateness_p99_ms": float(lateness.get("p99", 0.0)) if isinstance(lateness, dict) else 0.0,
        }

    async def beat(self) -> None:
        await self.nc.publish(self.subjects.heartbeat, encode(self.heartbeat()))

    async def _beating(self) -> None:
        while True:
            await asyncio.sleep(self.config.heartbeat_s)
            try:
                await self.beat()
            except Exception as exc:  # a NATS outage: it reconnects by itself; beat again then
                log.debug("heartbeat not sent: %s", exc)

    def session_ended(self, session_id: str) -> None:
        """Tell the routers (they release the client's slot)."""
        data = encode({"node": self.node_id, "session_id": session_id})
        self._spawn(self.nc.publish(self.subjects.ended, data))

    async def _on_offer(self, msg: Any) -> None:
        try:
            request = decode(msg.data)
            kind = request.get("kind")
            payload = request["payload"]
            if kind not in ("offer", "call") or not isinstance(payload, dict):
                raise ValueError(f"unknown request {kind!r}")
        except (ValueError, KeyError, TypeError) as exc:
            await msg.respond(encode({"status": 400, "error": f"bad routed request: {exc}"}))
            return
        if self.draining:
            await msg.respond(encode({"status": 503, "error": f"node {self.node_id} is draining"}))
            return
        from vagus.transports.realtime.settings import SettingError

        try:
            answer = await (self._answer_offer if kind == "offer" else self.answer_call)(payload)
            reply = {"status": 200, "node": self.node_id, **answer}
        except SignalingError as exc:
            reply = {"status": 400, "error": str(exc) or "the offer could not be negotiated"}
        except SettingError as exc:
            reply = {"status": 400, "error": f"{exc.param}: {exc}"}
        except HostFull as exc:
            reply = {"status": 503, "error": f"node {self.node_id}: {exc}"}
        except Exception as exc:  # never leave a router waiting for its timeout
            log.exception("routed offer failed")
            reply = {"status": 500, "error": f"node {self.node_id}: {exc.__class__.__name__}"}
        await msg.respond(encode(reply))
        await self.beat()  # the new load at once, not a heartbeat later

    async def _on_drain(self, msg: Any) -> None:
        self.drain()
        await msg.respond(encode({"node": self.node_id, "draining": True, "sessions": self._live()}))

    def drain(self) -> None:
        """Take no new session; `drained` is set when the live ones are over or `drain_s` passed."""
        if self.draining:
            return
        self.draining = True
        self._start_draining()
        log.info("node %s draining: %d live sessions, up to %.0f s", self.node_id, self._live(), self.config.drain_s)
        self._spawn(self.beat())
        self._spawn(self._wait_drained())

    async def _wait_drained(self) -> None:
        deadline = time.monotonic() + self.config.drain_s
        while self._live() and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
        self.drained.set()

    async def close(self) -> None:
        """Leave the cluster: routers drop this node at once."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for sub in self._subs:
            with contextlib.suppress(Exception):
                await sub.unsubscribe()
        with contextlib.suppress(Exception):
            await self.nc.publish(self.subjects.bye, encode({"node": self.node_id}))
            await self.nc.flush(timeout=2)
