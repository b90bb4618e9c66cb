"""One worker process of `vagus serve --workers N`: its own models, session host and tick, serving
WebRTC sessions that the front (`server/workers.py`) routes to it.

It reads one JSON line from stdin (`{"config": …, "ice": […], "max_sessions": N}`: the config travels
over the pipe, not argv or the environment, because it may hold API keys), loads its models, listens
on a private Unix socket for the front's internal requests and prints `ready`. The media goes
straight between the client and this process: the SDP answer carries this process's ICE candidates.

Internal routes (reachable only through the socket, in a directory only this user can open):
`POST /offer` `{"sdp", "type", "echo", "user"}` → `{"sdp", "type", "session_id"}` (400/503 with an error);
`GET /status` → the host's status plus `session_ids` and `pid`; `GET /realtime` (WebSocket) → a
Realtime API connection relayed by the front, with its model, user and settings in `X-Vagus-Realtime`.

It ends on SIGTERM/SIGINT (draining its sessions for `server.drain_s`) or when its stdin closes
(the front has gone: nobody routes to it any more).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import signal
import sys
from pathlib import Path
from typing import Any

from aiohttp import web

from vagus.agent.host import HostFull, SessionHost
from vagus.config import AgentConfig
from vagus.logs import setup_logging
from vagus.server.app import watch_host
from vagus.server.realtime import CALLS_KEY, worker_call, worker_socket
from vagus.server.tracing import trace_host
from vagus.transports.realtime.calls import RealtimeCalls
from vagus.transports.webrtc import SignalingError, WebRTCGateway, allow_loopback_candidates

log = logging.getLogger("vagus.worker")

GATEWAY = web.AppKey("gateway", WebRTCGateway)


async def offer(request: web.Request) -> web.Response:
    gateway = request.app[GATEWAY]
    try:
        body = await request.json()
        sdp, kind, echo = body["sdp"], body.get("type", "offer"), body.get("echo", "browser")
        user = body.get("user")
    except (ValueError, KeyError, TypeError):
        return web.json_response({"error": "bad internal offer"}, status=400)
    try:
        answer, session_id = await gateway.accept(sdp, kind, echo, user)
    except SignalingError as exc:
        return web.json_response({"error": str(exc) or "the offer could not be negotiated"}, status=400)
    except HostFull as exc:
        return web.json_response({"error": str(exc)}, status=503)
    return web.json_response({"sdp": answer.sdp, "type": answer.type, "session_id": session_id})


async def status(request: web.Request) -> web.Response:
    host = request.app[GATEWAY].host
    return web.json_response({**host.status(), "session_ids": list(host.sessions), "pid": os.getpid()})


def internal_app(gateway: WebRTCGateway) -> web.Application:
    app = web.Application(client_max_size=256 * 1024)
    app[GATEWAY] = gateway
    app.router.add_post("/offer", offer)
    app.router.add_get("/status", status)
    host_metrics = watch_host(gateway.host)
    tracing = trace_host(gateway.host, gateway.config.server.otlp_endpoint)
    if tracing is not None:

        async def stop_tracing(app: web.Application) -> None:
            tracing.shutdown()

        app.on_shutdown.append(stop_tracing)

    async def metrics(request: web.Request) -> web.Response:
        return web.Response(body=host_metrics.exposition(), content_type="text/plain")

    app.router.add_get("/metrics", metrics)

    async def realtime(request: web.Request) -> web.StreamResponse:
        return await worker_socket(request, gateway.host)

    app[CALLS_KEY] = calls = RealtimeCalls(gateway)

    async def close_calls(app: web.Application) -> None:
        await calls.close()

    app.on_shutdown.append(close_calls)

    app.router.add_get("/realtime", realtime)
    app.router.add_post("/realtime/calls", worker_call)
    return app


class _FrontGone(asyncio.Protocol):
    """The front holds our stdin open; end of file means it has gone."""

    def __init__(self, stop: asyncio.Event) -> None:
        self._stop = stop

    def eof_received(self) -> None:
        self._stop.set()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop.set()


async def serve(config: AgentConfig, socket_path: Path, max_sessions: int, agent_spec: str | None = None) -> int:
    from vagus.agent.services import build_services

    agent = None
    if agent_spec:
        from vagus.api import load_agent

        agent = load_agent(agent_spec)  # the front checked it loads; its config is the front's
    services = agent.build_services(config) if agent is not None else build_services(config)
    host = SessionHost(services, config, max_sessions=max_sessions, agent=agent)
    gateway = WebRTCGateway(host)
    runner = web.AppRunner(internal_app(gateway), access_log=None, handle_signals=False)
    await runner.setup()
    await web.UnixSite(runner, str(socket_path)).start()
    host.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    stdin = os.fdopen(sys.stdin.fileno(), "rb", buffering=0, closefd=False)
    transport, _ = await loop.connect_read_pipe(lambda: _FrontGone(stop), stdin)
    print("ready", flush=True)
    await stop.wait()
    if len(host):
        log.info("worker %d draining %d sessions (up to %.0f s)", os.getpid(), len(host), config.server.drain_s)
    await host.drain(config.server.drain_s)
    await runner.cleanup()
    await gateway.close()
    await services.close()
    transport.close()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m vagus.server.worker")
    parser.add_argument("--socket", type=Path, required=True)
    args = parser.parse_args(argv)
    line = sys.stdin.buffer.readline()
    try:
        start: dict[str, Any] = json.loads(line)
        config = AgentConfig.model_validate(start["config"])
        logs = start.get("log", {})
        setup_logging(logs.get("level", "info"), logs.get("json_lines", True), logs.get("transcripts"))
    except (ValueError, KeyError, TypeError) as exc:
        print(f"vagus worker: bad start message: {exc}", file=sys.stderr)
        return 2
    if start.get("ice"):
        allow_loopback_candidates(list(start["ice"]))
    return asyncio.run(serve(config, args.socket, int(start["max_sessions"]), start.get("agent")))


if __name__ == "__main__":
    sys.exit(main())
