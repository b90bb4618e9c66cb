"""HTTPS and ICE servers: a self-signed certificate that a client trusting it accepts (the talk page
and the Realtime socket over wss), clear errors for unusable files, and STUN/TURN servers given to
the page only with a session token."""

from __future__ import annotations

import ssl

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from tests.fake_openai import free_port
from vagus.agent.host import SessionHost
from vagus.config import AgentConfig
from vagus.server.app import Access, create_app
from vagus.server.auth import mint_token
from vagus.server.tls import TlsError, make_self_signed, server_context
from vagus.transports.webrtc import WebRTCGateway

SECRET = "s" * 32


async def test_a_self_signed_server_serves_the_page_and_the_realtime_socket(services, offline_config):
    made = make_self_signed("127.0.0.1")
    assert made.key.stat().st_mode & 0o077 == 0 and len(made.fingerprint.split(":")) == 32
    runner = web.AppRunner(create_app(WebRTCGateway(SessionHost(services, offline_config))))
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port, ssl_context=server_context(made.cert, made.key)).start()
    trusting = ssl.create_default_context(cafile=str(made.cert))
    try:
        async with aiohttp.ClientSession() as http:
            async with http.get(f"https://127.0.0.1:{port}/healthz", ssl=trusting) as response:
                assert response.status == 200
            async with http.get(f"https://localhost:{port}/", ssl=trusting) as response:
                assert "Start talking" in await response.text()
            async with http.ws_connect(f"wss://127.0.0.1:{port}/v1/realtime", ssl=trusting) as ws:
                assert (await ws.receive_json(timeout=30))["type"] == "session.created"
            with pytest.raises(aiohttp.ClientConnectorError):  # a client that does not trust it refuses
                await http.get(f"https://127.0.0.1:{port}/healthz")
    finally:
        await runner.cleanup()
        made.remove()
    assert not made.folder.exists()


def test_unusable_certificate_files_are_named(tmp_path):
    with pytest.raises(TlsError, match="does not exist"):
        server_context(tmp_path / "missing.pem", tmp_path / "key.pem")
    made = make_self_signed("localhost")
    other = make_self_signed("localhost")
    try:
        with pytest.raises(TlsError, match="cannot be used together"):
            server_context(made.cert, other.key)
        (tmp_path / "junk.pem").write_text("not a certificate")
        with pytest.raises(TlsError, match=r"junk\.pem"):
            server_context(tmp_path / "junk.pem", made.key)
    finally:
        made.remove()
        other.remove()


def test_ice_servers_are_checked_in_the_config():
    good = {"server": {"ice_servers": [{"urls": ["stun:stun.example.org:3478"]},
                                       {"urls": ["turn:turn.example.org:3478"], "username": "u", "credential": "p"}]}}  # fmt: skip
    assert len(AgentConfig.model_validate(good).server.ice_servers) == 2
    with pytest.raises(ValueError, match="needs a username"):
        AgentConfig.model_validate({"server": {"ice_servers": [{"urls": ["turn:t.example.org"]}]}})
    with pytest.raises(ValueError, match="starts with stun"):
        AgentConfig.model_validate({"server": {"ice_servers": [{"urls": ["http://t.example.org"]}]}})


async def test_the_page_gets_the_ice_servers_with_its_token(services):
    config = AgentConfig.model_validate(
        {"server": {"ice_servers": [{"urls": ["turn:turn.example.org:3478"], "username": "u", "credential": "p"}]}}
    )
    gateway = WebRTCGateway(SessionHost(services, config))
    access = Access(config.name, SECRET, True)
    async with TestClient(TestServer(create_app(gateway, access), host="127.0.0.1")) as client:
        assert (await client.get("/ice-servers")).status == 401
        token = mint_token(SECRET, "u", config.name, 60)
        response = await client.get("/ice-servers", headers={"Authorization": f"Bearer {token}"})
        assert (await response.json())["ice_servers"] == [
            {"urls": ["turn:turn.example.org:3478"], "username": "u", "credential": "p"}
        ]
        peer = gateway.peer_connection()
        assert peer._RTCPeerConnection__configuration.iceServers[0].urls == ["turn:turn.example.org:3478"]
        await peer.close()
