"""The rolling summary: folds what no longer fits the budget, off the critical path, heard words only."""

from __future__ import annotations

import asyncio

from tests.fakes import Step, make_rig, offline_config, tone
from vagus.brain.context import Conversation
from vagus.brain.summary import Summarizer, extractive, transcript


class SummaryLLM:
    name = "summary-llm"

    def __init__(self, gate: asyncio.Event | None = None) -> None:
        self.requests: list[list[dict]] = []
        self.gate = gate

    async def stream(self, messages):  # type: ignore[no-untyped-def]
        self.requests.append(messages)
        if self.gate is not None:
            await self.gate.wait()
        yield "Anna wants a table "
        yield "for four."


def spawner(tasks: list):  # type: ignore[no-untyped-def]
    def spawn(coro, name):  # type: ignore[no-untyped-def]
        task = asyncio.get_running_loop().create_task(coro, name=name)
        tasks.append(task)
        return task

    return spawn


def long_conversation(budget: int = 60) -> Conversation:
    c = Conversation("Be brief.", budget)
    for i in range(6):
        c.add_user(f"I am Anna and this is question number {i} about my table booking.")
        c.add_assistant(f"Here is answer number {i}, Anna.")
    return c


async def test_entries_that_no_longer_fit_are_folded_into_a_summary_in_the_system_message():
    c = long_conversation()
    tasks: list = []
    llm = SummaryLLM()
    summarizer = Summarizer(c, llm, spawner(tasks))
    unsent = c.unsent()
    assert unsent
    summarizer.check()
    await asyncio.gather(*tasks)
    assert c.summary == "Anna wants a table for four."
    assert c.messages()[0]["content"] == "Be brief.\n\nEarlier in this conversation: Anna wants a table for four."
    assert all(e not in c.entries for e in unsent)
    assert llm.requests[0][1]["content"].splitlines() == [
        f"{'User' if e.role == 'user' else 'Assistant'}: {e.content}" for e in unsent
    ]


async def test_no_summary_while_a_turn_is_under_way_and_a_new_turn_cancels_one():
    c = long_conversation()
    tasks: list = []
    gate = asyncio.Event()
    llm = SummaryLLM(gate)
    summarizer = Summarizer(c, llm, spawner(tasks))
    summarizer.turn_started()
    summarizer.check()
    assert not tasks  # the model is the answer's
    summarizer.turn_ended()
    assert len(tasks) == 1
    await asyncio.sleep(0)
    summarizer.turn_started()  # the user spoke: the summary gives way
    await asyncio.gather(*tasks, return_exceptions=True)
    assert tasks[0].cancelled() and c.summary == ""
    summarizer.turn_ended()
    gate.set()
    await asyncio.gather(*tasks[1:])
    assert c.summary


def test_summaries_carry_only_what_the_user_heard():
    c = Conversation("x")
    c.add_user("Tell me about Rome.")
    c.add_assistant("Rome was founded", interrupted=True)  # the rest was never heard
    text = transcript(c.entries, "")
    assert "Rome was founded (cut off by the user here)" in text
    assert extractive(c.entries, "", 80) == "The user said: Tell me about Rome."


async def test_a_session_with_the_rule_brain_folds_extractively():
    rig = make_rig(
        config=offline_config(context_tokens=60),
        turns=[Step(f"My name is Anna and this is sentence number {i} of many.") for i in range(4)],
        answers=[Step(f"Answer {i}.") for i in range(4)],
    )
    for _ in range(4):
        await rig.play(tone(0.6), tail_s=3.0)
    conversation = rig.session.conversation
    assert conversation.summary.startswith("The user said: My name is Anna")
    assert conversation.summary.count("The user said") == 1
    assert "Earlier in this conversation" in rig.llm.prompts[-1][0]["content"]


def test_the_budget_uses_the_models_token_count_when_there_is_one():
    c = Conversation("Be brief.", 70)
    c.count_tokens = lambda text: 10 * len(text.split())  # a model whose tokens are expensive
    for i in range(3):
        c.add_user(f"question {i}")
        c.add_assistant(f"answer {i}")
    # each entry costs 2 words × 10 + 4 = 24: two fit in the 50 left after the 20-token instructions
    assert [m["content"] for m in c.messages()[1:]] == ["question 2", "answer 2"]
    c.count_tokens = lambda text: None  # not ready yet: four characters per token
    c.add_user("more")
    assert c.entries[-1].cost == 1 + 4
