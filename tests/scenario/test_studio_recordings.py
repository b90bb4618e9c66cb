"""Inspect in the Studio's API: recording turned on by a Studio save reaches the next session without a
restart; a real spoken turn over the Realtime WebSocket is recorded (the user's words on the left,
the agent's voice on the right, the events with the transcript and latency), listed, read, served as
audio, deleted; names outside the folder and callers without the key are refused."""

from __future__ import annotations

import asyncio
import io

import numpy as np
import soundfile as sf
from aiohttp.test_utils import TestClient, TestServer

from tests.conftest import say_hello_over_realtime
from vagus.agent.host import SessionHost
from vagus.server.app import Access, create_app
from vagus.studio.api import Studio, mount
from vagus.studio.document import ConfigDocument
from vagus.transports.webrtc import WebRTCGateway

KEY = "k" * 32


async def spoken_turn(client: TestClient) -> None:
    ws = await client.ws_connect("/v1/realtime", headers={"Authorization": "Bearer " + KEY})
    await say_hello_over_realtime(ws)
    await ws.close()


async def test_a_recorded_session_is_listed_played_and_deleted(tmp_path, services, offline_config):
    path = tmp_path / "agent.yaml"
    path.write_text("name: Recorder\n")
    host = SessionHost(services, offline_config, max_sessions=2)

    async def on_saved(config):  # type: ignore[no-untyped-def]
        host.reconfigure(config)

    app = create_app(WebRTCGateway(host), Access("x", api_key=KEY))
    mount(app, Studio(ConfigDocument(path), offline_config, None, on_saved))
    auth = {"Authorization": "Bearer " + KEY}
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        listed = await (await client.get("/studio/api/recordings", headers=auth)).json()
        assert listed["enabled"] is False and listed["recordings"] == []

        data = {"name": "Recorder", "recording": {"enabled": True, "path": str(tmp_path / "rec")}}
        saved = await client.post("/studio/api/save", json={"data": data}, headers=auth)
        assert saved.status == 200 and (await saved.json())["applied"]
        await spoken_turn(client)

        for _ in range(100):  # the session ends as the socket closes
            listed = await (await client.get("/studio/api/recordings", headers=auth)).json()
            if listed["recordings"] and listed["recordings"][0]["ended"] is not None:
                break
            await asyncio.sleep(0.1)
        assert listed["enabled"] is True
        (summary,) = listed["recordings"]
        assert summary["agent"] == "Recorder" and summary["turns"] >= 1 and summary["size_bytes"] > 10_000
        assert "hello" in summary["first_words"].lower()
        name = summary["id"]

        got = await (await client.get(f"/studio/api/recordings/{name}", headers=auth)).json()
        kinds = {e["type"] for e in got["events"]}
        assert {"transcript_final", "agent_sentence", "turn_latency", "session_ended"} <= kinds
        assert got["recording"]["has_audio"]

        wav = await client.get(f"/studio/api/recordings/{name}/audio", headers=auth)
        assert wav.status == 200 and wav.headers["Content-Type"] == "audio/wav"
        audio, rate = sf.read(io.BytesIO(await wav.read()), dtype="float32")
        assert rate == 16000 and audio.shape[1] == 2
        (final,) = [e for e in got["events"] if e["type"] == "transcript_final"][:1]
        started = next(e for e in got["events"] if e["type"] == "agent_speech_started")["t"]
        user_speech = audio[: round(final["t"] * rate), 0]
        agent_voice = audio[round(started * rate) :, 1]
        assert np.abs(user_speech).max() > 0.05  # "hello" on the microphone side
        assert np.abs(audio[: round(started * rate) - 800, 1]).max() == 0  # the agent silent before it spoke
        assert np.abs(agent_voice).max() > 0.05  # its answer on the other side

        assert (await client.get(f"/studio/api/recordings/{name}/audio")).status == 401
        assert (await client.delete(f"/studio/api/recordings/{name}")).status == 401
        for bad in ("..", "..%2F..%2Fagent.yaml", "20260101-000000-nothing"):
            assert (await client.get(f"/studio/api/recordings/{bad}", headers=auth)).status == 404, bad
        deleted = await client.delete(f"/studio/api/recordings/{name}", headers=auth)
        assert deleted.status == 200 and (await deleted.json())["deleted"] == name
        assert (await client.get(f"/studio/api/recordings/{name}", headers=auth)).status == 404
        assert (await (await client.get("/studio/api/recordings", headers=auth)).json())["recordings"] == []
        assert path.is_file() and not any((tmp_path / "rec").iterdir())
