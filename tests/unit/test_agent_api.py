"""The public Agent API (vagus/api.py) on a virtual clock: greeting, hooks, say, instructions."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.fakes import Step, make_rig, offline_config, tone
from vagus import Agent, AgentError, load_agent, tool


def rig_for(agent: Agent, turns=None, answers=None):  # type: ignore[no-untyped-def]
    return make_rig(agent.load_config(offline_config()), turns=turns, answers=answers, agent=agent)


async def test_the_greeting_is_said_first_and_remembered():
    rig = rig_for(Agent(greeting="Hi, I'm Vagus."), turns=[Step("Hello.")], answers=[Step("Nice to meet you.")])
    await rig.play(tone(0.01), tail_s=2.0)
    assert rig.tts.spoken[0] == "Hi, I'm Vagus."
    assert not rig.of("turn_latency")  # nobody asked: no latency to report
    await rig.play(tone(0.6), tail_s=2.0)
    roles = [(m["role"], m["content"]) for m in rig.session.conversation.messages()[1:]]
    assert roles == [("assistant", "Hi, I'm Vagus."), ("user", "Hello."), ("assistant", "Nice to meet you.")]


async def test_instructions_become_the_system_prompt_and_can_change():
    seen = []

    def on_user_turn(session, text):  # type: ignore[no-untyped-def]
        seen.append(session.messages[0]["content"])
        session.update_instructions("Answer in French.")
        return text

    rig = rig_for(
        Agent(instructions="Be brief.", on_user_turn=on_user_turn), turns=[Step("Hi.")], answers=[Step("Oui.")]
    )
    await rig.play(tone(0.6), tail_s=2.0)
    assert seen == ["Be brief."]
    assert rig.llm.prompts[0][0] == {"role": "system", "content": "Answer in French."}


async def test_on_user_turn_edits_the_words_or_declines_to_answer():
    async def on_user_turn(session, text):  # type: ignore[no-untyped-def]
        await asyncio.sleep(0)
        return None if "secret" in text else text.upper()

    rig = rig_for(
        Agent(on_user_turn=on_user_turn), turns=[Step("tell me a secret."), Step("hello.")], answers=[Step("Hi.")]
    )
    await rig.play(tone(0.6), tail_s=2.0)
    (skipped,) = rig.of("turn_skipped")
    assert "on_user_turn" in skipped["reason"] and not rig.llm.prompts
    await rig.play(tone(0.6), tail_s=2.0)
    assert rig.llm.prompts[0][-1] == {"role": "user", "content": "HELLO."}
    # the transcript event says what the user said; the conversation holds both turns' words
    assert [e["text"] for e in rig.of("transcript_final")] == ["tell me a secret.", "hello."]


async def test_on_answer_rewrites_or_drops_sentences_before_the_voice():
    def on_answer(session, sentence):  # type: ignore[no-untyped-def]
        return "" if "internal" in sentence else sentence.replace("colour", "color")

    rig = rig_for(
        Agent(on_answer=on_answer), turns=[Step("What colour?")], answers=[Step("Blue is a colour. internal note.")]
    )
    await rig.play(tone(0.6), tail_s=3.0)
    assert rig.tts.spoken == ["Blue is a color."]


async def test_hooks_that_fail_are_logged_and_the_conversation_goes_on(caplog):
    def broken(session, text):  # type: ignore[no-untyped-def]
        raise RuntimeError("bug in the hook")

    async def broken_start(session):  # type: ignore[no-untyped-def]
        raise RuntimeError("bug at start")

    rig = rig_for(
        Agent(on_user_turn=broken, on_answer=broken, on_session_start=broken_start),
        turns=[Step("Hi.")],
        answers=[Step("Hello.")],
    )
    await rig.play(tone(0.6), tail_s=2.0)
    assert rig.tts.spoken == ["Hello."]
    assert "on_user_turn failed" in caplog.text and "on_session_start failed" in caplog.text


async def test_on_session_start_can_speak_and_on_interrupted_hears_what_was_heard():
    heard = []
    long = "One two three four five six seven eight nine ten eleven twelve."

    def start(session):  # type: ignore[no-untyped-def]
        session.say("Welcome back.")

    rig = rig_for(
        Agent(on_session_start=start, on_interrupted=lambda s, text: heard.append(text)),
        turns=[Step("Tell me a story."), Step("Stop.")],
        answers=[Step(long)],
    )
    await rig.play(tone(0.6), tail_s=1.6)
    await rig.play(tone(1.2), tail_s=1.0)
    assert rig.tts.spoken[0] == "Welcome back."
    assert rig.of("interruption") and heard and 0 < len(heard[0].split()) < len(long.split())


async def test_an_agent_interrupts_itself_and_keeps_what_was_heard():
    rig = rig_for(Agent(), turns=[Step("Story?")], answers=[Step("One two three four five six seven eight.")])
    await rig.play(tone(0.6), tail_s=1.2)
    rig.hosted.handle.interrupt()
    await rig.play(tone(0.0), tail_s=1.0)
    (stopped,) = rig.of("agent_speech_stopped")
    assert stopped["interrupted"]


def test_agents_are_checked_when_defined():
    @tool
    def ping() -> str:
        """Answer pong."""
        return "pong"

    with pytest.raises(Exception, match="two tools are named 'ping'"):
        Agent(tools=[ping, ping])
    with pytest.raises(AgentError, match="on_answer must be a function"):
        Agent(on_answer="shout")  # type: ignore[arg-type]
    agent = Agent(tools=[ping])
    assert agent.toolbox() is not agent.toolbox()  # one per session


def test_load_agent_names_what_is_wrong(tmp_path: Path):
    good = tmp_path / "mine.py"
    good.write_text("from vagus import Agent\nagent = Agent(greeting='hi')\nnot_agent = 3\n")
    assert load_agent(f"{good}:agent").greeting == "hi"
    with pytest.raises(AgentError, match=r"expected FILE\.py:NAME"):
        load_agent("mine.py")
    with pytest.raises(AgentError, match="no such file"):
        load_agent(f"{tmp_path / 'nope.py'}:agent")
    with pytest.raises(AgentError, match="has no 'other'"):
        load_agent(f"{good}:other")
    with pytest.raises(AgentError, match=r"is a int, not a vagus\.Agent"):
        load_agent(f"{good}:not_agent")
    broken = tmp_path / "broken.py"
    broken.write_text("raise ImportError('missing dependency')\n")
    with pytest.raises(AgentError, match="failed to load: ImportError: missing dependency"):
        load_agent(f"{broken}:agent")
