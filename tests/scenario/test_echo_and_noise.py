"""The ear's front end inside whole conversations: a loudspeaker next to the microphone, and noise.

Measured before these tests left `wip`: 12 of 12 barge-ins over the loudspeaker decided 163-263 ms
after the user's onset, and no self-interruption in 6 runs (a pause on the canceller's residual
resumes once nothing, or our own words, is transcribed). Since the user-level check
(turns/speech_level.py): 25 of 26 barge-ins at 60/-6 and 200/-10 within 163-263 ms here, pauses on
the residue rare; one seen on a clean CI run resumed on a filler Whisper heard in it. A CI run then
decided a barge-in 763 ms late: AEC3 had removed the user's "Wait" with the echo. Since the linear
double-talk path (senses/double_talk.py): cut-ins swept through recorded answers decide within
300 ms in 85 % of positions instead of 74 %, 8 missed instead of 32 (benchmarks/barge_in_sweep.py,
docs/senses.md); whole sessions on a CPU loaded by a second process: 18 of 18 runs of these
loudspeaker scenarios pass."""

from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import load_fixture
from vagus.audio.room import EchoPath
from vagus.transports.file import FRAME_SECONDS
from vagus.transports.file import run_conversation as _run_conversation

pytestmark = pytest.mark.slow


def run_conversation(*args, **kwargs):  # type: ignore[no-untyped-def]
    """Model calls take no media time here: what these tests check happens at fixed points of the
    audio (words over the agent's answer), which must not move with the CPU's speed or load."""
    return _run_conversation(*args, instant=True, **kwargs)


def with_echo(config, enabled: bool):
    config = config.model_copy(deep=True)
    config.senses.echo.enabled = enabled
    return config


def interruptions(result) -> list[dict]:
    return [e for e in result.events if e["type"] == "interruption"]


async def test_agent_does_not_interrupt_itself_through_the_loudspeaker(services, offline_config):
    audio, rate = load_fixture("long_question")
    tail = np.zeros(rate * 8, np.float32)  # the user stays quiet while the agent answers
    audio = np.concatenate([audio, tail])
    result = await run_conversation(
        audio, rate, services, with_echo(offline_config, True), echo_path=EchoPath(16000, 60, 0.0)
    )
    timeline = [
        (e["type"], e["t"], e.get("reason"), e.get("user_text")) for e in result.events if e["type"] != "senses"
    ]
    assert interruptions(result) == [], timeline
    # At most one brief pause on the canceller's residue early in the answer (docs/senses.md), which
    # resumes: Whisper hears nothing, our own words, or a filler ("Okay.") in it.
    pauses = [e for e in result.events if e["type"] == "agent_paused"]
    resumed = [e for e in result.events if e["type"] == "agent_resumed"]
    assert len(pauses) <= 1 and len(resumed) == len(pauses), timeline
    assert all(e["reason"] in ("nothing", "echo", "backchannel") for e in resumed), timeline
    answered = [t for t in result.turns if t.get("agent_text")]
    assert len(answered) == 1 and not answered[0]["interrupted"]
    assert "agent_audio_end" in answered[0]  # played to the end
    senses = [e for e in result.events if e["type"] == "senses"]
    assert senses and senses[-1]["stages"] == ["aec3"] and senses[-1]["cost_us"]["aec3"] > 0


async def test_without_echo_cancellation_the_same_setup_self_interrupts(services, offline_config):
    """The control: proves the test above would catch a missing or broken canceller."""
    audio, rate = load_fixture("long_question")
    audio = np.concatenate([audio, np.zeros(rate * 8, np.float32)])
    result = await run_conversation(
        audio, rate, services, with_echo(offline_config, False), echo_path=EchoPath(16000, 60, 0.0)
    )
    assert interruptions(result)


@pytest.mark.parametrize(("delay_ms", "gain_db"), [(60, -6.0), (200, -10.0)])
async def test_barge_in_over_the_loudspeaker_within_300_ms(services, offline_config, manifest, delay_ms, gain_db):
    audio, rate = load_fixture("barge_in")
    result = await run_conversation(
        audio, rate, services, with_echo(offline_config, True), echo_path=EchoPath(16000, delay_ms, gain_db)
    )
    cuts = interruptions(result)
    assert len(cuts) == 1, [(e["type"], e["t"]) for e in result.events]
    onset = manifest["barge_in"][1]["start"]
    assert 0 < cuts[0]["stopped_at"] - onset < 0.3
    # the agent's audio stops on the next frame, and the user's words come through the canceller
    start = int((cuts[0]["stopped_at"] + FRAME_SECONDS) * rate)
    assert not result.output[start : start + int(0.3 * rate)].any()
    assert "stop" in result.turns[-1].get("user_text", "").lower()


async def test_noise_alone_produces_no_user_turn(services, offline_config):
    rng = np.random.default_rng(3)
    rate = 16000
    n = rate * 10
    spectrum = np.fft.rfft(rng.standard_normal(n)) / np.sqrt(np.maximum(np.fft.rfftfreq(n, 1 / rate), 20))
    pink = np.fft.irfft(spectrum, n)
    hum = np.sin(2 * np.pi * 120 * np.arange(n) / rate)  # a fan's motor
    noise = (pink / np.std(pink) * 0.05 + hum * 0.02).astype(np.float32)
    for denoise in (None, "gtcrn", "dfn3", "rnnoise"):
        config = offline_config.model_copy(deep=True)
        config.senses.denoise.enabled = denoise is not None
        config.senses.denoise.engine = denoise or "gtcrn"
        result = await run_conversation(noise, rate, services, config)
        assert result.turns == [], (denoise, result.turns)
        starts = [e for e in result.events if e["type"] == "user_speech_started"]
        # RNNoise's artefacts on pink noise can briefly look like speech (docs/senses.md); too short for a turn
        assert len(starts) <= (1 if denoise == "rnnoise" else 0), denoise
