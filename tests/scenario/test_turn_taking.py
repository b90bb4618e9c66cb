"""Turn-taking through a whole session, with audio built by the TTS: backchannels and noise over the
agent do not interrupt it, a real interruption does, and the end of a complete question is found
quickly."""

from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import load_fixture
from vagus.audio.resample import resample
from vagus.transports.file import run_conversation

pytestmark = pytest.mark.slow
R = 16000


def say(services, text: str) -> np.ndarray:
    tts = services.tts
    pcm = np.concatenate(list(tts._synthesise(text)))
    return resample(pcm, tts.sample_rate, R)


def question_then(services, over_agent: np.ndarray, at: float) -> tuple[np.ndarray, float]:
    """The long question, then `over_agent` starting `at` seconds into the file, then quiet."""
    question, rate = load_fixture("long_question")
    assert rate == R
    audio = np.zeros(int((at + 9) * R), np.float32)
    audio[: len(question)] = question
    start = int(at * R)
    audio[start : start + len(over_agent)] += over_agent
    return audio, at


def events(result, kind):
    return [e for e in result.events if e["type"] == kind]


@pytest.mark.parametrize("backchannel", ["Yeah.", "Okay."])
async def test_a_backchannel_over_the_agent_pauses_it_briefly_and_it_goes_on(services, offline_config, backchannel):
    audio, _at = question_then(services, say(services, backchannel) * 0.8, 6.0)
    result = await run_conversation(audio, R, services, offline_config)
    assert events(result, "interruption") == []
    resumed = events(result, "agent_resumed")
    assert len(resumed) == 1 and resumed[0]["reason"] == "backchannel", resumed
    answered = [t for t in result.turns if t.get("agent_text")]
    assert len(answered) == 1 and not answered[0]["interrupted"] and "agent_audio_end" in answered[0]
    assert len(result.turns) == 1  # the backchannel is no turn of its own


async def test_a_noise_burst_over_the_agent_does_not_interrupt_it(services, offline_config):
    rng = np.random.default_rng(5)
    n = int(0.5 * R)
    burst = (rng.standard_normal(n) * np.hanning(n) * 0.3).astype(np.float32)  # a clatter / a cough's breath
    audio, _at = question_then(services, burst, 6.0)
    result = await run_conversation(audio, R, services, offline_config)
    assert events(result, "interruption") == []
    answered = [t for t in result.turns if t.get("agent_text")]
    assert len(answered) == 1 and not answered[0]["interrupted"]
    for e in events(result, "agent_resumed"):
        assert e["reason"] == "nothing"


async def test_a_short_real_interruption_stops_the_agent_and_is_answered(services, offline_config):
    audio, at = question_then(services, say(services, "Stop.") * 0.8, 6.0)
    result = await run_conversation(audio, R, services, offline_config)
    cuts = events(result, "interruption")
    assert len(cuts) == 1 and cuts[0]["reason"] == "speech" and "stop" in cuts[0]["user_text"].lower()
    assert cuts[0]["stopped_at"] - at < 0.3 + 0.05  # the TTS's own leading silence is up to ~50 ms
    assert len(result.turns) == 2 and "stop" in result.turns[1]["user_text"].lower()
    assert result.turns[0]["heard_text"] and result.turns[0]["interrupted"]


async def test_a_complete_question_ends_its_turn_within_300_ms(services, offline_config, manifest):
    audio, rate = load_fixture("two_questions")
    result = await run_conversation(audio, rate, services, offline_config)
    for turn, spoken in zip(result.turns, manifest["two_questions"], strict=True):
        assert turn["end_of_turn"]["reason"] == "model_complete"
        assert turn["turn_decided"] - spoken["end"] < 0.3
