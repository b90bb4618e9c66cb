"""A whole session on a virtual clock with scripted providers: every decision at an exact time."""

from __future__ import annotations

import asyncio

import pytest

from tests.fakes import Step, make_rig, offline_config, silence, tone
from vagus.services.errors import ProviderError


async def test_a_turn_is_answered_after_the_silence_and_the_providers_delays():
    rig = make_rig(turns=[Step("What time is it?", delay=0.2)], answers=[Step("It is noon.", delay=0.3)])
    await rig.play(silence(0.5))
    await rig.play(tone(1.0), tail_s=3.0)
    (ended,) = rig.of("turn_ended")
    assert ended["speech_start"] == pytest.approx(0.5, abs=0.033)
    assert ended["speech_end"] == pytest.approx(1.5, abs=0.033)
    # silence_ms 500 after the speech end, on the frame grid
    assert ended["t"] == pytest.approx(ended["speech_end"] + 0.5, abs=0.041)
    (final,) = rig.of("transcript_final")
    assert final["text"] == "What time is it?"
    (latency,) = rig.of("turn_latency")
    # the words were transcribed speculatively 64 ms into the silence (turns.speculation.after_ms), so
    # after the decision only the LLM (0.3) and TTS (0.05) are waited, then the next frame
    ((_, asked),) = rig.stt.calls
    assert asked - ended["speech_end"] == pytest.approx(0.064, abs=0.021)
    assert latency["t"] - ended["t"] == pytest.approx(0.36, abs=0.021)
    assert latency["speculative"] == ["stt"] and latency["stages_ms"]["stt"] < 5
    assert rig.tts.spoken == ["It is noon."]
    (stopped,) = rig.of("agent_speech_stopped")
    assert not stopped["interrupted"]


LONG_ANSWER = "One two three four five six seven eight nine ten eleven twelve."


async def agent_talking(rig) -> float:  # type: ignore[no-untyped-def]
    """The user asks; the agent starts a long answer. Returns when its audio started."""
    await rig.play(tone(0.6), tail_s=1.0)
    (started,) = rig.of("agent_speech_started")
    return started["t"]


async def test_speech_over_the_agent_pauses_it_then_words_interrupt():
    rig = make_rig(
        turns=[Step("Tell me a story.")], judge=[Step("Wait, stop.")], answers=[Step(LONG_ANSWER, delay=0.1)]
    )
    await agent_talking(rig)
    await rig.play(silence(1.0))
    onset = rig.clock.now()
    await rig.play(tone(0.5), tail_s=1.5)
    (paused,) = rig.of("agent_paused")
    assert paused["speech_start"] == pytest.approx(onset, abs=0.033)
    # barge_in_min_speech_ms (96) after the onset, on the VAD's 32 ms chunks
    assert 0.096 <= paused["t"] - paused["speech_start"] <= 0.096 + 0.064
    (cut,) = rig.of("interruption")
    assert cut["reason"] == "speech" and cut["user_text"] == "Wait, stop."
    heard = cut["heard_text"].split()
    assert 0 < len(heard) < len(LONG_ANSWER.split())
    # the turn that cut in waits after_interruption_silence_ms (600) for more words, not silence_ms (500)
    (_, second) = rig.of("turn_ended")
    assert second["t"] - second["speech_end"] == pytest.approx(0.6, abs=0.041)
    # the judged words became the next turn without a second transcription
    assert [kind for kind, _ in rig.stt.calls] == ["turn", "judge"]
    assert [e["text"] for e in rig.of("transcript_final")] == ["Tell me a story.", "Wait, stop."]
    # the context holds only what the user heard
    assistant = [m for m in rig.llm.prompts[-1] if m["role"] == "assistant"]
    assert assistant[-1]["content"].startswith(" ".join(heard))
    # nothing of the cut answer is played after the pause
    pause_frame = round(paused["t"] / 0.02)
    resumed_audio = [f for f in rig.played[pause_frame + 1 : pause_frame + 10] if f.any()]
    assert not resumed_audio


async def test_a_backchannel_over_the_agent_resumes_the_answer():
    rig = make_rig(turns=[Step("Tell me a story.")], judge=[Step("Mm-hmm.")], answers=[Step(LONG_ANSWER)])
    await agent_talking(rig)
    await rig.play(tone(0.3), tail_s=4.0)
    assert len(rig.of("agent_paused")) == 1
    (resumed,) = rig.of("agent_resumed")
    assert resumed["reason"] == "backchannel"
    assert not rig.of("interruption")
    assert len(rig.of("turn_ended")) == 1  # a backchannel is no turn
    (stopped,) = rig.of("agent_speech_stopped")
    assert not stopped["interrupted"]


