"""The OpenAI-Realtime-compatible endpoints of `vagus serve`.

- `GET /v1/realtime?model=…` (WebSocket): the Realtime protocol (`transports/realtime/`), as the
  official SDKs open it from `base_url` (http → ws). Credentials: `Authorization: Bearer KEY`, or for
  browsers (which cannot set headers on a WebSocket) the subprotocols `realtime` and
  `openai-insecure-api-key.KEY`.
- `POST /v1/realtime/calls` (WebRTC): an SDP offer (`application/sdp`, or a multipart form with `sdp`
  and `session`) answered with 201, the SDP answer and `Location: /v1/realtime/calls/{id}`; the
  events travel on the caller's `oai-events` data channel (`transports/realtime/calls.py`).
- `POST /v1/realtime/client_secrets`: a short-lived client secret (`ek_…`) for a browser, minted for a
  caller holding the API key, optionally with the session's settings (`{"session": {…},
  "expires_after": {"anchor": "created_at", "seconds": 600}}`, 10 to 7200 s).

What a credential is, exactly as for `/offer`: on a server that requires tokens (reachable beyond
loopback, or a secret set), the API key, a session token (`vagus token`, `POST /token`) or a client
secret; on a loopback-only server without a secret, anyone on this machine (a key sent is ignored),
but a browser page from another web origin is refused. Keys are compared in constant time and never
logged.

With worker processes (`--workers N`) the connection is relayed to the least-loaded worker over its
private socket; the session runs there.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any

import aiohttp
from aiohttp import web

from vagus.agent.host import HostFull, SessionHost
from vagus.server.auth import AccessDenied, bearer, check_origin, key_matches, mint_token, verify_token
from vagus.transports.realtime.calls import RealtimeCalls, parse_call_body
from vagus.transports.realtime.connection import RealtimeConnection
from vagus.transports.realtime.items import MAX_EVENT_CHARS
from vagus.transports.realtime.settings import RealtimeSettings, SettingError
from vagus.transports.webrtc import SignalingError

log = logging.getLogger("vagus.server.realtime")

SUBPROTOCOL_KEY = "openai-insecure-api-key."
CLIENT_SECRET_PREFIX = "ek_"
SECRET_TTL_S = (10, 7200, 600)
"""A client secret lives between 10 s and 2 hours, 10 minutes unless asked otherwise (as OpenAI's)."""
WS_MAX_MESSAGE = MAX_EVENT_CHARS + 1024
BINARY_REFUSED = {
    "type": "error",
    "event_id": "event_relay",
    "error": {"type": "invalid_request_error", "code": "invalid_event", "param": None, "event_id": None,
              "message": "events are JSON text messages, not binary"},
}  # fmt: skip


def offered_key(request: web.Request) -> str | None:
    """The credential from `Authorization: Bearer …` or the browser subprotocol."""
    key = bearer(request.headers.get("Authorization"))
    if key is not None:
        return key
    for proto in request.headers.get("Sec-WebSocket-Protocol", "").split(","):
        proto = proto.strip()
        if proto.startswith(SUBPROTOCOL_KEY) and len(proto) > len(SUBPROTOCOL_KEY):
            return proto[len(SUBPROTOCOL_KEY) :]
    return None


def wants_beta(request: web.Request) -> bool:
    """`OpenAI-Beta: realtime=v1`: the client speaks the retired beta shape."""
    return "realtime=v1" in request.headers.get("OpenAI-Beta", "").replace(" ", "")


def admit_realtime(request: web.Request, access: Any) -> tuple[str | None, dict[str, Any] | None]:
    """(who is talking, session settings from a client secret) or AccessDenied."""
    key = offered_key(request)
    needs_credential = access.required or access.api_key is not None
    if not needs_credential:
        check_origin(request.headers.get("Origin"), str(request.url.origin()), access.allowed_origins)
        return None, None
    if key is None:
        raise AccessDenied(401, "a credential is required: Authorization: Bearer KEY (an API key, a session "
                                "token or a client secret)")  # fmt: skip
    if access.api_key is not None and key_matches(key, access.api_key):
        return None, None
    if access.secret is None:
        raise AccessDenied(401, "the API key is not valid")
    if key.startswith(CLIENT_SECRET_PREFIX):
        grant = verify_token(key[len(CLIENT_SECRET_PREFIX) :], access.secret, access.agent)
        return grant.identity, grant.extra.get("session")
    grant = verify_token(key, access.secret, access.agent)
    return grant.identity, None


async def realtime_socket(request: web.Request) -> web.StreamResponse:
    from vagus.server.app import ACCESS_KEY, SESSIONS_KEY, LocalSessions, _error

    access = request.app[ACCESS_KEY]
    if request.headers.get("Upgrade", "").lower() != "websocket":
        return _error(426, "the Realtime API is a WebSocket: connect with ws:// (or POST /v1/realtime/calls)")
    sessions = request.app[SESSIONS_KEY]
    client = request.remote or "unknown"
    # a cluster peer relays a client it has already admitted (and counted): not limited again here
    relayed = client in getattr(sessions, "peer_addresses", set)()
    try:
        identity, initial = admit_realtime(request, access)
        if not relayed:
            access.limits.offer(client)
    except AccessDenied as denied:
        return _error(denied.status, denied.reason, denied.retry_after_s)
    model = request.query.get("model")
    candidates = getattr(sessions, "realtime_candidates", None)
    local = sessions if isinstance(sessions, LocalSessions) else getattr(sessions, "local", None)
    if isinstance(local, LocalSessions):  # this process's own host first (a cluster node's too)
        try:
            connection = _opened(local.gateway.host, model, identity, initial, beta=wants_beta(request))
        except HostFull as exc:
            if candidates is None:
                return _error(503, str(exc), 10)
            connection = None  # a cluster node that is full: another node may take it
        except SettingError as exc:
            return _error(400, f"the client secret's session: {exc}")
        if connection is not None:
            ws = await _prepare(request)
            connection.attach(ws.send_str)
            if not relayed:
                access.limits.opened(client)
            try:
                await connection.start_io()
                await pump(ws, connection)
            finally:
                if not relayed:
                    access.limits.closed(client)
                await connection.close()
            return ws
    if candidates is None:
        return _error(501, "this server's sessions cannot speak the Realtime API")
    params = {"model": model, "user": identity, "session": initial, "beta": wants_beta(request)}
    reasons: list[str] = []
    for name, http, url, headers in candidates(params, offered_key(request)):
        try:
            upstream = await http.ws_connect(url, headers=headers, max_msg_size=WS_MAX_MESSAGE)
        except aiohttp.WSServerHandshakeError as exc:
            reasons.append(f"{name}: {exc.status}")
            if exc.status == 400:
                return _error(400, "the client secret's session is not valid")
            continue
        except (aiohttp.ClientError, OSError) as exc:
            reasons.append(f"{name}: {exc.__class__.__name__}")
            continue
        ws = await _prepare(request)
        access.limits.opened(client)
        try:
            await relay(ws, upstream)
        finally:
            access.limits.closed(client)
        return ws
    return _error(503, "no worker or node can take a session now (" + "; ".join(reasons or ["none is ready"]) + ")", 10)


async def _prepare(request: web.Request) -> web.WebSocketResponse:
    offered = [p.strip() for p in request.headers.get("Sec-WebSocket-Protocol", "").split(",") if p.strip()]
    ws = web.WebSocketResponse(
        protocols=("realtime",) if "realtime" in offered else (),
        max_msg_size=WS_MAX_MESSAGE,
        heartbeat=30.0,
        compress=False,
    )
    await ws.prepare(request)
    return ws


def _opened(
    host: SessionHost, model: str | None, user: str | None, initial: dict[str, Any] | None, beta: bool = False
) -> RealtimeConnection:
    """A connection whose session is open (HostFull: no room) and whose greeting waits for `start_io`."""

    connection = RealtimeConnection(host, None, model, user, initial, beta=beta)  # the socket attaches later
    connection.open_session()
    return connection


async def pump(ws: web.WebSocketResponse, connection: RealtimeConnection) -> None:
    """Client events into the connection until either side closes."""
    async for message in ws:
        if message.type == aiohttp.WSMsgType.TEXT:
            await connection.handle(message.data)
        elif message.type == aiohttp.WSMsgType.BINARY:
            connection.error("events are JSON text messages, not binary", "invalid_event")
        elif message.type == aiohttp.WSMsgType.ERROR:
            break
        if connection.closed:
            break
    if connection.closed and not ws.closed:
        await ws.close(code=aiohttp.WSCloseCode.POLICY_VIOLATION, message=b"closed by the server")


async def client_secrets(request: web.Request) -> web.Response:
    """`POST /v1/realtime/client_secrets`: a short-lived `ek_…` secret for a browser."""
    from vagus.server.app import ACCESS_KEY, SESSIONS_KEY, _error, minting_request

    access = request.app[ACCESS_KEY]
    body = await minting_request(request, "client secret minting")
    if isinstance(body, web.Response):
        return body
    low, high, default = SECRET_TTL_S
    expires = body.get("expires_after") or {}
    seconds = expires.get("seconds", default) if isinstance(expires, dict) else None
    if isinstance(seconds, bool) or not isinstance(seconds, int) or not low <= seconds <= high:
        return _error(400, f"expires_after.seconds must be a whole number from {low} to {high}")
    session = body.get("session")
    settings = RealtimeSettings("vagus", "")
    if session is not None:
        try:
            settings.update(session)
        except SettingError as exc:
            return _error(400, f"{exc.param}: {exc}")
    identity = body.get("identity", "browser")
    if not isinstance(identity, str) or not 0 < len(identity) <= 200:
        return _error(400, "identity must be a string of 1-200 characters")
    token = mint_token(access.secret, identity, access.agent, seconds, extra={"session": session} if session else None)
    shown = settings.to_json()
    if not session:
        shown = {"type": "realtime", "object": "realtime.session", "model": request.app[SESSIONS_KEY].name}
    return web.json_response(
        {"value": CLIENT_SECRET_PREFIX + token, "expires_at": int(time.time()) + seconds, "session": shown}
    )


async def relay(ws: web.WebSocketResponse, upstream: aiohttp.ClientWebSocketResponse) -> None:
    """A client's Realtime socket relayed to a worker's: each text message as it comes, both ways."""

    async def down() -> None:
        async for message in upstream:
            if message.type == aiohttp.WSMsgType.TEXT:
                await ws.send_str(message.data)
            elif message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.ERROR):
                break
        await ws.close()

    downstream = asyncio.ensure_future(down())
    try:
        async for message in ws:
            if message.type == aiohttp.WSMsgType.TEXT:
                await upstream.send_str(message.data)
            elif message.type == aiohttp.WSMsgType.BINARY:
                await ws.send_str(json.dumps(BINARY_REFUSED))
            elif message.type == aiohttp.WSMsgType.ERROR:
                break
            if downstream.done():
                break
    finally:
        downstream.cancel()
        await asyncio.gather(downstream, return_exceptions=True)
        await asyncio.shield(upstream.close())  # even when this handler is cancelled: the worker's session ends


