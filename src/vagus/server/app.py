"""The HTTP app: the talk page at `/`, WebRTC signaling at `POST /offer`, liveness at `/healthz` and the
host's load at `/status`.

Bad requests get a JSON error with a reason and the right status; nothing a client sends can take
the server down.
"""

from __future__ import annotations

import json
import logging
from importlib import resources
from typing import Any

from aiohttp import web

from vagus.agent.host import HostFull
from vagus.transports.webrtc import SignalingError, WebRTCGateway

log = logging.getLogger("vagus.server")

MAX_BODY_BYTES = 64 * 1024
"""An SDP offer is a few kilobytes; anything far larger is refused before it is read."""

GATEWAY_KEY = web.AppKey("gateway", WebRTCGateway)


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


@web.middleware
async def json_errors(request: web.Request, handler: Any) -> web.StreamResponse:
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        reason = {404: f"no such route: {request.method} {request.path}", 413: "request body too large"}.get(
            exc.status, exc.reason
        )
        return _error(exc.status, reason)
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return _error(500, "internal server error")


def _static(name: str) -> bytes:
    return resources.files("vagus.server").joinpath("static", name).read_bytes()


async def index(request: web.Request) -> web.Response:
    return web.Response(body=_static("index.html"), content_type="text/html")


async def static_file(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    types = {".js": "application/javascript", ".css": "text/css"}
    suffix = name[name.rfind(".") :] if "." in name else ""
    if "/" in name or suffix not in types:
        raise web.HTTPNotFound()
    try:
        body = _static(name)
    except (FileNotFoundError, IsADirectoryError):
        raise web.HTTPNotFound() from None
    return web.Response(body=body, content_type=types[suffix])


async def offer(request: web.Request) -> web.Response:
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        return _error(413, f"request body too large (limit {MAX_BODY_BYTES} bytes)")
    raw = await request.read()
    try:
        body = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return _error(400, 'body must be JSON: {"sdp": "...", "type": "offer"}')
    if not isinstance(body, dict):
        return _error(400, "body must be a JSON object")
    sdp, kind = body.get("sdp"), body.get("type", "offer")
    if not isinstance(sdp, str) or not sdp.strip():
        return _error(400, "missing field 'sdp' (a string)")
    if not isinstance(kind, str):
        return _error(400, "field 'type' must be a string")
    options = body.get("options") or {}
    if not isinstance(options, dict):
        return _error(400, "field 'options' must be an object")
    echo = options.get("echo", "browser")
    if not isinstance(echo, str):
        return _error(400, "options.echo must be a string")
    gateway = request.app[GATEWAY_KEY]
    try:
        answer, session_id = await gateway.accept(sdp, kind, echo)
    except SignalingError as exc:
        return _error(400, str(exc))
    except HostFull as exc:
        return _error(503, str(exc))
    return web.json_response({"sdp": answer.sdp, "type": answer.type, "session_id": session_id})


async def favicon(request: web.Request) -> web.Response:
    return web.Response(status=204)


async def healthz(request: web.Request) -> web.Response:
    """Liveness: the process answers. `draining` while it finishes its sessions before exiting."""
    host = request.app[GATEWAY_KEY].host
    return web.json_response({"status": "draining" if host.draining else "ok"})


async def status(request: web.Request) -> web.Response:
    """Load: sessions live, tick lateness p50/p99, CPU per session (what a load balancer reads)."""
    return web.json_response(request.app[GATEWAY_KEY].host.status())


def create_app(gateway: WebRTCGateway) -> web.Application:
    app = web.Application(middlewares=[json_errors], client_max_size=MAX_BODY_BYTES)
    app[GATEWAY_KEY] = gateway
    app.router.add_get("/", index)
    app.router.add_get("/static/{name}", static_file)
    app.router.add_post("/offer", offer)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/health", healthz)
    app.router.add_get("/status", status)
    app.router.add_get("/favicon.ico", favicon)

    async def shutdown(app: web.Application) -> None:
        await gateway.close()

    app.on_shutdown.append(shutdown)
    return app
