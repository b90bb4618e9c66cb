"""Who may open a session: signed short-lived tokens, an Origin allow-list and per-client limits.

A token is a JWT (HS256, PyJWT) with the caller's identity (`sub`), the agent it admits (`agent`),
an expiry, a unique id and its grants (`talk`). `/offer` requires one whenever the server is not
loopback-only or a secret is configured; `vagus token` mints one, and `POST /token` does for a
caller holding the API key. Offers from another web origin than the server's own (or an allowed one)
are refused, and offers must be `application/json`, so a page on another site cannot open sessions
through a visitor's browser. Each client address has a budget of offers per minute and of live
sessions.
"""

from __future__ import annotations

import hmac
import secrets
import time
import uuid
from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import Any

import jwt

ALGORITHM = "HS256"
ISSUER = "vagus"


class AccessDenied(Exception):
    """A request that may not go on: `status` (401, 403, 415, 429) and a reason to show the client."""

    def __init__(self, status: int, reason: str, retry_after_s: float | None = None) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.retry_after_s = retry_after_s


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def mint_token(
    secret: str,
    identity: str,
    agent: str,
    ttl_s: float,
    grants: tuple[str, ...] = ("talk",),
    extra: dict[str, Any] | None = None,
) -> str:
    """`extra`: more claims (a Realtime client secret's session settings)."""
    now = int(time.time())
    claims = {
        "iss": ISSUER,
        "sub": identity,
        "agent": agent,
        "grants": list(grants),
        "iat": now,
        "exp": now + max(1, int(ttl_s)),
        "jti": uuid.uuid4().hex,
        **({"extra": extra} if extra else {}),
    }
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


@dataclass(frozen=True, slots=True)
class Grant:
    identity: str
    agent: str
    token_id: str
    extra: dict[str, Any] = field(default_factory=dict)


def verify_token(token: str, secret: str, agent: str) -> Grant:
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            issuer=ISSUER,
            options={"require": ["exp", "iat", "sub", "jti"]},
        )
    except jwt.ExpiredSignatureError:
        raise AccessDenied(401, "the token has expired") from None
    except jwt.InvalidTokenError:
        raise AccessDenied(401, "the token is not valid") from None
    if claims.get("agent") != agent:
        raise AccessDenied(403, "the token is for another agent")
    if "talk" not in (claims.get("grants") or []):
        raise AccessDenied(403, "the token does not grant talking")
    extra = claims.get("extra")
    return Grant(str(claims["sub"]), agent, str(claims["jti"]), extra if isinstance(extra, dict) else {})


def bearer(header: str | None) -> str | None:
    if header and header[:7].lower() == "bearer ":
        return header[7:].strip() or None
    return None


def key_matches(given: str | None, expected: str) -> bool:
    return given is not None and hmac.compare_digest(given.encode(), expected.encode())


class ClientLimits:
    """Per client address: offers in the last minute, and sessions live now."""

    def __init__(self, offers_per_minute: int, sessions_per_client: int) -> None:
        self.offers_per_minute = offers_per_minute
        self.sessions_per_client = sessions_per_client
        self._offers: dict[str, deque[float]] = defaultdict(deque)
        self._live: dict[str, int] = defaultdict(int)

    def offer(self, client: str, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        recent = self._offers[client]
        while recent and recent[0] <= now - 60.0:
            recent.popleft()
        if len(recent) >= self.offers_per_minute:
            raise AccessDenied(429, "too many offers from this address; try again shortly", 60.0 - (now - recent[0]))
        recent.append(now)
        if self._live[client] >= self.sessions_per_client:
            raise AccessDenied(429, f"this address already has {self._live[client]} live sessions", 10.0)

    def opened(self, client: str) -> None:
        self._live[client] += 1

    def closed(self, client: str) -> None:
        self._live[client] -= 1
        if self._live[client] <= 0:
            del self._live[client]


def check_origin(origin: str | None, own: str, allowed: list[str]) -> None:
    """A browser says where the page that sends the request comes from; another site is refused.
    Clients that are not browsers send no Origin."""
    if origin is None:
        return
    if origin.rstrip("/") != own.rstrip("/") and origin.rstrip("/") not in {a.rstrip("/") for a in allowed}:
        raise AccessDenied(403, "offers from this web origin are not allowed")