async def worker_socket(request: web.Request, host: SessionHost) -> web.StreamResponse:
    """The worker's side of a relayed connection (its private socket only)."""
    try:
        params = json.loads(request.headers.get("X-Vagus-Realtime", "{}"))
        connection = _opened(
            host, params.get("model"), params.get("user"), params.get("session"), bool(params.get("beta"))
        )
    except HostFull as exc:
        return web.json_response({"error": str(exc)}, status=503)
    except (ValueError, SettingError) as exc:
        return web.json_response({"error": f"bad relayed connection: {exc}"}, status=400)
    ws = web.WebSocketResponse(max_msg_size=WS_MAX_MESSAGE, compress=False)
    await ws.prepare(request)
    connection.attach(ws.send_str)
    try:
        await connection.start_io()
        await pump(ws, connection)
    finally:
        await connection.close()
    return ws


CALLS_KEY = web.AppKey("realtime_calls", RealtimeCalls)


def _calls(app: web.Application) -> RealtimeCalls | None:
    return app.get(CALLS_KEY)


async def realtime_calls(request: web.Request) -> web.Response:
    """`POST /v1/realtime/calls` (and the beta's `POST /v1/realtime`): an SDP offer in, 201 with the
    SDP answer and the call's address in `Location` out."""
    from vagus.server.app import ACCESS_KEY, MAX_BODY_BYTES, SESSIONS_KEY, LocalSessions, _error

    access = request.app[ACCESS_KEY]
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        return _error(413, f"request body too large (limit {MAX_BODY_BYTES} bytes)")
    try:
        identity, initial = admit_realtime(request, access)
        access.limits.offer(request.remote or "unknown")
    except AccessDenied as denied:
        return _error(denied.status, denied.reason, denied.retry_after_s)
    form: dict[str, str] | None = None
    body = b""
    if request.content_type == "multipart/form-data":
        posted = await request.post()
        form = {k: v for k, v in posted.items() if isinstance(v, str)}
    else:
        body = await request.read()
    try:
        sdp, settings = parse_call_body(request.content_type, body, form)
    except SignalingError as exc:
        return _error(415 if "application/sdp" in str(exc) else 400, str(exc))
    if initial and settings:
        settings = {**initial, **settings}
    settings = settings or initial
    model = request.query.get("model") or (settings or {}).get("model")
    sessions = request.app[SESSIONS_KEY]
    try:
        if isinstance(sessions, LocalSessions):
            calls = _calls(request.app)
            assert calls is not None  # made with the app for a local host
            answer, call_id = await calls.accept(sdp, model, identity, settings)
            client = request.remote or "unknown"
            access.limits.opened(client)
            calls.calls[call_id].connection.on_closed = lambda _reason: access.limits.closed(client)
        else:
            relay = getattr(sessions, "realtime_call", None)
            if relay is None:
                return _error(501, "this server's sessions cannot speak the Realtime API")
            answer, call_id = await relay(sdp, model, identity, settings)
            watch = getattr(sessions, "watch_call_end", None)
            if watch is not None:  # counted against the client like a session of its own
                client = request.remote or "unknown"
                access.limits.opened(client)
                watch(call_id, lambda: access.limits.closed(client))
    except SignalingError as exc:
        return _error(400, str(exc) or "the offer could not be negotiated")
    except SettingError as exc:
        return _error(400, f"{exc.param}: {exc}")
    except HostFull as exc:
        return _error(503, str(exc), 10)
    return web.Response(
        status=201,
        body=answer.encode(),
        headers={"Content-Type": "application/sdp", "Location": f"/v1/realtime/calls/{call_id}"},
    )


