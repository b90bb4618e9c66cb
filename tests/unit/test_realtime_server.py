"""The Realtime endpoints' doors and robustness: keys, session tokens and client secrets (missing,
wrong, expired refused; the browser subprotocol accepted), and a fuzzing client (malformed JSON,
unknown events, base64 garbage, a 10 MB append, 1,000 events a second) that never takes the server
down nor disturbs another session."""

from __future__ import annotations

import asyncio
import base64
import json
import time

import aiohttp
import jwt
import numpy as np
import pytest
from aiohttp.test_utils import TestClient, TestServer

from tests.conftest import load_fixture
from vagus.agent.host import SessionHost
from vagus.audio.resample import resample
from vagus.server.app import SESSIONS_KEY, Access, create_app
from vagus.server.auth import ClientLimits, mint_token
from vagus.transports.webrtc import WebRTCGateway

SECRET = "s" * 32
KEY = "k" * 32
WAIT_S = 60.0


@pytest.fixture
async def guarded(services, offline_config):
    access = Access(offline_config.name, SECRET, True, KEY, [], 60, ClientLimits(1000, 10))
    gateway = WebRTCGateway(SessionHost(services, offline_config, max_sessions=6))
    async with TestClient(TestServer(create_app(gateway, access), host="127.0.0.1")) as client:
        client.agent = offline_config.name
        yield client


@pytest.fixture
async def open_server(services, offline_config):
    gateway = WebRTCGateway(SessionHost(services, offline_config, max_sessions=6))
    async with TestClient(TestServer(create_app(gateway), host="127.0.0.1")) as client:
        yield client


async def refused(client: TestClient, **kwargs) -> int:
    with pytest.raises(aiohttp.WSServerHandshakeError) as err:
        await client.ws_connect("/v1/realtime?model=vagus", **kwargs)
    return err.value.status


async def first_event(ws: aiohttp.ClientWebSocketResponse) -> dict:
    return json.loads((await ws.receive(timeout=WAIT_S)).data)


async def test_the_realtime_socket_needs_a_credential(guarded):
    assert await refused(guarded) == 401
    assert await refused(guarded, headers={"Authorization": "Bearer wrong"}) == 401
    expired = jwt.encode(
        {"iss": "vagus", "sub": "u", "agent": guarded.agent, "grants": ["talk"], "iat": 1, "exp": 2, "jti": "x"},
        SECRET,
        algorithm="HS256",
    )
    assert await refused(guarded, headers={"Authorization": f"Bearer {expired}"}) == 401
    other_agent = mint_token(SECRET, "u", "someone-else", 60)
    assert await refused(guarded, headers={"Authorization": f"Bearer {other_agent}"}) == 403
    for credential in (KEY, mint_token(SECRET, "anna", guarded.agent, 60)):
        ws = await guarded.ws_connect("/v1/realtime?model=vagus", headers={"Authorization": f"Bearer {credential}"})
        assert (await first_event(ws))["type"] == "session.created"
        await ws.close()
    # browsers: the key rides in a subprotocol, and the server picks `realtime`
    ws = await guarded.ws_connect("/v1/realtime", protocols=("realtime", f"openai-insecure-api-key.{KEY}"))
    assert ws.protocol == "realtime" and (await first_event(ws))["type"] == "session.created"
    await ws.close()


async def test_client_secrets_are_short_lived_and_carry_the_session(guarded):
    assert (await guarded.post("/v1/realtime/client_secrets", json={})).status == 401
    body = {"expires_after": {"anchor": "created_at", "seconds": 10_000}}
    asked = await guarded.post("/v1/realtime/client_secrets", json=body, headers={"Authorization": f"Bearer {KEY}"})
    assert asked.status == 400 and "7200" in (await asked.json())["error"]
    body = {"session": {"type": "realtime", "instructions": "Speak like a pirate.", "output_modalities": ["text"]}}
    minted = await guarded.post("/v1/realtime/client_secrets", json=body, headers={"Authorization": f"Bearer {KEY}"})
    secret = await minted.json()
    assert minted.status == 200 and secret["value"].startswith("ek_")
    assert 590 <= secret["expires_at"] - time.time() <= 601
    assert secret["session"]["instructions"] == "Speak like a pirate."
    ws = await guarded.ws_connect("/v1/realtime", protocols=("realtime", f"openai-insecure-api-key.{secret['value']}"))
    session = (await first_event(ws))["session"]
    assert session["instructions"] == "Speak like a pirate." and session["output_modalities"] == ["text"]
    await ws.close()
    forged = "ek_" + mint_token("another-secret-of-32-characters!", "x", guarded.agent, 60)
    assert await refused(guarded, headers={"Authorization": f"Bearer {forged}"}) == 401


async def test_an_open_loopback_server_refuses_other_web_origins(open_server):
    assert await refused(open_server, headers={"Origin": "https://evil.example"}) == 403
    ws = await open_server.ws_connect("/v1/realtime", headers={"Authorization": "Bearer ignored"})
    assert (await first_event(ws))["type"] == "session.created"
    await ws.close()
    plain = await open_server.get("/v1/realtime")
    assert plain.status == 426 and "WebSocket" in (await plain.json())["error"]


