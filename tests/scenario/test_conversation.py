"""Real audio through a whole session via the file transport, with the real offline models."""

from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import load_fixture
from tests.fake_openai import free_port
from vagus.agent.services import Services
from vagus.services.llm.openai_compat import OpenAICompatibleLLM
from vagus.transports.file import FRAME_SECONDS, run_conversation

pytestmark = pytest.mark.slow


def window(output: np.ndarray, rate: int, start: float, end: float) -> np.ndarray:
    return output[int(start * rate) : int(end * rate)]


def peak(x: np.ndarray) -> float:
    return float(np.max(np.abs(x))) if x.size else 0.0


async def test_two_turns_are_heard_understood_and_answered_in_time(services, offline_config, manifest):
    audio, rate = load_fixture("two_questions")
    sessions = []
    result = await run_conversation(audio, rate, services, offline_config, on_session=sessions.append)
    turns = [t for t in result.turns if t.get("user_text")]
    assert len(turns) == 2, result.turns
    first, second = turns
    assert "7" in first["user_text"] or "seven" in first["user_text"].lower()
    assert "42" in first["agent_text"]
    assert "alice" in second["user_text"].lower() and "Alice" in second["agent_text"]

    # the agent's track is aligned with the input: silent while the user speaks, voiced when it answers
    assert len(result.output) >= len(audio)
    for spoken in manifest["two_questions"]:
        assert peak(window(result.output, rate, spoken["start"], spoken["end"])) == 0.0
    for turn in turns:
        assert turn["agent_audio_start"] > turn["speech_end"]
        assert peak(window(result.output, rate, turn["agent_audio_start"], turn["agent_audio_end"])) > 0.1
        latency = turn["latency"]
        assert latency["response_ms"] == pytest.approx((turn["agent_audio_start"] - turn["speech_end"]) * 1000, abs=1)
        marks = latency["marks"]
        order = ["speech_end", "turn_decided", "stt_done", "first_sentence", "tts_first_audio", "first_audio_sent"]
        assert [marks[k] for k in order] == sorted(marks[k] for k in order)
        assert {"stt", "llm_first_sentence", "tts_first_audio"} <= set(latency["stages_ms"])

    # multi-turn context: both exchanges are remembered, in order
    entries = [(e.role, e.content) for e in sessions[0].conversation.entries]
    assert [r for r, _ in entries] == ["user", "assistant", "user", "assistant"]
    assert "42" in entries[1][1]


async def test_barge_in_silences_the_agent_within_one_frame(services, offline_config, manifest):
    audio, rate = load_fixture("barge_in")
    sessions = []
    result = await run_conversation(audio, rate, services, offline_config, on_session=sessions.append)
    interruptions = [e for e in result.events if e["type"] == "interruption"]
    assert len(interruptions) == 1, [e["type"] for e in result.events]
    cut = interruptions[0]
    answered = result.turns[0]
    assert answered["interrupted"] and answered["turn"] == cut["turn"]

    onset = manifest["barge_in"][1]["start"]
    stopped = cut["stopped_at"]
    assert stopped - onset < 0.3  # the agent's voice stopped within 300 ms of the user's speech onset
    assert cut["reason"] in ("long_speech", "speech") and cut["t"] >= stopped
    # audio was playing up to the pause, and is silent from the next frame on
    assert peak(window(result.output, rate, stopped - 0.3, stopped)) > 0.05
    next_start = min((t["agent_audio_start"] for t in result.turns[1:] if "agent_audio_start" in t), default=None)
    quiet_until = min(stopped + 0.5, next_start or 1e9)
    assert peak(window(result.output, rate, stopped + FRAME_SECONDS, quiet_until)) == 0.0

    # the context holds only what was heard, marked as interrupted
    heard = cut["heard_text"]
    assert heard and answered["agent_text"].startswith(heard) and len(heard) < len(answered["agent_text"])
    entry = sessions[0].conversation.entries[1]
    assert entry.role == "assistant" and entry.interrupted and entry.content == heard


async def test_silence_produces_no_turn_and_a_silent_aligned_track(services, offline_config):
    rate = 24000
    audio = np.zeros(rate * 3, dtype=np.float32)
    result = await run_conversation(audio, rate, services, offline_config)
    assert result.turns == []
    assert len(audio) <= len(result.output) <= len(audio) + rate
    assert peak(result.output) == 0.0


async def test_unreachable_llm_makes_the_agent_say_so(services, offline_config):
    audio, rate = load_fixture("hello")
    broken = OpenAICompatibleLLM(f"http://127.0.0.1:{free_port()}/v1", "m", connect_timeout_s=1)
    swapped = Services(vad=services.vad, stt=services.stt, llm=broken, tts=services.tts)
    result = await run_conversation(audio, rate, swapped, offline_config)
    await broken.close()
    errors = [e for e in result.events if e["type"] == "error"]
    assert errors and errors[0]["kind"] == "connection"
    assert "can't reach my language model" in result.turns[0]["agent_text"]
    assert peak(result.output) > 0.05
