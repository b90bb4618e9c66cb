"""The offer router: this server's sessions, spread over the cluster (`Sessions` for server/app.py).

Each offer goes to the least-loaded live node that admits sessions (registry.py), by NATS
request/reply to that node, and that node's answer comes back as this server's answer: the browser's
media then flows straight to the node named in the SDP. A node that refuses (full, draining) or does
not answer in `offer_timeout_s` is passed over for the next; a bad offer (400) is the client's fault
and is not tried elsewhere. When this server is a node itself its own host is a candidate like the
others and is called directly (no hop). A front door (`--front-door`) has no host: routing only.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from vagus.agent.host import HostFull
from vagus.cluster.bus import Subjects, decode, encode
from vagus.cluster.node import Answer, ClusterNode
from vagus.cluster.registry import NodeInfo, Registry
from vagus.config import AgentConfig
from vagus.transports.webrtc import SignalingError

log = logging.getLogger("vagus.cluster")


class ClusterSessions:
    """Routes offers and Realtime calls over the cluster's nodes."""

    def __init__(self, nc: Any, config: AgentConfig, local: Any = None, node: ClusterNode | None = None) -> None:
        """`local`: this process's own sessions (LocalSessions) when it is a node, with `node`."""
        self.nc = nc
        self.config = config
        self.cluster = config.server.cluster
        self.name = config.name
        self.local, self.node = local, node
        self.subjects = Subjects(self.cluster.name)
        self.registry = Registry(self.cluster.dead_after_s, on_dropped=self._dropped)
        self._ended: dict[str, Callable[[], None]] = {}
        self._here: set[str] = set()
        """Sessions this router placed on its own host, until `watch_end` hands them to the host."""
        self._subs: list[Any] = []
        self._pruner: asyncio.Task[None] | None = None
        self.answer_call: Answer | None = None
        """This node's Realtime calls (set by the app when it has them)."""
        self._http: Any = None
        self.dispatch_ms: list[float] = []
        """Time spent routing each answered offer (choice, request, answer), for /status."""

    def use_calls(self, calls: Any) -> None:
        """This node's Realtime calls (the app's), for calls routed here by anyone."""
        from vagus.transports.realtime.calls import CALL_PREFIX

        async def answer(payload: dict[str, Any]) -> dict[str, Any]:
            sdp, model, user, session = (payload.get(k) for k in ("sdp", "model", "user", "session"))
            if not isinstance(sdp, str) or not all(v is None or isinstance(v, str) for v in (model, user)):
                raise SignalingError("a routed call needs its SDP (a string)")
            if session is not None and not isinstance(session, dict):
                raise SignalingError("a routed call's session must be an object")
            answer_sdp, call_id = await calls.accept(sdp, model, user, session)
            return {"sdp": answer_sdp, "call_id": call_id, "session_id": call_id.removeprefix(CALL_PREFIX)}

        self.answer_call = answer
        if self.node is not None:
            self.node.answer_call = answer

    async def start(self) -> None:
        self._subs.append(await self.nc.subscribe(self.subjects.heartbeat, cb=self._on_heartbeat))
        self._subs.append(await self.nc.subscribe(self.subjects.bye, cb=self._on_bye))
        self._subs.append(await self.nc.subscribe(self.subjects.ended, cb=self._on_ended))
        self._pruner = asyncio.ensure_future(self._prune())

    async def _prune(self) -> None:
        while True:
            await asyncio.sleep(self.cluster.heartbeat_s / 2)
            self.registry.prune()

    async def _on_heartbeat(self, msg: Any) -> None:
        try:
            self.registry.heartbeat(decode(msg.data))
        except (ValueError, KeyError, TypeError) as exc:
            log.warning("a heartbeat that is not one: %s", exc)

    async def _on_bye(self, msg: Any) -> None:
        with contextlib.suppress(ValueError, KeyError, TypeError):
            self.registry.drop(str(decode(msg.data)["node"]), "it left")

    async def _on_ended(self, msg: Any) -> None:
        with contextlib.suppress(ValueError, KeyError, TypeError):
            data = decode(msg.data)
            info = self.registry.nodes.get(str(data["node"]))
            if info is not None:
                info.session_ids.discard(str(data["session_id"]))
            self._release(str(data["session_id"]))

    def _release(self, session_id: str) -> None:
        callback = self._ended.pop(session_id, None)
        if callback is not None:
            callback()

    def _dropped(self, info: NodeInfo, why: str) -> None:
        if info.session_ids:
            log.warning("node %s dropped (%s): its %d sessions are over", info.node, why, len(info.session_ids))
        else:
            log.info("node %s dropped (%s)", info.node, why)
        for session_id in list(info.session_ids):
            self._release(session_id)

    # ---- routing ------------------------------------------------------------------------------------

    async def _route(
        self, kind: str, payload: dict[str, Any], local: Callable[[], Awaitable[dict[str, Any]]]
    ) -> dict[str, Any]:
        started = time.perf_counter()
        reasons: list[str] = []
        for info in self._candidates():
            info.pending += 1
            try:
                if self.node is not None and info.node == self.node.node_id:
                    if self.node.draining:
                        reasons.append(f"{info.node}: draining")
                        continue
                    try:
                        reply = {"status": 200, "node": info.node, **await local()}
                    except HostFull as exc:
                        reply = {"status": 503, "error": str(exc)}
                else:
                    reply = await self._ask(info, kind, payload)
            finally:
                info.pending -= 1
            status = reply.get("status")
            if status == 200:
                info.sessions += 1  # until its next heartbeat says otherwise
                self.dispatch_ms.append((time.perf_counter() - started) * 1000)
                del self.dispatch_ms[:-1000]
                return reply
            if status == 400:
                raise SignalingError(str(reply.get("error", "the offer could not be negotiated")))
            reasons.append(f"{info.node}: {reply.get('error', status)}")
        raise HostFull("no node can take a session now (" + "; ".join(reasons or ["no live node"]) + ")")

    def _candidates(self) -> list[NodeInfo]:
        """The registry's choice; and this node itself when its own heartbeats are not coming back
        (NATS is down or slow): a node keeps taking its own offers whatever happens to the cluster."""
        found = self.registry.candidates()
        node = self.node
        if node is not None and not node.draining and all(n.node != node.node_id for n in found):
            beat = node.heartbeat()
            if beat["admitting"]:
                found.append(NodeInfo.from_heartbeat(beat, self.registry.clock()))
        return found

    async def _ask(self, info: NodeInfo, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
        try:
            msg = await self.nc.request(
                self.subjects.offer(info.node),
                encode({"kind": kind, "payload": payload}),
                timeout=self.cluster.offer_timeout_s,
            )
            return decode(msg.data)
        except TimeoutError:
            return {"status": 504, "error": f"no answer in {self.cluster.offer_timeout_s:g} s"}
        except Exception as exc:  # no responders (it just died), a NATS outage, a garbled reply
            return {"status": 502, "error": exc.__class__.__name__}

    async def accept(self, sdp: str, kind: str, echo: str, user: str | None = None) -> tuple[str, str, str]:
        payload = {"sdp": sdp, "type": kind, "echo": echo, "user": user}

        async def here() -> dict[str, Any]:
            answer_sdp, answer_type, session_id = await self.local.accept(sdp, kind, echo, user)
            return {"sdp": answer_sdp, "type": answer_type, "session_id": session_id}

        reply = await self._route("offer", payload, here)
        self._placed(reply)
        return reply["sdp"], reply["type"], reply["session_id"]

    async def realtime_call(
        self, sdp: str, model: str | None, user: str | None, session: dict[str, Any] | None
    ) -> tuple[str, str]:
        payload = {"sdp": sdp, "model": model, "user": user, "session": session}

        async def here() -> dict[str, Any]:
            if self.answer_call is None:
                raise HostFull("this node takes no Realtime calls")
            return await self.answer_call(payload)

        reply = await self._route("call", payload, here)
        self._placed(reply)
        return reply["sdp"], reply["call_id"]

    def realtime_candidates(
        self, params: dict[str, Any], key: str | None
    ) -> list[tuple[str, Any, str, dict[str, str]]]:
        """Other nodes' Realtime WebSocket endpoints, least loaded first, for a connection this server
        cannot take (a front door, or a node that is full): relayed to the node's own `/v1/realtime`
        with the client's credential, where it is admitted again (nodes share the secret)."""
        from urllib.parse import urlencode

        if self._http is None or self._http.closed:
            import aiohttp

            self._http = aiohttp.ClientSession()
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        if params.get("beta"):
            headers["OpenAI-Beta"] = "realtime=v1"
        query = "?" + urlencode({"model": params["model"]}) if params.get("model") else ""
        mine = self.node.node_id if self.node is not None else None
        return [
            (f"node {n.node}", self._http, f"{n.url.rstrip('/')}/v1/realtime{query}", headers)
            for n in self.registry.candidates()
            if n.node != mine and n.url
        ]

    def peer_addresses(self) -> set[str]:
        """The cluster's nodes' addresses: a WebSocket relayed from one was admitted (and counted) there."""
        from urllib.parse import urlsplit

        mine = self.node.node_id if self.node is not None else None
        return {host for n in self.registry.nodes.values() if n.node != mine and (host := urlsplit(n.url).hostname)}

    def _placed(self, reply: dict[str, Any]) -> None:
        if self.node is not None and reply.get("node") == self.node.node_id:
            self._here.add(str(reply["session_id"]))
            return
        info = self.registry.nodes.get(str(reply.get("node")))
        if info is not None:
            info.session_ids.add(str(reply["session_id"]))

    def watch_end(self, session_id: str, callback: Callable[[], None]) -> None:
        """Call `callback` once the session ends on whichever node has it (or that node is dropped)."""
        if session_id in self._here:  # this process's own: told by its host, NATS or not
            self._here.discard(session_id)
            self.local.watch_end(session_id, callback)
            return
        if not any(session_id in n.session_ids for n in self.registry.nodes.values()):
            callback()
            return
        self._ended[session_id] = callback

    def watch_call_end(self, call_id: str, callback: Callable[[], None]) -> None:
        """`watch_end` for a Realtime call, by its id (`rtc_` and the session's id)."""
        from vagus.transports.realtime.calls import CALL_PREFIX

        self.watch_end(call_id.removeprefix(CALL_PREFIX), callback)

    # ---- the rest of Sessions -----------------------------------------------------------------------

    def __len__(self) -> int:
        return sum(n.sessions for n in self.registry.nodes.values())

    def describe(self) -> dict[str, str]:
        if self.local is not None:
            return self.local.describe()
        from vagus.agent.services import describe_config

        return describe_config(self.config)

    def ice_servers(self) -> list[dict[str, Any]]:
        from vagus.server.app import page_ice_servers

        return page_ice_servers(self.config)

    def status(self) -> dict[str, Any]:
        nodes = self.registry.summary()
        dispatch = sorted(self.dispatch_ms)
        return {
            "cluster": self.cluster.name,
            "node": self.node.node_id if self.node is not None else None,
            "nodes": nodes,
            "sessions": sum(n["sessions"] for n in nodes),
            "admitting": any(n["admitting"] and not n["draining"] for n in nodes),
            "draining": self.node.draining if self.node is not None else False,
            "dispatch_ms": {
                "p50": round(dispatch[len(dispatch) // 2], 2) if dispatch else 0.0,
                "p99": round(dispatch[min(len(dispatch) - 1, int(len(dispatch) * 0.99))], 2) if dispatch else 0.0,
            },
            **({"local": self.local.status()} if self.local is not None else {}),
        }

    async def metrics(self) -> bytes:
        if self.local is not None and hasattr(self.local, "metrics"):
            return await self.local.metrics()
        return b""

    async def close(self) -> None:
        if self._pruner is not None:
            self._pruner.cancel()
            await asyncio.gather(self._pruner, return_exceptions=True)
        for sub in self._subs:
            with contextlib.suppress(Exception):
                await sub.unsubscribe()
        if self.node is not None:
            await self.node.close()
        if self.local is not None:
            await self.local.close()
        if self._http is not None:
            await self._http.close()
        with contextlib.suppress(Exception):
            await self.nc.drain()