def question_events() -> list[str]:
    audio, rate = load_fixture("hello")
    audio = np.concatenate([resample(audio, rate, 24000), np.zeros(36000, np.float32)])
    data = (audio * 32767).astype("<i2").tobytes()
    step = 24000 * 2 // 5
    return [json.dumps({"type": "input_audio_buffer.append", "audio": base64.b64encode(data[i : i + step]).decode()})
            for i in range(0, len(data), step)]  # fmt: skip


async def test_a_fuzzing_client_neither_takes_the_server_down_nor_disturbs_another_session(open_server):
    victim = await open_server.ws_connect("/v1/realtime", max_msg_size=0)
    fuzzer = await open_server.ws_connect("/v1/realtime", max_msg_size=0)
    assert (await first_event(victim))["type"] == (await first_event(fuzzer))["type"] == "session.created"
    for event in question_events():
        await victim.send_str(event)

    rng = np.random.default_rng(7)
    garbage = [
        "{not json", "[]", "null", '"string"', json.dumps({"type": 42}), json.dumps({"type": "x" * 10_000}),
        json.dumps({"type": "input_audio_buffer.append", "audio": "!!!!"}),
        json.dumps({"type": "input_audio_buffer.append", "audio": 12}),
        json.dumps({"type": "conversation.item.create", "item": {"type": "message", "role": "user",
                                                                  "content": [{"type": "input_text"}]}}),
        json.dumps({"type": "conversation.item.truncate", "item_id": None, "audio_end_ms": -1}),
        json.dumps({"type": "session.update", "session": {"tools": [{"type": "function", "name": "bad name!"}]}}),
        json.dumps({"type": "response.create", "response": {"output_modalities": ["smell"]}}),
        "[" * 100_000 + "]" * 100_000,
    ]  # fmt: skip
    for text in garbage:
        await fuzzer.send_str(text)
    half_a_sample = base64.b64encode(b"\x01").decode()  # kept until its other byte comes: no error
    await fuzzer.send_str(json.dumps({"type": "input_audio_buffer.append", "audio": half_a_sample}))
    await fuzzer.send_bytes(b"\x00binary")
    # 10 MB of audio in one event (about 3.5 minutes at 24 kHz: under the 5 minutes that may wait)
    big = rng.integers(-300, 300, size=5_000_000, dtype=np.int16).astype("<i2").tobytes()
    await fuzzer.send_str(json.dumps({"type": "input_audio_buffer.append", "audio": base64.b64encode(big).decode()}))
    # 1,000 events within about a second
    tiny = json.dumps({"type": "input_audio_buffer.append", "audio": base64.b64encode(bytes(960)).decode()})
    for i in range(1000):
        await fuzzer.send_str(tiny if i % 2 else json.dumps({"type": f"unknown.{i}"}))
        if i % 100 == 0:
            await asyncio.sleep(0.1)

    errors = 0
    async with asyncio.timeout(WAIT_S):
        while errors < len(garbage) + 1 + 500:
            message = await fuzzer.receive()
            assert message.type == aiohttp.WSMsgType.TEXT, message
            event = json.loads(message.data)
            if event["type"] == "error":
                errors += 1
                assert event["error"]["type"] == "invalid_request_error" and event["error"]["message"]

    async with asyncio.timeout(WAIT_S):  # meanwhile the other session was heard and answered
        while True:
            event = json.loads((await victim.receive()).data)
            if event["type"] == "response.done":
                assert event["response"]["status"] == "completed"
                break
    await fuzzer.send_str(json.dumps({"type": "session.update", "session": {"instructions": "still here"}}))
    async with asyncio.timeout(WAIT_S):
        while (event := json.loads((await fuzzer.receive()).data))["type"] != "session.updated":
            pass
    assert event["session"]["instructions"] == "still here"
    assert (await open_server.get("/healthz")).status == 200
    await victim.close()
    await fuzzer.close()


async def test_a_webrtc_call_speaks_at_the_rate_its_audio_track_sends(services, offline_config):
    """The agent's voice on a Realtime WebRTC call goes out as 48 kHz media (the rate the track
    stamps on its frames), while a WebSocket session speaks the format's 24 kHz."""
    from vagus.transports.realtime.connection import RealtimeConnection
    from vagus.transports.webrtc import OUTPUT_RATE

    host = SessionHost(services, offline_config)

    async def nowhere(text: str) -> None:
        return None

    try:
        for in_events, rate in ((False, OUTPUT_RATE), (True, 24000)):
            connection = RealtimeConnection(host, nowhere, audio_in_events=in_events)
            connection.open_session()
            assert connection.hosted.session.output_rate == rate
            await connection.close()
    finally:
        await host.close()


async def test_a_client_that_vanishes_mid_answer_leaves_no_session_behind(open_server):
    """The socket drops while the agent is speaking: the session ends, and the server goes on."""
    ws = await open_server.ws_connect("/v1/realtime")
    assert (await first_event(ws))["type"] == "session.created"
    for event in question_events():
        await ws.send_str(event)
    async with asyncio.timeout(WAIT_S):
        while json.loads((await ws.receive()).data)["type"] != "response.output_audio.delta":
            pass
    host = open_server.server.app[SESSIONS_KEY].gateway.host
    assert len(host.sessions) == 1
    await ws.close()  # gone mid-answer
    async with asyncio.timeout(WAIT_S):
        while host.sessions:
            await asyncio.sleep(0.05)
    assert (await open_server.get("/healthz")).status == 200
