"""How the user sounds: pitch tracking, per-turn measurements, readings against the speaker's own
baseline, the tag the model sees and the pace of the voice."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pytest

from tests.fakes import Step, make_rig, offline_config, silence, tone
from vagus.audio.wav import read_audio
from vagus.perception.prosody import ProsodyTracker, measure, pitch_track
from vagus.services.llm.offline import OfflineBrain

SPEAKERS = Path(__file__).resolve().parents[1] / "fixtures" / "speakers"


def voice(f0: float, seconds: float = 1.0, level: float = 0.2) -> np.ndarray:
    t = np.arange(int(16000 * seconds)) / 16000
    return (level * sum(np.sin(2 * np.pi * f0 * k * t) / k for k in range(1, 6))).astype(np.float32)


@pytest.mark.parametrize("f0", [80.0, 120.0, 200.0, 310.0])
def test_the_pitch_of_a_voiced_sound_is_tracked(f0):
    track = pitch_track(voice(f0))
    assert (track > 0).mean() > 0.95
    assert np.median(track[track > 0]) == pytest.approx(f0, rel=0.01)
    assert (pitch_track(np.zeros(16000, np.float32)) == 0).all()  # silence is unvoiced


def test_real_voices_are_measured():
    reader, _ = read_audio(SPEAKERS / "reader_0870.flac")
    said = "and mister john dashwood had then leisure to consider how much there might be prudently in his power"
    p = measure(reader, said)
    assert 80 < p.pitch_hz < 160  # a man's voice
    assert 2.0 < p.words_per_s < 5.0 and 0 < p.pause_share < 0.5 and -40 < p.level_db < -10


def test_a_turn_is_read_against_the_speakers_own_baseline():
    tracker = ProsodyTracker()
    calm = tracker.read(voice(110, 2.0, 0.1), "I would like a table tonight")
    assert calm.tags == [] and calm.tag() == ""
    agitated = tracker.read(voice(170, 1.0, 0.4), "This is terrible, I hate it, it is broken again!")
    assert agitated.arousal > 0.45 and agitated.valence < -0.3
    assert agitated.tags[:2] == ["upset", "fast"] and "loud" in agitated.tags
    assert agitated.tag().startswith("[sounds: upset, fast")
    assert agitated.speed <= 0.9  # calmer and slower for someone upset


async def test_the_model_hears_how_the_turn_sounded_and_the_voice_follows():
    rig = make_rig(
        config=offline_config(perception={"prosody": {"enabled": True, "match_voice": True}}),
        turns=[Step("I hate this, it is broken again and again!")],
        answers=[Step("I'm sorry, let's fix it.")],
    )
    await rig.play(tone(1.0), tail_s=0.6)
    for _ in range(200):  # the measurement runs on a worker thread: let it come back
        if rig.llm.prompts:
            break
        await asyncio.sleep(0.005)
        await rig.play(silence(0.02))
    await rig.play(silence(3.0))
    assert "never read it out" in rig.llm.prompts[0][0]["content"]  # the model knows what the tag is
    asked = rig.llm.prompts[0][-1]["content"]
    assert asked.startswith("I hate this") and asked.endswith("]") and "[sounds: " in asked
    (reading,) = rig.of("user_prosody")
    assert "fast" in reading["tags"] and reading["valence"] < 0
    assert rig.tts.speeds and all(s == reading["voice_speed"] for s in rig.tts.speeds)
    shown = [e["text"] for e in rig.of("transcript_final")]
    assert shown == ["I hate this, it is broken again and again!"]  # the page shows the words only


def test_the_rule_brain_ignores_the_tag():
    brain = OfflineBrain()
    reply = brain.reply([{"role": "user", "content": "Repeat after me hello world [sounds: fast]"}])
    assert reply == "hello world."
