"""Who may open a session: tokens, origins, content type, per-client budgets; guarded status and
token minting; and no 500 for anything a client sends."""

from __future__ import annotations

import time

import jwt
import pytest
from aiohttp.test_utils import TestClient, TestServer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vagus.agent.host import SessionHost
from vagus.server.app import Access, create_app
from vagus.server.auth import ClientLimits, mint_token
from vagus.transports.webrtc import WebRTCGateway

SECRET = "s" * 32
KEY = "k" * 32
NOT_SDP = b'{"sdp": "hello", "type": "offer"}'
JSON = {"Content-Type": "application/json"}


@pytest.fixture
async def client(services, offline_config):
    access = Access(offline_config.name, SECRET, True, KEY, ["https://ok.example"], 60, ClientLimits(5, 2))
    gateway = WebRTCGateway(SessionHost(services, offline_config, max_sessions=2))
    async with TestClient(TestServer(create_app(gateway, access), host="127.0.0.1")) as client:
        client.agent = offline_config.name
        yield client


def auth(token: str) -> dict[str, str]:
    return {**JSON, "Authorization": f"Bearer {token}"}


async def test_an_offer_needs_a_valid_token_for_this_agent(client):
    assert (await client.post("/offer", data=NOT_SDP, headers=JSON)).status == 401
    assert (await client.post("/offer", data=NOT_SDP, headers=auth("nonsense"))).status == 401
    expired = jwt.encode(
        {"iss": "vagus", "sub": "u", "agent": client.agent, "grants": ["talk"], "iat": 1, "exp": 2, "jti": "x"},
        SECRET,
        algorithm="HS256",
    )
    response = await client.post("/offer", data=NOT_SDP, headers=auth(expired))
    assert response.status == 401 and "expired" in (await response.json())["error"]
    other = mint_token(SECRET, "u", "another-agent", 60)
    assert (await client.post("/offer", data=NOT_SDP, headers=auth(other))).status == 403
    forged = mint_token("x" * 32, "u", client.agent, 60)
    assert (await client.post("/offer", data=NOT_SDP, headers=auth(forged))).status == 401
    good = mint_token(SECRET, "u", client.agent, 60)
    response = await client.post("/offer", data=NOT_SDP, headers=auth(good))
    assert response.status == 400 and "not an SDP" in (await response.json())["error"]  # admitted


async def test_cross_site_and_non_json_offers_are_refused(client):
    good = mint_token(SECRET, "u", client.agent, 60)
    plain = {"Content-Type": "text/plain", "Authorization": f"Bearer {good}"}
    assert (await client.post("/offer", data=NOT_SDP, headers=plain)).status == 415
    other_site = {**auth(good), "Origin": "https://evil.example"}
    assert (await client.post("/offer", data=NOT_SDP, headers=other_site)).status == 403
    allowed = {**auth(good), "Origin": "https://ok.example"}
    assert (await client.post("/offer", data=NOT_SDP, headers=allowed)).status == 400


async def test_replayed_offers_are_limited_per_client(client):
    good = mint_token(SECRET, "u", client.agent, 60)
    statuses = [(await client.post("/offer", data=NOT_SDP, headers=auth(good))).status for _ in range(7)]
    assert statuses[:5] == [400] * 5 and statuses[5:] == [429, 429]
    response = await client.post("/offer", data=NOT_SDP, headers=auth(good))
    assert int(response.headers["Retry-After"]) >= 1


async def test_status_needs_the_key_and_healthz_says_only_ok(client):
    assert await (await client.get("/healthz")).json() == {"status": "ok"}
    assert (await client.get("/status")).status == 401
    response = await client.get("/status", headers={"Authorization": f"Bearer {KEY}"})
    assert response.status == 200 and (await response.json())["sessions"] == 0


async def test_tokens_are_minted_for_a_caller_with_the_key(client):
    assert (await client.post("/token", json={"identity": "ann"})).status == 401
    response = await client.post("/token", json={"identity": "ann"}, headers={"Authorization": f"Bearer {KEY}"})
    minted = (await response.json())["token"]
    claims = jwt.decode(minted, SECRET, algorithms=["HS256"], issuer="vagus")
    assert claims["sub"] == "ann" and claims["agent"] == client.agent and claims["exp"] > time.time()
    assert (await client.post("/offer", data=NOT_SDP, headers=auth(minted))).status == 400


@pytest.fixture
async def open_client(services, offline_config):
    gateway = WebRTCGateway(SessionHost(services, offline_config, max_sessions=2))
    access = Access(offline_config.name, limits=ClientLimits(10_000, 2))
    async with TestClient(TestServer(create_app(gateway, access), host="127.0.0.1")) as client:
        yield client


FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))


@FUZZ
@given(
    body=st.one_of(
        st.binary(max_size=300),
        st.recursive(
            st.none() | st.integers() | st.text(max_size=20),
            lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
            max_leaves=10,
        ).map(lambda v: __import__("json").dumps(v).encode()),
    )
)
async def test_no_offer_body_gives_a_500(open_client, body):
    response = await open_client.post("/offer", data=body, headers=JSON)
    assert response.status < 500 or response.status == 503


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 10_000 + b"]" * 10_000,
        b'{"sdp": ' + b"9" * 5000 + b"}",
        b'{"sdp": "v=0\\r\\n' + b"m=audio 9 RTP/AVP 0\\r\\n" * 700 + b'"}',
    ],
)
async def test_pathological_json_and_sdp_are_refused_cleanly(open_client, body):
    response = await open_client.post("/offer", data=body, headers=JSON)
    assert 400 <= response.status < 500, response.status


@FUZZ
@given(path=st.text(min_size=1, max_size=300))
async def test_no_static_path_gives_a_500(open_client, path):
    from urllib.parse import quote

    response = await open_client.get("/static/" + quote(path, safe=""))
    assert response.status in (200, 400, 404)
