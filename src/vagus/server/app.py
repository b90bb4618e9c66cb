"""The HTTP app: the talk page at `/`, WebRTC signaling at `POST /offer`, liveness at `/healthz` and the
load at `/status`. Sessions live behind a `Sessions` backend: this process's own host
(`LocalSessions`), or worker processes (`server/workers.py`, `vagus serve --workers N`).

Bad requests get a JSON error with a reason and the right status; nothing a client sends can take
the server down.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from importlib import resources
from typing import Any, Protocol

from aiohttp import web

from vagus.agent.host import HostFull
from vagus.agent.services import describe_services, recording_state
from vagus.brain.memory import USER_ID
from vagus.core.events import SessionEnded
from vagus.server.auth import (
    AccessDenied,
    ClientLimits,
    bearer,
    check_origin,
    key_matches,
    mint_token,
    verify_token,
)
from vagus.server.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from vagus.server.metrics import HostMetrics
from vagus.server.realtime import CALLS_KEY, client_secrets, hang_up, realtime_calls, realtime_socket
from vagus.server.tracing import trace_host
from vagus.transports.realtime.calls import RealtimeCalls
from vagus.transports.webrtc import SignalingError, WebRTCGateway

log = logging.getLogger("vagus.server")

MAX_BODY_BYTES = 64 * 1024
"""An SDP offer is a few kilobytes; anything far larger is refused before it is read."""

RETRY_AFTER_FULL_S = 10


class Access:
    """What the server asks of a caller (server/auth.py): `required` tokens whenever it is reachable
    beyond this machine or a secret is set."""

    def __init__(
        self,
        agent: str,
        secret: str | None = None,
        required: bool = False,
        api_key: str | None = None,
        allowed_origins: list[str] | None = None,
        token_ttl_s: float = 600,
        limits: ClientLimits | None = None,
    ) -> None:
        if required and not secret:
            raise ValueError("tokens are required but no secret signs them")
        self.agent, self.secret, self.required, self.api_key = agent, secret, required, api_key
        self.allowed_origins = allowed_origins or []
        self.token_ttl_s = token_ttl_s
        self.limits = limits or ClientLimits(20, 4)


class Sessions(Protocol):
    """Where sessions live: `accept` answers an offer (SignalingError: a bad offer; HostFull: no room)."""

    name: str

    async def accept(self, sdp: str, kind: str, echo: str, user: str | None = None) -> tuple[str, str, str]:
        """(answer sdp, answer type, session id); `user`: who is talking (for the agent's memory)"""
        ...

    def watch_end(self, session_id: str, callback: Callable[[], None]) -> None: ...

    def status(self) -> dict[str, Any]: ...

    def describe(self) -> dict[str, str]:
        """The agent's name and its providers (shown on the talk page)."""
        ...

    async def close(self) -> None: ...


class LocalSessions:
    """Sessions on this process's own host, through its WebRTC gateway."""

    def __init__(self, gateway: WebRTCGateway) -> None:
        self.gateway = gateway
        self.name = gateway.config.name
        self.host_metrics = watch_host(gateway.host)
        self.tracing = trace_host(gateway.host, gateway.config.server.otlp_endpoint)

    async def metrics(self) -> bytes:
        return self.host_metrics.exposition()

    async def accept(self, sdp: str, kind: str, echo: str, user: str | None = None) -> tuple[str, str, str]:
        answer, session_id = await self.gateway.accept(sdp, kind, echo, user)
        return answer.sdp, answer.type, session_id

    def watch_end(self, session_id: str, callback: Callable[[], None]) -> None:
        hosted = self.gateway.host.sessions.get(session_id)
        if hosted is None:
            callback()
            return
        hosted.session.on(SessionEnded, lambda _event: callback())

    def status(self) -> dict[str, Any]:
        return self.gateway.host.status()

    def ice_servers(self) -> list[dict[str, Any]]:
        return page_ice_servers(self.gateway.config)

    def describe(self) -> dict[str, str]:
        host = self.gateway.host
        name = host.agent.name if host.agent is not None and host.agent.name else host.config.name
        return {**describe_services(host.services, name), "recording": recording_state(host.config)}

    async def close(self) -> None:
        await self.gateway.close()
        if self.tracing is not None:
            await asyncio.to_thread(self.tracing.shutdown)  # sends what is left


def watch_host(host: Any) -> HostMetrics:
    """Prometheus metrics of a host's sessions and ticks."""
    metrics = HostMetrics()
    host.open_hooks.append(metrics.watch)
    host.on_tick_lateness = metrics.tick
    return metrics


def page_ice_servers(config: Any) -> list[dict[str, Any]]:
    """`server.ice_servers` in the browser's RTCIceServer shape."""
    out = []
    for server in config.server.ice_servers:
        entry: dict[str, Any] = {"urls": list(server.urls)}
        if server.username is not None:
            entry.update(username=server.username, credential=server.credential)
        out.append(entry)
    return out


SESSIONS_KEY = web.AppKey("sessions", Sessions)
ACCESS_KEY = web.AppKey("access", Access)


def _error(status: int, message: str, retry_after_s: float | None = None) -> web.Response:
    headers = {"Retry-After": str(max(1, round(retry_after_s)))} if retry_after_s is not None else None
    return web.json_response({"error": message}, status=status, headers=headers)


def _client(request: web.Request) -> str:
    return request.remote or "unknown"


def _admit_offer(request: web.Request) -> str | None:
    """Content type, origin, token and the client's budget, in that order (AccessDenied otherwise);
    the token's identity, if a token was required."""
    access = request.app[ACCESS_KEY]
    if request.content_type != "application/json":
        raise AccessDenied(415, "an offer must be sent as application/json")
    check_origin(request.headers.get("Origin"), str(request.url.origin()), access.allowed_origins)
    if access.required:
        token = bearer(request.headers.get("Authorization"))
        if token is None:
            raise AccessDenied(401, "a session token is required (Authorization: Bearer …; see `vagus token`)")
        identity: str | None = verify_token(token, access.secret or "", access.agent).identity
    else:
        identity = None
    access.limits.offer(_client(request))
    return identity


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


def packaged_file(package: str, name: str, types: dict[str, str]) -> web.Response:
    """`package/static/name` as a response, for the file types given (404 for anything else, for a
    path that leaves the folder, and for a file that is not there)."""
    suffix = name[name.rfind(".") :] if "." in name else ""
    if ".." in name.split("/") or name.startswith("/") or suffix not in types:
        raise web.HTTPNotFound()
    try:
        body = resources.files(package).joinpath("static", name).read_bytes()
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        raise web.HTTPNotFound() from None
    return web.Response(body=body, content_type=types[suffix], charset="utf-8")


async def static_file(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    if "/" in name:
        raise web.HTTPNotFound()
    return packaged_file("vagus.server", name, {".js": "application/javascript", ".css": "text/css"})


async def offer(request: web.Request) -> web.Response:
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        return _error(413, f"request body too large (limit {MAX_BODY_BYTES} bytes)")
    try:
        identity = _admit_offer(request)
    except AccessDenied as denied:
        return _error(denied.status, denied.reason, denied.retry_after_s)
    raw = await request.read()
    try:
        body = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError, ValueError):
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
    user = options.get("user")
    if identity is not None:
        user = identity  # a token says who this is; the page cannot claim someone else
    elif user is not None and (not isinstance(user, str) or not USER_ID.match(user)):
        return _error(400, "options.user is 1 to 128 letters, digits or _ . @ + -")
    sessions = request.app[SESSIONS_KEY]
    try:
        answer_sdp, answer_type, session_id = await sessions.accept(sdp, kind, echo, user)
    except SignalingError as exc:
        return _error(400, str(exc) or "the offer could not be negotiated")
    except HostFull as exc:
        return _error(503, str(exc), RETRY_AFTER_FULL_S)
    limits, client = request.app[ACCESS_KEY].limits, _client(request)
    limits.opened(client)
    sessions.watch_end(session_id, lambda: limits.closed(client))
    return web.json_response(
        {"sdp": answer_sdp, "type": answer_type, "session_id": session_id, "agent": sessions.describe()}
    )


async def ice_servers(request: web.Request) -> web.Response:
    """The STUN/TURN servers for the page's side (`server.ice_servers`), for whoever may open a session."""
    access = request.app[ACCESS_KEY]
    if access.required:
        token = bearer(request.headers.get("Authorization"))
        if token is None:
            return _error(401, "a session token is required (Authorization: Bearer …)")
        try:
            verify_token(token, access.secret or "", access.agent)
        except AccessDenied as denied:
            return _error(denied.status, denied.reason)
    servers = request.app[SESSIONS_KEY].ice_servers() if hasattr(request.app[SESSIONS_KEY], "ice_servers") else []
    return web.json_response({"ice_servers": servers})


async def favicon(request: web.Request) -> web.Response:
    return web.Response(status=204)


async def healthz(request: web.Request) -> web.Response:
    """Liveness: the process answers (nothing more, to anyone; load and draining are in /status)."""
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    """Readiness (a load balancer's or Kubernetes' probe): 200 while new sessions are taken here (or, on a
    cluster's node or front door, by some node), 503 while draining or full. Only that, to anyone."""
    state = request.app[SESSIONS_KEY].status()
    ready = bool(state.get("admitting")) and not state.get("draining")
    return web.json_response({"ready": ready}, status=200 if ready else 503)


async def status(request: web.Request) -> web.Response:
    """Load: sessions live, tick lateness p50/p99, CPU per session (what a load balancer reads).
    Needs the API key when one is set; refused on a reachable server without one."""
    refused = _operator_only(request, "the status")
    if refused is not None:
        return refused
    return web.json_response(request.app[SESSIONS_KEY].status())


def _operator_only(request: web.Request, what: str) -> web.Response | None:
    """The refusal for a caller without the API key (when one is set), or on a reachable server
    without one; None: the caller may read `what`."""
    access = request.app[ACCESS_KEY]
    if access.api_key is not None:
        if not key_matches(bearer(request.headers.get("Authorization")), access.api_key):
            return _error(401, "the API key is required (Authorization: Bearer …)")
    elif access.required:
        return _error(403, f"set server.api_key (VAGUS_API_KEY) to read {what} of a reachable server")
    return None


async def minting_request(request: web.Request, what: str) -> dict[str, Any] | web.Response:
    """The JSON object body of a request that mints a credential (a session token, a client secret),
    or the error response: minting needs the API key and a secret to sign with."""
    access = request.app[ACCESS_KEY]
    if access.api_key is None or access.secret is None:
        return _error(404, f"{what} is not enabled (set server.api_key and server.secret)")
    if not key_matches(bearer(request.headers.get("Authorization")), access.api_key):
        return _error(401, "the API key is required (Authorization: Bearer …)")
    try:
        body = json.loads(await request.read() or b"{}")
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError, ValueError):
        return _error(400, "body must be JSON")
    if not isinstance(body, dict):
        return _error(400, "body must be a JSON object")
    return body


