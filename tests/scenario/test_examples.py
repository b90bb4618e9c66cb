"""The examples, run as a user runs them: `vagus talk --agent examples/…:agent` on recorded speech."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

import pytest

from tests.fake_openai import FakeOpenAI

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"


async def talk(agent: str, question: Path, tmp_path: Path, env: dict[str, str] | None = None) -> list[dict]:
    return (await talk_timeline(agent, question, tmp_path, env))["turns"]


async def talk_timeline(agent: str, question: Path, tmp_path: Path, env: dict[str, str] | None = None) -> dict:
    timeline = tmp_path / "timeline.json"
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "vagus", "talk", "--agent", agent, str(question), str(tmp_path / "out.wav"),
        "--transcript", str(timeline),
        env={**os.environ, **(env or {})}, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, err = await asyncio.wait_for(proc.communicate(), 300)
    assert proc.returncode == 0, err.decode()[-2000:]
    return json.loads(timeline.read_text())


async def test_the_plain_assistant_greets_and_answers(tmp_path, fixtures_dir):
    import numpy as np
    import soundfile as sf

    audio, rate = sf.read(fixtures_dir / "two_questions.wav", dtype="float32")
    question = tmp_path / "after_the_greeting.wav"  # the user waits for the greeting, then asks
    sf.write(question, np.concatenate([np.zeros(int(2.5 * rate), np.float32), audio]), rate)
    turns = await talk(f"{EXAMPLES / 'plain_assistant.py'}:agent", question, tmp_path)
    assert turns[0]["agent_text"] == "Hello! Ask me anything." and not turns[0].get("user_text")
    answered = [t for t in turns[1:] if t.get("user_text")]
    assert answered and "42" in answered[0]["agent_text"], turns


async def test_a_question_asked_over_the_greeting_is_heard_whole(tmp_path, fixtures_dir):
    turns = await talk(f"{EXAMPLES / 'plain_assistant.py'}:agent", fixtures_dir / "two_questions.wav", tmp_path)
    assert turns[0]["agent_text"].startswith("Hello!") and turns[0]["interrupted"], turns
    asked = [t for t in turns[1:] if t.get("user_text")]
    assert asked and ("7" in asked[0]["user_text"] or "seven" in asked[0]["user_text"].lower()), asked
    assert "42" in asked[0]["agent_text"], asked


async def test_the_kitchen_helper_calls_its_tools_through_an_openai_endpoint(tmp_path, fixtures_dir):
    fake = FakeOpenAI()
    fake.scripts = [
        [{"tool_calls": [{"index": 0, "id": "t1", "function": {"name": "set_timer", "arguments": '{"minutes": 5}'}}]}],
        [{"content": "Your timer is set for five minutes."}],
    ]
    async with fake.serve() as url:
        env = {"VAGUS_LLM_BASE_URL": url, "VAGUS_LLM_MODEL": "scripted"}
        turns = await talk(f"{EXAMPLES / 'kitchen_tools.py'}:agent", fixtures_dir / "hello.wav", tmp_path, env)
    first, second = fake.requests[0]["body"], fake.requests[1]["body"]
    assert [t["function"]["name"] for t in first["tools"]] == ["set_timer", "convert", "recipe"]
    assert first["messages"][0]["content"].startswith("You are a kitchen helper")
    assert first["messages"][-1]["role"] == "user" and first["messages"][-1]["content"]  # the words heard
    assert second["messages"][-1] == {"role": "tool", "tool_call_id": "t1", "content": "timer set for 5 minutes"}
    assert any(t.get("agent_text") == "Your timer is set for five minutes." for t in turns), turns


def call(call_id: str, name: str, arguments: str) -> dict:
    return {"tool_calls": [{"index": 0, "id": call_id, "function": {"name": name, "arguments": arguments}}]}


def tool_names(request: dict) -> list[str]:
    return [t["function"]["name"] for t in request["body"].get("tools", [])]


async def test_the_table_booking_flow_moves_step_by_step(tmp_path, fixtures_dir):
    import numpy as np
    import soundfile as sf

    audio, rate = sf.read(fixtures_dir / "two_questions.wav", dtype="float32")
    calls = tmp_path / "after_the_greeting.wav"  # the caller waits for the greeting, then answers twice
    sf.write(
        calls, np.concatenate([np.zeros(int(4.5 * rate), np.float32), audio, np.zeros(3 * rate, np.float32)]), rate
    )
    fake = FakeOpenAI()
    fake.scripts = [
        [call("c1", "record_guest", '{"name": "Alice"}')],
        [{"content": "Thanks Alice. How many of you, and when?"}],
        [call("c2", "record_party", '{"party_size": 2, "time": "8 pm"}')],
        [{"content": "Two at 8 pm under Alice. Shall I book it?"}],
    ]
    async with fake.serve() as url:
        env = {"VAGUS_LLM_BASE_URL": url, "VAGUS_LLM_MODEL": "scripted"}
        timeline = await talk_timeline(f"{EXAMPLES / 'table_booking.py'}:agent", calls, tmp_path, env)
    requests = fake.requests
    assert len(requests) == 4, [r["body"]["messages"][-1] for r in requests]
    assert tool_names(requests[0]) == ["record_guest"]
    assert "Current step (party)" in requests[1]["body"]["messages"][0]["content"]
    assert "Known so far: name: Alice." in requests[1]["body"]["messages"][0]["content"]
    assert tool_names(requests[2]) == ["record_party"]
    assert tool_names(requests[3]) == ["book_table", "go_to_party"]
    moves = [(e["from_node"], e["to_node"]) for e in timeline["events"] if e["type"] == "flow_moved"]
    assert moves == [("guest", "party"), ("party", "confirm")]
    said = [t.get("agent_text") for t in timeline["turns"]]
    assert said[0].startswith("Luigi's, good evening!") and "Shall I book it?" in said[-1], said


async def test_the_robot_acts_and_reports_what_it_did(tmp_path, fixtures_dir):
    fake = FakeOpenAI()
    fake.scripts = [
        [
            {"content": "On my way."},
            call("m1", "drive", '{"metres": 0.5}'),
            {"tool_calls": [{"index": 1, "id": "l1", "function": {"name": "lights", "arguments": '{"mode": "blue"}'}}]},
        ],
        [{"content": "I drove half a metre and my lights are blue."}],
    ]
    async with fake.serve() as url:
        env = {"VAGUS_LLM_BASE_URL": url, "VAGUS_LLM_MODEL": "scripted"}
        timeline = await talk_timeline(f"{EXAMPLES / 'robot.py'}:agent", fixtures_dir / "hello.wav", tmp_path, env)
    second = fake.requests[1]["body"]["messages"]
    results = {m["tool_call_id"]: m["content"] for m in second if m["role"] == "tool"}
    assert results == {"m1": "drove 0.5 m", "l1": "lights blue"}
    assert "session" not in json.dumps(fake.requests[0]["body"]["tools"])  # the handle is not the model's
    actions = [(e["name"], e["status"]) for e in timeline["events"] if e["type"] == "agent_action"]
    assert ("drive", "started") in actions and ("drive", "done") in actions and ("lights", "done") in actions
    assert actions.index(("drive", "started")) < actions.index(("drive", "done"))


def test_the_yaml_booking_flow_loads_and_names_only_tools_it_has():
    from vagus import Agent
    from vagus.brain.flow import Flow
    from vagus.config import load_config

    config = load_config(EXAMPLES / "table_booking.yaml", env={})
    assert config.flow is not None and list(config.flow.nodes) == ["guest", "party", "confirm", "done"]
    Agent().check_flow(Flow.from_config(config.flow), config.tools.builtin)  # what the host checks at start


@pytest.mark.parametrize("fmt", ["pcm", "pcmu"])
async def test_the_device_client_talks_over_the_realtime_websocket(
    tmp_path, fixtures_dir, services, offline_config, fmt
):
    """examples/device_client.py against a live server: a question in, the spoken answer out, the
    loudspeaker stopped when the user cuts in (the barge-in recording)."""
    from aiohttp.test_utils import TestServer

    from vagus.agent.host import SessionHost
    from vagus.server.app import create_app
    from vagus.transports.webrtc import WebRTCGateway

    server = TestServer(create_app(WebRTCGateway(SessionHost(services, offline_config))), host="127.0.0.1")
    await server.start_server()
    speaker = tmp_path / "speaker.wav"
    try:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, str(EXAMPLES / "device_client.py"), f"ws://127.0.0.1:{server.port}/v1/realtime",
            str(fixtures_dir / "barge_in.wav"), str(speaker), "--format", fmt, "--tail", "4",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, err = await asyncio.wait_for(proc.communicate(), 120)
    finally:
        await server.close()
    assert proc.returncode == 0, err.decode()[-2000:]
    stats = json.loads(out.decode().strip().splitlines()[-1])
    assert stats["deltas"] > 50 and stats["transcripts"], stats
    # "Wait, stop please." cut the answer short. (The voice comes one 20 ms delta per tick, so a client
    # holds at most a frame or two: whether any was still queued when the news came is timing.)
    assert stats["cut_off"] >= 1, stats
    assert any("stop" in h.lower() for h in stats["heard"]), stats
    import soundfile as sf

    played, rate = sf.read(speaker, dtype="float32")
    assert rate == (24000 if fmt == "pcm" else 8000) and float(abs(played).max()) > 0.05
