"""`vagus eval` with a simulated caller, and with speech not meant for the agent: the caller (an LLM
behind a scripted OpenAI-compatible endpoint) books a table with the YAML booking flow (its own
scripted model) through real audio, line by line; the goal is scored from the flow and the words; a
TV and a bystander in the room are heard but must not be answered."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fake_openai import FakeOpenAI

pytestmark = pytest.mark.slow

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def say(text: str) -> list[dict]:
    return [{"content": text}]


def call(call_id: str, name: str, arguments: str) -> list[dict]:
    return [{"tool_calls": [{"index": 0, "id": call_id, "function": {"name": name, "arguments": arguments}}]}]


async def test_a_simulated_caller_books_a_table_through_the_flow(tmp_path):
    import yaml

    from vagus.evals.runner import run_suite
    from vagus.evals.suite import Matrix, Suite, load_suite

    agent, caller, judge = FakeOpenAI(), FakeOpenAI(), FakeOpenAI()
    agent.scripts = [
        call("a1", "record_guest", '{"name": "Maria"}'), say("Thanks Maria. How many of you, and when?"),
        call("a2", "record_party", '{"party_size": 4, "time": "tomorrow at 8 pm"}'),
        say("Four people tomorrow at 8 pm, under Maria. Is that right?"),
        call("a3", "go_to_done", "{}"), say("Your table is reserved. Goodbye!"), say("Bye now."),
    ]  # fmt: skip
    caller.scripts = [
        say("Caller: Hi, I would like to book a table under Maria, please."),
        say("Four people, tomorrow at eight in the evening."),
        say("Yes, that is right."),
        say("Thank you, goodbye! [END]"),
    ]
    judge.scripts = [say('{"score": 5, "reason": "booked as asked"}')]
    async with agent.serve() as agent_url, caller.serve() as caller_url, judge.serve() as judge_url:
        suite = Suite.model_validate({
            "agent": str(EXAMPLES / "table_booking.yaml"),
            "base": {"llm": {"provider": "openai", "base_url": agent_url, "model": "scripted"}},
            "judge": {"base_url": judge_url, "model": "grader"},
            "scenarios": [{"name": "book", "caller": {
                "persona": "You are Maria, a busy parent.",
                "goal": "a table for four tomorrow at 8 pm under Maria",
                "success": {"flow_node": "done", "keywords": ["reserved"], "judge": "the table is booked"},
                "llm": {"provider": "openai", "base_url": caller_url, "model": "caller"},
                "seed": 7,
            }}],
        })  # fmt: skip
        path = tmp_path / "suite.yaml"
        path.write_text(yaml.safe_dump(suite.model_dump(mode="json", exclude_none=True)))
        suite = load_suite(path)  # the agent file is read as a user's suite would have it
        (run,) = await run_suite(suite, Matrix(combinations={"default": {}}), tmp_path / "out")
    said = [(line["who"], line["text"]) for line in run["transcript"]]
    assert said[0] == ("caller", "Hi, I would like to book a table under Maria, please."), said
    assert ("agent", "Thanks Maria. How many of you, and when?") in said
    assert said[-3:] == [("agent", "Your table is reserved. Goodbye!"), ("caller", "Thank you, goodbye!"),
                         ("agent", "Bye now.")], said  # fmt: skip
    goal = run["rows"][-1]
    assert goal["goal"] and goal["passed"], goal
    assert goal["flow_nodes"] == ["party", "confirm", "done"] and goal["judge_score"] == 5
    assert goal["hung_up"]
    lines = run["rows"][:-1]
    assert len(lines) == 4 and all(r["heard"] for r in lines), lines
    assert all(r.get("latency_ms") is not None for r in lines[:3]), lines
    # The caller's model saw the call from the caller's side: the agent's heard words as the other party.
    first, second = caller.requests[0]["body"], caller.requests[1]["body"]
    assert "You are Maria, a busy parent." in first["messages"][0]["content"]
    assert first["messages"][-1] == {"role": "user", "content": "(The call connects. Nobody has said anything yet.)"}
    assert second["messages"][-1] == {"role": "user", "content": "Thanks Maria. How many of you, and when?"}
    assert first["temperature"] == 0 and first["seed"] == 7
    graded = judge.requests[0]["body"]["messages"]
    assert "phone call" in graded[0]["content"] and "Criterion: the table is booked" in graded[1]["content"]
    assert (
        "Caller: Hi, I would like" in graded[1]["content"]
        and "Assistant: Your table is reserved" in graded[1]["content"]
    )


async def test_a_caller_that_never_reaches_its_goal_fails_with_the_reason(tmp_path):
    from vagus.evals.runner import run_suite
    from vagus.evals.suite import Matrix, Suite

    caller = FakeOpenAI()
    caller.scripts = [say("What is seven times six?"), say("Thanks, bye. [END]")]
    async with caller.serve() as url:
        suite = Suite.model_validate({"scenarios": [{"name": "ask", "caller": {
            "persona": "A pupil.", "goal": "learn what seven times six is", "max_turns": 3,
            "success": {"keywords": ["42|forty two"], "tool": "calculate"},
            "llm": {"provider": "openai", "base_url": url, "model": "caller"},
        }}]})  # fmt: skip
        (run,) = await run_suite(suite, Matrix(combinations={"default": {}}), tmp_path)
    goal = run["rows"][-1]
    assert not goal["passed"] and goal["failures"] == ["tool calculate was not called"], goal
    assert any("42" in line["text"] for line in run["transcript"] if line["who"] == "agent")


async def test_a_tv_and_a_bystander_are_heard_but_not_answered(tmp_path):
    from vagus.evals.runner import run_suite
    from vagus.evals.suite import Matrix, Suite

    def scenario(name: str, speaker: str, text: str, config: dict) -> dict:
        return {"name": name, "config": config, "turns": [
            {"say": "What is seven times six?", "then_s": 4},
            {"say": text, "speaker": speaker, "voice": "espeak:en-gb", "then_s": 4},
            {"say": "And what is two plus two?", "expect": {"keywords": ["4|four"]}},
        ]}  # fmt: skip

    weather = "Tonight on channel five, the weather turns cold across the north of the country."
    suite = Suite.model_validate({"scenarios": [
        scenario("tv", "tv", weather, {"perception": {"addressee": {"enabled": True}}}),
        scenario("bystander", "bystander", "Did you feed the cat this morning?",
                 {"perception": {"speaker": {"lock": "primary", "implicit_after_s": 1}}}),
        scenario("tv_unguarded", "tv", weather, {}),
    ]})  # fmt: skip
    runs = await run_suite(suite, Matrix(combinations={"default": {}}), tmp_path)
    by = {run["scenario"]: run for run in runs}
    for guarded in ("tv", "bystander"):
        other = by[guarded]["rows"][1]
        assert other["ignored"] and other["passed"] and other.get("skipped"), other
        assert by[guarded]["rows"][2]["passed"], by[guarded]["rows"]
    answered = by["tv_unguarded"]["rows"][1]  # the defaults answer a TV: the suite says so
    assert not answered["passed"] and answered["failures"] == ["the agent answered the tv"], answered
    assert by["tv"]["spoken"][1]["speaker"] == "tv"


async def test_a_caller_whose_model_fails_ends_the_call_with_the_reason(tmp_path):
    from vagus.evals.runner import run_suite
    from vagus.evals.suite import Matrix, Suite

    caller = FakeOpenAI()
    caller.chat_status = 500
    async with caller.serve() as url:
        suite = Suite.model_validate({"scenarios": [{"name": "broken", "caller": {
            "persona": "A pupil.", "goal": "learn what seven times six is",
            "success": {"keywords": ["42"]}, "llm": {"provider": "openai", "base_url": url, "model": "caller"},
        }}]})  # fmt: skip
        (run,) = await run_suite(suite, Matrix(combinations={"default": {}}), tmp_path)
    goal = run["rows"][-1]
    assert not goal["passed"] and "the caller's model failed: server" in goal["failures"], goal
    assert run["transcript"] == [] and run["rows"][:-1] == []  # nothing was said, nothing invented
