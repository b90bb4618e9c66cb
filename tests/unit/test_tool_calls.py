"""The answer's tool rounds on a virtual clock: calls, results back to the model, parallel calls, a
filler when a tool is slow, and interruptions during a tool (pure: cancelled; side effects: finished
and recorded, never run twice)."""

from __future__ import annotations

import pytest

from tests.fakes import Step, make_rig, silence, tone
from vagus.brain.tools import Toolbox, tool
from vagus.services.errors import ProviderError


def spoken(rig) -> list[str]:  # type: ignore[no-untyped-def]
    """What the agent's answers said (the filler cue is synthesised ahead, once)."""
    return [text for text in rig.tts.spoken if text != "One moment."]


def clock_tools(rig_clock_holder: dict, seconds: float = 0.2, log: list | None = None) -> Toolbox:
    @tool
    async def current_time() -> str:
        """The time now."""
        await rig_clock_holder["clock"].sleep(seconds)
        if log is not None:
            log.append(("time", rig_clock_holder["clock"].now()))
        return "17:05"

    @tool(side_effects=True)
    async def lights(on: bool) -> str:
        """Switch the lights.

        Args:
            on: true for on
        """
        await rig_clock_holder["clock"].sleep(seconds)
        if log is not None:
            log.append(("lights", on))
        return "the lights are on" if on else "the lights are off"

    return Toolbox([current_time, lights])


def rig_with_tools(answers: list[Step], seconds: float = 0.2, log: list | None = None):  # type: ignore[no-untyped-def]
    holder: dict = {}
    box = clock_tools(holder, seconds, log)
    rig = make_rig(turns=[Step("What time is it?")], answers=answers, tools=box)
    holder["clock"] = rig.clock
    return rig, box


async def test_a_tool_result_goes_back_to_the_model_and_its_answer_is_spoken():
    rig, _ = rig_with_tools([Step("", calls=[("current_time", "{}")]), Step("It is five past five.")])
    await rig.play(tone(0.6), tail_s=3.0)
    assert spoken(rig) == ["It is five past five."]
    assert rig.llm.tools_offered[0][0]["function"]["name"] == "current_time"
    second = rig.llm.prompts[1]
    asked, result = second[-2], second[-1]
    assert asked["role"] == "assistant" and asked["tool_calls"][0]["function"]["name"] == "current_time"
    assert result == {"role": "tool", "tool_call_id": asked["tool_calls"][0]["id"], "content": "17:05"}
    # the conversation: the user's words, the exchange, then what was said
    roles = [m["role"] for m in rig.session.conversation.messages()]
    assert roles == ["system", "user", "assistant", "tool", "assistant"]
    (latency,) = rig.of("turn_latency")
    assert latency["stages_ms"]["tools"] >= 0


async def test_parallel_calls_run_together():
    log: list = []
    rig, _ = rig_with_tools(
        [Step("", calls=[("current_time", "{}"), ("lights", '{"on": true}')]), Step("Done.")], seconds=0.5, log=log
    )
    await rig.play(tone(0.6), tail_s=3.0)
    assert sorted(name for name, _ in log) == ["lights", "time"]
    (ended,) = rig.of("turn_ended")
    (latency,) = rig.of("turn_latency")
    # LLM 0.1 + both tools 0.5 at once (not 1.0) + LLM 0.1 + TTS 0.05 + the frame
    assert latency["t"] - ended["t"] == pytest.approx(0.76, abs=0.041)
    assert len(rig.llm.prompts[1]) == len(rig.llm.prompts[0]) + 3


async def test_a_slow_tool_gets_a_filler_that_is_not_part_of_the_answer():
    rig, _ = rig_with_tools([Step("", calls=[("current_time", "{}")]), Step("It is five.")], seconds=2.0)
    await rig.play(tone(0.6), tail_s=4.0)
    (cue,) = rig.of("agent_cue")
    assert cue["kind"] == "tool_filler" and cue["text"] == "One moment."
    assert rig.tts.spoken[-1] == "It is five."
    said = [m["content"] for m in rig.session.conversation.messages() if m["role"] == "assistant"]
    assert "One moment" not in " ".join(said)


async def test_an_interruption_cancels_a_pure_tool_and_nothing_is_recorded():
    log: list = []
    rig, _ = rig_with_tools([Step("Let me check.", calls=[("current_time", "{}")])], seconds=3.0, log=log)
    await rig.play(tone(0.6), tail_s=1.5)  # the agent says "Let me check." and the tool runs
    await rig.play(tone(1.2), tail_s=0.3)  # the user talks over it: a real interruption
    assert rig.of("interruption")
    await rig.play(silence(4.0))
    assert log == []  # cancelled before it finished
    assert not any(m["role"] == "tool" for m in rig.session.conversation.messages())


async def test_an_interrupted_tool_with_side_effects_finishes_once_and_is_recorded_unspoken():
    log: list = []
    rig, _ = rig_with_tools(
        [Step("Switching them on.", calls=[("lights", '{"on": true}')]), Step("They are on.")], seconds=3.0, log=log
    )
    await rig.play(tone(0.6), tail_s=1.5)
    await rig.play(tone(1.2), tail_s=0.3)
    assert rig.of("interruption")
    await rig.play(silence(4.0))
    assert log == [("lights", True)]  # it finished, once
    assert "They are on." not in rig.tts.spoken  # its result was recorded, not said
    messages = rig.session.conversation.messages()
    results = [m for m in messages if m["role"] == "tool"]
    assert [r["content"] for r in results] == ["the lights are on"]
    roles = [m["role"] for m in messages]
    assert roles.index("user") < roles.index("tool")


async def test_a_retry_after_a_failed_model_goes_on_from_the_results_without_a_second_call():
    log: list = []
    down = ProviderError("fake", "connection", "unreachable")
    rig, _ = rig_with_tools(
        [Step("", calls=[("lights", '{"on": true}')]), Step(error=down), Step("They are on.")], log=log
    )
    await rig.play(tone(0.6), tail_s=3.0)
    assert log == [("lights", True)]
    assert spoken(rig) == ["They are on."]
    assert any(m["role"] == "tool" for m in rig.llm.prompts[2])


async def test_a_model_that_keeps_calling_tools_stops_after_max_rounds():
    rig, _ = rig_with_tools([Step("", calls=[("current_time", "{}")]) for _ in range(10)])
    await rig.play(tone(0.6), tail_s=6.0)
    assert len(rig.llm.prompts) == 5  # tools.max_rounds (4) rounds of results, then no more