async def hang_up(request: web.Request) -> web.Response:
    """`POST /v1/realtime/calls/{call_id}/hangup`: end a call (the caller's credential)."""
    from vagus.server.app import ACCESS_KEY, _error

    try:
        admit_realtime(request, request.app[ACCESS_KEY])
    except AccessDenied as denied:
        return _error(denied.status, denied.reason)
    calls = request.app.get(CALLS_KEY)
    if calls is None or not await calls.hang_up(request.match_info["call_id"]):
        return _error(404, "no such call")
    return web.json_response({})


async def worker_call(request: web.Request) -> web.Response:
    """The worker's side of a relayed call: `{"sdp", "model", "user", "session"}` → `{"sdp", "call_id"}`."""
    try:
        body = await request.json()
        sdp = body["sdp"]
        calls = _calls(request.app)
        assert calls is not None
        answer, call_id = await calls.accept(sdp, body.get("model"), body.get("user"), body.get("session"))
    except (ValueError, KeyError, TypeError) as exc:  # SignalingError and SettingError are ValueErrors
        return web.json_response({"error": str(exc) or "bad internal call"}, status=400)
    except HostFull as exc:
        return web.json_response({"error": str(exc)}, status=503)
    return web.json_response({"sdp": answer, "call_id": call_id})