async def metrics(request: web.Request) -> web.Response:
    """Prometheus metrics (server/metrics.py); guarded as /status is."""
    refused = _operator_only(request, "the metrics")
    if refused is not None:
        return refused
    sessions = request.app[SESSIONS_KEY]
    body = await sessions.metrics() if hasattr(sessions, "metrics") else b""
    return web.Response(body=body, headers={"Content-Type": METRICS_CONTENT_TYPE})


async def token(request: web.Request) -> web.Response:
    """Mint a session token for a caller holding the API key: `{"identity": "…"}` (optional)."""
    access = request.app[ACCESS_KEY]
    body = await minting_request(request, "token minting")
    if isinstance(body, web.Response):
        return body
    identity = body.get("identity", "user")
    if not isinstance(identity, str) or not 0 < len(identity) <= 200:
        return _error(400, "identity must be a string of 1-200 characters")
    minted = mint_token(access.secret, identity, access.agent, access.token_ttl_s)
    return web.json_response({"token": minted, "expires_in": int(access.token_ttl_s)})


def create_app(sessions: Sessions | WebRTCGateway, access: Access | None = None) -> web.Application:
    """`sessions`: where they live (a gateway is this process's own host); `access`: who may open
    them, by default anyone (a loopback-only server without a secret)."""
    if isinstance(sessions, WebRTCGateway):
        sessions = LocalSessions(sessions)
    app = web.Application(middlewares=[json_errors], client_max_size=MAX_BODY_BYTES)
    app[SESSIONS_KEY] = sessions
    app[ACCESS_KEY] = access or Access(sessions.name)
    local = sessions if isinstance(sessions, LocalSessions) else getattr(sessions, "local", None)
    if local is not None:  # this process has a host: its own Realtime calls (a cluster node routes them too)
        app[CALLS_KEY] = RealtimeCalls(local.gateway)
        if hasattr(sessions, "use_calls"):
            sessions.use_calls(app[CALLS_KEY])
    app.router.add_get("/", index)
    app.router.add_get("/static/{name}", static_file)
    app.router.add_post("/offer", offer)
    app.router.add_post("/token", token)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/health", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/status", status)
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/favicon.ico", favicon)
    app.router.add_get("/ice-servers", ice_servers)
    app.router.add_get("/v1/realtime", realtime_socket)
    app.router.add_post("/v1/realtime", realtime_calls)  # the beta's WebRTC address
    app.router.add_post("/v1/realtime/calls", realtime_calls)
    app.router.add_post("/v1/realtime/calls/{call_id}/hangup", hang_up)
    app.router.add_post("/v1/realtime/client_secrets", client_secrets)

    async def shutdown(app: web.Application) -> None:
        calls = app.get(CALLS_KEY)
        if calls is not None:
            await calls.close()
        await sessions.close()

    app.on_shutdown.append(shutdown)
    return app
