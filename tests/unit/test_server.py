"""The HTTP surface: the talk page, signaling input validation, and staying up under bad input."""

import pytest
from aiohttp.test_utils import TestClient, TestServer

from vagus.agent.host import SessionHost
from vagus.server.app import MAX_BODY_BYTES, create_app
from vagus.transports.webrtc import WebRTCGateway


@pytest.fixture
async def client(services, offline_config):
    gateway = WebRTCGateway(SessionHost(services, offline_config, max_sessions=2))
    async with TestClient(TestServer(create_app(gateway), host="127.0.0.1")) as client:
        client.gateway = gateway
        yield client


async def test_talk_page_and_assets(client):
    page = await client.get("/?autostart=1")
    assert page.status == 200 and "text/html" in page.headers["Content-Type"]
    html = await page.text()
    assert "/static/talk.js" in html and 'id="transcript"' in html
    script = await client.get("/static/talk.js")
    assert script.status == 200 and "autostart" in await script.text()
    assert (await client.get("/static/../app.py")).status == 404
    assert (await client.get("/static/missing.js")).status == 404


async def test_unknown_route_is_json_404(client):
    response = await client.get("/nope")
    assert response.status == 404
    assert (await response.json())["error"] == "no such route: GET /nope"


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        (b"{not json", 400, "must be JSON"),
        (b"[1, 2]", 400, "JSON object"),
        (b"{}", 400, "missing field 'sdp'"),
        (b'{"sdp": 5}', 400, "missing field 'sdp'"),
        (b'{"sdp": "hello", "type": "offer"}', 400, "not an SDP"),
        (b'{"sdp": "v=0\\r\\n", "type": "answer"}', 400, "type 'offer'"),
        (b'{"sdp": "v=0\\r\\nm=video 9 UDP/TLS/RTP/SAVPF 96\\r\\n"}', 400, "no audio"),
        (b'{"sdp": "v=0\\r\\nm=audio nonsense\\r\\n"}', 400, ""),
        (b"\xff\xfe\x00", 400, "must be JSON"),
        (b'{"sdp": "v=0\\r\\n' + b"m=audio 9 UDP/TLS/RTP/SAVPF 111\\r\\n" * 700 + b'"}', 400, "700 media sections"),
        (b'{"sdp": "v=0\\r\\nm=audio 9 UDP/TLS/RTP/SAVPF 111\\r\\n", "options": 3}', 400, "'options'"),
        (
            b'{"sdp": "v=0\\r\\nm=audio 9 UDP/TLS/RTP/SAVPF 111\\r\\n", "options": {"echo": "loud"}}',
            400,
            "options.echo",
        ),
        (
            b'{"sdp": "v=0\\r\\nm=audio 9 UDP/TLS/RTP/SAVPF 111\\r\\n", "options": {"user": "a b/c"}}',
            400,
            "options.user",
        ),
    ],
)
async def test_bad_offers_are_refused_with_a_reason(client, body, status, message):
    response = await client.post("/offer", data=body, headers={"Content-Type": "application/json"})
    assert response.status == status
    assert message in (await response.json())["error"]
    assert not client.gateway.peers  # nothing half-open left behind
    assert (await (await client.get("/healthz")).json()) == {"status": "ok"}
    assert (await (await client.get("/status")).json())["sessions"] == 0


async def test_oversized_offer_is_refused(client):
    response = await client.post("/offer", data=b"x" * (MAX_BODY_BYTES + 1))
    assert response.status == 413
    assert "too large" in (await response.json())["error"]
    assert (await client.get("/healthz")).status == 200


async def test_readiness_follows_admission_and_draining(client):
    ready = await client.get("/readyz")
    assert ready.status == 200 and await ready.json() == {"ready": True}
    client.gateway.host.draining = True
    draining = await client.get("/readyz")
    assert draining.status == 503 and await draining.json() == {"ready": False}
    assert (await client.get("/healthz")).status == 200  # alive all the same
    client.gateway.host.draining = False
