"""Turn-taking through a whole session, with audio built by the TTS: backchannels and noise over the
agent do not interrupt it, a real interruption does, and the end of a complete question is found
quickly."""

from __future__ import annotations

import asyncio
import dataclasses

import numpy as np
import pytest

from tests.conftest import load_fixture
from vagus.audio.resample import resample
from vagus.transports.file import run_conversation as _run_conversation

pytestmark = pytest.mark.slow


def run_conversation(*args, **kwargs):  # type: ignore[no-untyped-def]
    """Model calls take no media time here: what these tests check happens at fixed points of the
    audio (words over the agent's answer), which must not move with the CPU's speed or load."""
    return _run_conversation(*args, instant=True, **kwargs)


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


async def test_words_that_stop_mid_sentence_wait_for_the_rest(services, offline_config):
    first, rest = say(services, "Could you tell me"), say(services, "how far away the moon is?")
    resume = 0.5 + len(first) / R + 0.8
    audio = np.concatenate(
        [np.zeros(R // 2, np.float32), first, np.zeros(int(0.8 * R), np.float32), rest, np.zeros(5 * R, np.float32)]
    )
    result = await run_conversation(audio, R, services, offline_config)
    answered = [t for t in result.turns if t.get("agent_text")]
    assert len(answered) == 1 and "moon" in answered[0]["user_text"].lower(), result.turns
    assert answered[0]["agent_audio_start"] > resume  # nothing said into the pause
    assert events(result, "interruption") == []


class SlowLLM:
    """The offline brain behind a slow first token, as a hosted model or a tool call can be."""

    name = "slow"

    def __init__(self, llm, delay_s: float) -> None:
        self.llm, self.delay_s = llm, delay_s

    async def stream(self, messages):
        await asyncio.sleep(self.delay_s)
        async for delta in self.llm.stream(messages):
            yield delta


@pytest.mark.parametrize("enabled", [True, False])
async def test_a_slow_answer_is_acknowledged_only_when_configured(services, offline_config, enabled):
    config = offline_config.model_copy(deep=True)
    config.turns.acknowledgement.enabled = enabled
    config.turns.acknowledgement.after_ms = 600
    slow = dataclasses.replace(services, llm=SlowLLM(services.llm, 2.0))
    audio, rate = load_fixture("hello")
    audio = np.concatenate([audio, np.zeros(rate * 7, np.float32)])
    sessions: list = []
    result = await run_conversation(audio, rate, slow, config, on_session=sessions.append)
    cues = events(result, "agent_cue")
    answered = [t for t in result.turns if t.get("agent_text")]
    assert len(answered) == 1
    if not enabled:
        assert cues == []
        return
    assert len(cues) == 1 and cues[0]["kind"] == "acknowledgement" and cues[0]["text"] == "Let me think."
    turn = answered[0]
    assert turn["turn_decided"] + 0.6 <= cues[0]["t"] < turn["agent_audio_start"]
    cue_audio = result.output[int(cues[0]["t"] * rate) : int((cues[0]["t"] + 0.3) * rate)]
    assert np.abs(cue_audio).max() > 0.01  # it was heard
    context = " ".join(e.content for e in sessions[0].conversation.entries)
    assert "Let me think" not in context  # a cue is not part of the answer


async def test_the_agent_says_mm_hm_when_the_user_pauses_mid_turn_and_never_over_them(services, offline_config):
    config = offline_config.model_copy(deep=True)
    config.turns.agent_backchannels.enabled = True
    config.turns.agent_backchannels.min_turn_s = 2.0
    # this test is about the cue, not the model: smart-turn's view of Piper's "and, um," varies between
    # runs, so every pause is made to count as unfinished
    config.turns.end_of_turn.threshold = 0.999
    first = say(services, "So last summer I went to Italy with my whole family, and, um,")
    rest = say(services, "we visited Rome.")
    loud = np.flatnonzero(np.abs(first) > 0.02 * np.abs(first).max())
    words_end = 0.5 + (loud[-1] + 1) / R  # Piper ends its audio with a little silence
    resume = 0.5 + len(first) / R + 1.0  # within the 1.5 s wait for an unfinished turn
    audio = np.concatenate(
        [np.zeros(R // 2, np.float32), first, np.zeros(int(1.0 * R), np.float32), rest, np.zeros(5 * R, np.float32)]
    )
    result = await run_conversation(audio, R, services, config)
    cues = events(result, "agent_cue")
    assert len(cues) == 1 and cues[0]["kind"] == "backchannel", result.events
    assert words_end + 0.7 <= cues[0]["t"] < resume
    # the cue stops on the frame after the VAD hears the user again, and nothing is said over them
    heard_again = min(e["t"] for e in events(result, "user_speech_started") if e["t"] > cues[0]["t"])
    window = result.output[int((heard_again + 0.02) * R) : int((resume + len(rest) / R - 0.1) * R)]
    assert not window.any(), (np.flatnonzero(window)[:3] / R + heard_again, result.events)
    answered = [t for t in result.turns if t.get("agent_text")]
    assert len(answered) == 1 and "rome" in answered[0]["user_text"].lower()


async def test_a_locked_agent_answers_its_enrolled_speaker_and_ignores_another_real_voice(
    services, offline_config, tmp_path, monkeypatch
):
    """Real human voices (tests/fixtures/speakers): the reader is enrolled from one recording; in the
    conversation the card player's turn is ignored and the reader's other sentence is answered."""
    from pathlib import Path

    from vagus.audio.wav import read_audio
    from vagus.perception.enrol import enrol
    from vagus.perception.vault import VoiceprintVault, new_key, read_key
    from vagus.perception.voiceprint import VoiceEncoder
    from vagus.senses.silero import SileroModel
    from vagus.transports.file import run_conversation

    monkeypatch.setenv("VAGUS_VOICEPRINT_KEY", new_key())
    speakers = Path(__file__).resolve().parents[1] / "fixtures" / "speakers"
    encoder = VoiceEncoder()
    vault = VoiceprintVault(tmp_path / "vault", read_key())
    enrol(vault, "Reader", speakers / "reader_0870.flac", encoder, SileroModel(), consent=True)
    reader, _ = read_audio(speakers / "reader_0890.flac")
    cards, _ = read_audio(speakers / "cards_005.flac")
    gap = np.zeros(5 * R, np.float32)
    audio = np.concatenate([np.zeros(R // 2, np.float32), cards, gap, reader, gap])
    config = offline_config.model_copy(deep=True)
    config.perception.speaker.lock = "primary"
    config.perception.speaker.primary = "Reader"
    config.perception.vault.path = str(tmp_path / "vault")
    result = await run_conversation(audio, R, dataclasses.replace(services, voice=encoder), config)
    identified = [(e["decision"], e["name"]) for e in result.events if e["type"] == "speaker_identified"]
    assert identified == [("other", None), ("same", "Reader")], identified
    skipped = [e["reason"] for e in result.events if e["type"] == "turn_skipped"]
    assert skipped == ["another voice"]
    answered = [t for t in result.turns if t.get("agent_text")]
    assert len(answered) == 1 and "selfish" in answered[0]["user_text"].lower(), answered