async def test_long_speech_over_the_agent_interrupts_without_waiting_for_words():
    rig = make_rig(turns=[Step("Tell me a story."), Step("No no no.")], answers=[Step(LONG_ANSWER)])
    await agent_talking(rig)
    onset = rig.clock.now()
    await rig.play(tone(1.2), tail_s=1.0)
    (cut,) = rig.of("interruption")
    assert cut["reason"] == "long_speech"
    assert cut["t"] - onset == pytest.approx(0.8, abs=0.05)  # confirm_speech_ms


async def test_an_unfinished_transcript_is_held_and_continued_by_more_speech():
    rig = make_rig(turns=[Step("Could you tell me"), Step("Could you tell me the time?")])
    await rig.play(tone(0.8), tail_s=0.8)
    (held,) = rig.of("turn_held")
    assert held["text"] == "Could you tell me"
    await rig.play(tone(0.6), tail_s=2.0)
    assert len(rig.of("turn_continued")) == 1
    finals = [e["text"] for e in rig.of("transcript_final")]
    assert finals == ["Could you tell me the time?"]
    # the wait for more words is the turn policy, not framework overhead
    (latency,) = rig.of("turn_latency")
    assert "held" not in latency["stages_ms"] or latency["overhead_ms"] < 50


async def test_a_slow_answer_gets_an_acknowledgement():
    config = offline_config(turns={"acknowledgement": {"enabled": True, "after_ms": 500}})
    rig = make_rig(config, turns=[Step("Hard question?")], answers=[Step("Done.", delay=2.0)])
    await rig.play(tone(0.6), tail_s=3.5)
    (cue,) = rig.of("agent_cue")
    (ended,) = rig.of("turn_ended")
    assert cue["kind"] == "acknowledgement"
    assert cue["t"] - ended["t"] == pytest.approx(0.5, abs=0.021)


def _down(kind: str = "connection") -> ProviderError:
    return ProviderError("fake", kind, "unreachable")  # type: ignore[arg-type]


async def test_a_transcription_that_fails_twice_is_reported_as_stt_and_said():
    rig = make_rig(turns=[Step(error=_down()), Step(error=_down())])
    await rig.play(tone(0.6), tail_s=2.0)
    (error,) = rig.of("error")
    assert (error["stage"], error["kind"]) == ("stt", "connection")
    assert "speech recognition" in " ".join(rig.tts.spoken)
    assert not rig.llm.prompts


async def test_a_retryable_failure_is_retried_once_within_the_turn():
    rig = make_rig(turns=[Step(error=_down("timeout")), Step("Hello there.")])
    await rig.play(tone(0.6), tail_s=2.0)
    assert not rig.of("error")
    assert [e["text"] for e in rig.of("transcript_final")] == ["Hello there."]


async def test_a_provider_that_stays_down_is_reported_once_per_session():
    rig = make_rig(turns=[Step("One."), Step("Two.")], answers=[Step(error=_down("auth")), Step(error=_down("auth"))])
    await rig.play(tone(0.6), tail_s=4.0)
    await rig.play(tone(0.6), tail_s=4.0)
    assert len(rig.of("turn_ended")) == 2
    assert [(e["stage"], e["kind"]) for e in rig.of("error")] == [("llm", "auth")]
    assert sum("language model" in s for s in rig.tts.spoken) == 2  # the user hears it each time


async def test_a_failing_voice_is_reported_as_tts_and_the_fallback_voice_says_so():
    rig = make_rig(turns=[Step("Hello.")], fallback=True)
    rig.tts.failures = [_down("bad_request")]
    await rig.play(tone(0.6), tail_s=2.0)
    (error,) = rig.of("error")
    assert error["stage"] == "tts"
    fallback = rig.hosted.session.services.fallback_tts
    assert fallback is not None and "voice" in fallback.spoken[0]


async def test_the_host_batches_every_sessions_vad_chunk_in_one_call():
    rig = make_rig(sessions=3)
    others = [rig.host.open(16000, clock=rig.clock) for _ in range(2)]
    for hosted in others:
        hosted.feed(tone(0.02), 0.0)
    rig.hosted.feed(tone(0.02), 0.0)
    vad = rig.host.services.vad
    vad.batches.clear()
    for i in range(8):  # 8 frames of 20 ms: 5 chunks of 32 ms per session
        for hosted in [rig.hosted, *others]:
            hosted.feed(tone(0.02), i * 0.02)
        rig.host.tick()
    assert vad.batches and set(vad.batches) == {3}
    assert rig.host.status()["vad_batch_mean"] == 3.0
    states = {id(h.session.vad.state) for h in [rig.hosted, *others]}
    assert len(states) == 3  # per-session recurrent state


