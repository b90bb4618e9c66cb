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
    timeline = tmp_path / "timeline.json"
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "vagus", "talk", "--agent", agent, str(question), str(tmp_path / "out.wav"),
        "--transcript", str(timeline),
        env={**os.environ, **(env or {})}, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, err = await asyncio.wait_for(proc.communicate(), 300)
    assert proc.returncode == 0, err.decode()[-2000:]
    return json.loads(timeline.read_text())["turns"]


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
