"""Speculative work at the first silence (agent/speculation.py), on a virtual clock."""

from __future__ import annotations

import pytest

from tests.fakes import Step, make_rig, offline_config, silence, tone
from vagus.services.errors import ProviderError


async def test_without_speculation_the_words_are_transcribed_after_the_decision():
    config = offline_config(turns={"speculation": {"stt": False}})
    rig = make_rig(config, turns=[Step("What time is it?", delay=0.2)], answers=[Step("It is noon.", delay=0.3)])
    await rig.play(tone(1.0), tail_s=3.0)
    (ended,) = rig.of("turn_ended")
    (latency,) = rig.of("turn_latency")
    # decided → STT 0.2 → LLM 0.3 → TTS 0.05, then the next frame
    assert latency["t"] - ended["t"] == pytest.approx(0.55, abs=0.021)
    assert latency["speculative"] == []
    ((_, asked),) = rig.stt.calls
    assert asked == pytest.approx(ended["t"], abs=0.001)


async def test_a_pause_the_user_talks_through_wastes_a_draft_that_nobody_hears():
    config = offline_config(turns={"speculation": {"llm": True}})
    rig = make_rig(
        config,
        turns=[Step("Could you tell me"), Step("Could you tell me the time?")],
        answers=[Step("It is noon.")],
    )
    await rig.play(tone(0.6))
    await rig.play(silence(0.3))  # the VAD stops; the turn's 500 ms silence does not run out
    await rig.play(tone(0.6), tail_s=2.5)
    (ended,) = rig.of("turn_ended")
    assert [e["text"] for e in rig.of("transcript_final")] == ["Could you tell me the time?"]
    assert [kind for kind, _ in rig.stt.calls] == ["turn", "turn"]
    # unfinished words start no answer; the finished ones do, before the turn is decided
    assert len(rig.llm.prompts) == 1
    assert rig.llm.prompts[0][-1]["content"] == "Could you tell me the time?"
    assert rig.tts.spoken == ["It is noon."]
    speculation = rig.session.speculation
    assert (speculation.started, speculation.used) == (2, 1)
    (latency,) = rig.of("turn_latency")
    assert latency["speculative"] == ["stt", "llm"]
    # the words and the answer were ready at the decision: only the voice (0.05) and the frame remain
    assert latency["t"] - ended["t"] == pytest.approx(0.06, abs=0.021)


async def test_an_answer_started_ahead_is_dropped_when_the_user_goes_on():
    config = offline_config(turns={"speculation": {"llm": True}})
    rig = make_rig(
        config,
        turns=[Step("Turn on the lights."), Step("Turn on the lights in the kitchen.")],
        answers=[Step("Unheard.", delay=0.2), Step("Done.")],
    )
    await rig.play(tone(0.6))
    await rig.play(silence(0.35))
    await rig.play(tone(0.6), tail_s=2.5)
    assert [m[-1]["content"] for m in rig.llm.prompts] == [
        "Turn on the lights.",
        "Turn on the lights in the kitchen.",
    ]
    assert rig.tts.spoken == ["Done."]
    assert [e["text"] for e in rig.of("transcript_final")] == ["Turn on the lights in the kitchen."]
    # the conversation holds only the final words and the answer that was heard
    assert [m["content"] for m in rig.llm.prompts[1] if m["role"] != "system"] == ["Turn on the lights in the kitchen."]


async def test_a_speculative_answer_that_fails_is_asked_again_after_the_decision():
    config = offline_config(turns={"speculation": {"llm": True}})
    down = ProviderError("fake", "connection", "unreachable")
    rig = make_rig(config, turns=[Step("Hello there.")], answers=[Step(error=down), Step("Hi.")])
    await rig.play(tone(0.6), tail_s=2.0)
    assert rig.tts.spoken == ["Hi."]
    assert not rig.of("error")
    assert len(rig.llm.prompts) == 2


async def test_a_failed_speculative_transcription_counts_as_the_first_attempt():
    auth = ProviderError("fake", "auth", "bad key")
    rig = make_rig(turns=[Step(error=auth), Step("never asked")])
    await rig.play(tone(0.6), tail_s=2.0)
    (error,) = rig.of("error")
    assert (error["stage"], error["kind"]) == ("stt", "auth")
    assert len(rig.stt.calls) == 1  # not retryable: reported at the decision, not asked again


async def test_closing_the_session_cancels_the_draft():
    rig = make_rig(turns=[Step("Hello.", delay=5.0)])
    await rig.play(tone(0.6), tail_s=0.2)
    draft = rig.session.speculation.draft
    assert draft is not None and draft.words is not None and not draft.words.done()
    await rig.session.close()
    await rig.play(silence(0.04))
    assert draft.words.cancelled()


async def test_a_turn_is_decided_when_its_silence_runs_out_not_at_the_next_frame():
    """Frames arrive when complete (a live transport); the silence ends between two of them."""
    from tests.fakes import RATE, settle

    rig = make_rig(turns=[Step("Hello.")])
    session, clock = rig.session, rig.clock
    audio = __import__("numpy").concatenate([tone(0.61), silence(1.0)])
    n = int(RATE * 0.02)
    for i in range(0, len(audio), n):
        t = i / RATE
        for _ in range(20):  # time passes in 1 ms steps while the frame is captured
            clock.set(round(clock.now() + 0.001, 6))
            await settle()
        session.push_audio(audio[i : i + n], t)
        await settle()
    (ended,) = rig.of("turn_ended")
    assert ended["t"] - ended["speech_end"] == pytest.approx(0.5, abs=0.0011)
    assert ended["t"] != pytest.approx(round(ended["t"] / 0.02) * 0.02, abs=0.001)