async def test_draining_refuses_new_sessions_and_waits_for_live_ones():
    from vagus.agent.host import HostFull

    rig = make_rig(sessions=2)
    drained = asyncio.ensure_future(rig.host.drain(timeout_s=5.0))
    await asyncio.sleep(0.15)
    with pytest.raises(HostFull, match="draining"):
        rig.host.open(16000)
    assert not drained.done()
    await rig.host.close_session(rig.hosted.id, "done")
    assert await drained is True


async def test_draining_gives_up_after_its_bound():
    rig = make_rig()
    assert await rig.host.drain(timeout_s=0.05) is False


async def test_a_stage_hook_sees_every_frame_between_front_end_and_vad_and_can_drop_it():
    from vagus.core.events import UserSpeechStarted

    rig = make_rig()
    seen: list[float] = []

    class Mute:
        def process(self, frame):  # type: ignore[no-untyped-def]
            seen.append(frame.t)
            return None if frame.t >= 1.0 else frame

    rig.session.add_stage(Mute())
    started: list[UserSpeechStarted] = []
    rig.session.on(UserSpeechStarted, started.append)
    await rig.play(tone(0.5))
    assert len(started) == 1
    await rig.play(silence(0.5))
    await rig.play(tone(0.5))  # dropped by the stage: never heard
    assert len(started) == 1 and len(seen) == 75


async def test_input_backlog_is_bounded():
    from vagus.agent.host import INBOX_FRAMES

    rig = make_rig()
    for i in range(INBOX_FRAMES + 10):
        rig.hosted.feed(silence(0.02), i * 0.02)
    assert len(rig.hosted.inbox) == INBOX_FRAMES and rig.hosted.dropped_in == 10
    (dropped,) = rig.of("input_dropped")  # one event a second at most
    assert dropped["frames"] == 1
    rig.host.tick()  # the whole backlog in one tick, one round each
    assert not rig.hosted.inbox


async def test_a_new_turn_drops_the_answer_still_being_prepared():
    """The user speaks again while the first answer's language model is still thinking: that answer is
    cancelled (it would otherwise write into the next answer's playout), the new one is said."""
    rig = make_rig(
        turns=[Step("First question?"), Step("Second question?")],
        answers=[Step("First answer.", delay=3.0), Step("Second answer.", delay=0.1)],
    )
    await rig.play(tone(0.6), tail_s=1.2)
    assert len(rig.of("transcript_final")) == 1 and not rig.of("agent_speech_started")
    await rig.play(tone(0.6), tail_s=4.0)
    assert [e["text"] for e in rig.of("transcript_final")] == ["First question?", "Second question?"]
    assert rig.tts.spoken == ["Second answer."]
    (started,) = rig.of("agent_speech_started")
    assert started["turn"] == 2
    assert not rig.session._tasks or all(not t.get_name().endswith("turn-1") for t in rig.session._tasks)


async def test_a_transport_waiting_for_audio_is_released_when_the_session_closes():
    rig = make_rig()
    assert rig.hosted.take_output() is None
    waiting = asyncio.ensure_future(rig.hosted.next_output())
    await asyncio.sleep(0)
    rig.host.tick()
    assert (await waiting) is not None  # one frame per tick
    waiting = asyncio.ensure_future(rig.hosted.next_output())
    await asyncio.sleep(0)
    await rig.host.close_session(rig.hosted.id, "bye")
    assert await asyncio.wait_for(waiting, 1.0) is None


def test_admission_refuses_a_session_that_would_make_the_tick_late():
    from vagus.agent.host import HostFull

    rig = make_rig(sessions=10)
    host = rig.host
    host.lateness_ms.extend([1.0] * 300)
    host.tick_ms.extend([5.0] * 300)  # one session costs 5 ms of the 20 ms frame: a second would be 10 ms
    assert host.overloaded() is None
    host.open(16000)
    host.tick_ms.extend([11.0] * 300)  # two sessions, 11 ms: a third would take 16.5 ms > 12 ms
    with pytest.raises(HostFull, match=r"a tick would take 16\.5 ms"):
        host.open(16000)
    host.tick_ms.extend([4.0] * 300)
    host.lateness_ms.extend([25.0] * 300)  # ticks already late: nobody new
    with pytest.raises(HostFull, match="late"):
        host.open(16000)
    assert host.status()["admitting"] is False
