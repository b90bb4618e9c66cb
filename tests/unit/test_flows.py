"""Flows on a virtual clock: steps with their own instructions and tools, moves by collected data, by a
tool's success and by the model's choice; context policies; errors that name the node; handoff to
another agent; action events from tools; the built-in skills as tools."""

from __future__ import annotations

import pytest

from tests.fakes import Step, make_rig, offline_config, tone
from vagus import Agent, AgentError, AgentSession, Flow, FlowError, Node, tool
from vagus.brain.skills import builtin_tools, evaluate
from vagus.config import AgentConfig, ConfigError, load_config

BOOKINGS: list[dict] = []


@tool(side_effects=True)
def book_table(name: str, party_size: int, time: str) -> str:
    """Book the table.

    Args:
        name: the guest
        party_size: how many people
        time: when
    """
    BOOKINGS.append({"name": name, "party_size": party_size, "time": time})
    return "booked"


def booking_flow(context: str = "keep") -> Flow:
    return Flow(
        [
            Node("guest", "Ask for the guest's name.", collect={"name": "the guest's name"}, next="party"),
            Node(
                "party",
                "Ask how many people and when.",
                collect={"party_size": {"type": "integer", "description": "people"}, "time": "when"},
                next="confirm",
                context="reset",
            ),
            Node(
                "confirm",
                "Read the booking back and book it once the user agrees.",
                tools=["book_table"],
                after={"book_table": "done"},
                choices={"party": "the user wants to change the size or time"},
            ),
            Node("done", "Thank them and say goodbye.", end=True),
        ],
        context=context,
    )


def names(tools: list | None) -> list[str]:
    return [t["function"]["name"] for t in tools or []]


async def test_a_booking_flow_collects_moves_and_books_once():
    BOOKINGS.clear()
    agent = Agent(instructions="You book tables at Luigi's.", tools=[book_table], flow=booking_flow())
    rig = make_rig(
        turns=[Step("I'm Anna."), Step("Four of us at eight."), Step("Yes, book it.")],
        answers=[
            Step("", calls=[("record_guest", '{"name": "Anna"}')]),
            Step("How many of you, and when?"),
            Step("", calls=[("record_party", '{"party_size": 4, "time": "8 pm"}')]),
            Step("A table for four at 8 pm, under Anna. Shall I book it?"),
            Step("", calls=[("book_table", '{"name": "Anna", "party_size": 4, "time": "8 pm"}')]),
            Step("Booked. See you tonight!"),
        ],
        agent=agent,
    )
    first_prompt = rig.session.conversation.messages()[0]["content"]
    assert "Current step (guest)" in first_prompt and first_prompt.startswith("You book tables at Luigi's.")
    for _ in range(3):
        await rig.play(tone(0.6), tail_s=6.0)  # each answer is heard to its end
    llm = rig.llm
    assert names(llm.tools_offered[0]) == ["record_guest"]
    # the round after the move is already the next step's: its instructions, its tools, what is known
    system = llm.prompts[1][0]["content"]
    assert "Current step (party)" in system and "Known so far: name: Anna." in system
    assert names(llm.tools_offered[1]) == ["record_party"]
    assert names(llm.tools_offered[4]) == ["book_table", "go_to_party"]
    assert names(llm.tools_offered[5]) == []  # the end node offers nothing
    assert BOOKINGS == [{"name": "Anna", "party_size": 4, "time": "8 pm"}]
    moves = [(e["from_node"], e["to_node"]) for e in rig.of("flow_moved")]
    assert moves == [("guest", "party"), ("party", "confirm"), ("confirm", "done")]
    assert rig.of("flow_moved")[-1]["end"] is True
    assert rig.of("flow_moved")[-1]["data"] == {"name": "Anna", "party_size": 4, "time": "8 pm"}
    assert rig.hosted.handle is not None and rig.hosted.handle.node == "done"
    called = [(e["name"], e["error"]) for e in rig.of("tool_called")]
    assert called == [("record_guest", False), ("record_party", False), ("book_table", False)]
    assert rig.tts.spoken[-2:] == ["Booked.", "See you tonight!"]


async def test_a_reset_step_forgets_the_talk_but_keeps_what_was_collected():
    agent = Agent(tools=[book_table], flow=booking_flow())
    rig = make_rig(
        turns=[Step("I'm Anna.")],
        answers=[Step("", calls=[("record_guest", '{"name": "Anna"}')]), Step("How many?")],
        agent=agent,
    )
    await rig.play(tone(0.6), tail_s=3.0)
    # "party" resets: the request after the move has the new step, the data and this turn only
    second = rig.llm.prompts[1]
    assert [m["role"] for m in second] == ["system", "user", "assistant", "tool"]
    assert "Known so far: name: Anna." in second[0]["content"]


async def test_the_model_can_choose_a_step_and_a_failed_tool_does_not_move():
    agent = Agent(tools=[book_table], flow=Flow(booking_flow().nodes, start="confirm"))
    rig = make_rig(
        turns=[Step("Actually, make it five."), Step("Book it.")],
        answers=[
            Step("", calls=[("go_to_party", "{}")]),
            Step("Sure, how many and when?"),
            Step("", calls=[("book_table", '{"name": "A"}')]),  # wrong arguments: an error, no move
            Step("Sorry, how many?"),
        ],
        agent=agent,
    )
    await rig.play(tone(0.6), tail_s=3.0)
    assert rig.hosted.handle.node == "party"
    rig.hosted.handle.goto("confirm")  # code can move it too
    await rig.play(tone(0.6), tail_s=3.0)
    assert rig.hosted.handle.node == "confirm"
    assert rig.of("tool_called")[-1]["error"] is True
    with pytest.raises(AgentError, match="no node 'nowhere'"):
        rig.hosted.handle.goto("nowhere")


def test_flows_are_checked_on_load_with_errors_that_name_the_node():
    def flow_config(nodes: dict) -> dict:
        return {"flow": {"nodes": nodes}}

    cases = [
        ({"a": {"instructions": "x", "collect": {"n": "name"}, "next": "b"}}, "flow node 'a': next goes to 'b'"),
        ({"a": {"instructions": "x", "next": "a"}}, "flow node 'a': `next` needs something to `collect`"),
        ({"a": {"instructions": "x", "choices": {"a": "y"}, "end": True}}, "flow node 'a': an end node"),
        ({"a": {"instructions": "x", "after": {"t": "a"}}}, "flow node 'a': after.t: the node has no tool 't'"),
        ({"a b": {"instructions": "x"}}, "flow node 'a b': a node name"),
        ({"a": {"instructions": "x", "collect": {"n": {"type": "date"}}}}, "flow.nodes.a.collect.n"),
    ]
    for nodes, message in cases:
        with pytest.raises(ValueError, match=message.replace("(", r"\(").replace("`", ".")):
            AgentConfig.model_validate(flow_config(nodes))
    with pytest.raises(ValueError, match="starts at 'zz'"):
        AgentConfig.model_validate({"flow": {"start": "zz", "nodes": {"a": {"instructions": "x"}}}})
    # tool names are checked once the agent's tools are known: before any session opens
    config = AgentConfig.model_validate(flow_config({"a": {"instructions": "x", "tools": ["book"]}}))
    with pytest.raises(AgentError, match="flow node 'a': no tool named 'book'"):
        make_rig(config=offline_config(flow=config.flow.model_dump()))
    with pytest.raises(AgentError, match="no tool named 'nope'"):
        Agent(flow=Flow([Node("a", "x", tools=["nope"])]))
    with pytest.raises(FlowError, match="declared twice"):
        Flow([Node("a", "x"), Node("a", "y")]).check({})


async def test_a_yaml_flow_runs_without_python(tmp_path):
    path = tmp_path / "agent.yaml"
    path.write_text(
        "system_prompt: You take pizza orders.\n"
        "tools: {builtin: [time]}\n"
        "flow:\n"
        "  nodes:\n"
        "    order:\n"
        "      instructions: Ask what pizza they want.\n"
        "      collect: {pizza: {type: string, enum: [margherita, funghi]}}\n"
        "      next: when\n"
        "    when:\n"
        "      instructions: Ask when to deliver; tell the time if asked.\n"
        "      tools: [time]\n"
        "      end: true\n"
    )
    config = load_config(path, env={})
    rig = make_rig(
        config=offline_config(flow=config.flow.model_dump(), tools={"builtin": ["time"]}),
        turns=[Step("A margherita please.")],
        answers=[Step("", calls=[("record_order", '{"pizza": "margherita"}')]), Step("When shall we deliver?")],
    )
    runner = rig.session.flow
    assert runner is not None and runner.node.name == "order"
    spec = rig.session.answers.toolbox.tools["record_order"].parameters
    assert spec["properties"]["pizza"]["enum"] == ["margherita", "funghi"]
    await rig.play(tone(0.6), tail_s=3.0)  # a flow without Python tools still runs its tool rounds
    assert runner.node.name == "when" and runner.data == {"pizza": "margherita"}
    assert names(rig.llm.tools_offered[1]) == ["time"]
    assert rig.tts.spoken[-1] == "When shall we deliver?"
    with pytest.raises(ConfigError):
        bad = tmp_path / "bad.yaml"
        bad.write_text("flow:\n  nodes:\n    order:\n      instructions: x\n      next: nowhere\n")
        load_config(bad, env={})


async def test_a_tool_hands_the_conversation_to_another_agent():
    @tool
    def check_balance() -> str:
        """The account balance."""
        return "120 euros"

    billing = Agent(name="billing", instructions="You are the billing desk.", tools=[check_balance])

    @tool
    def transfer_to_billing(session: AgentSession) -> str:
        """Transfer the caller to billing."""
        session.handoff(billing)
        return "transferred"

    front = Agent(name="front desk", instructions="You are the front desk.", tools=[transfer_to_billing])
    rig = make_rig(
        turns=[Step("I have a billing question.")],
        answers=[Step("", calls=[("transfer_to_billing", "{}")]), Step("Billing here, how can I help?")],
        agent=front,
    )
    assert names(rig.llm.tools_offered[0] if rig.llm.tools_offered else None) == []
    await rig.play(tone(0.6), tail_s=3.0)
    assert rig.llm.tools_offered[0][0]["function"]["parameters"]["properties"] == {}  # the handle is hidden
    assert rig.llm.prompts[1][0]["content"] == "You are the billing desk."
    assert names(rig.llm.tools_offered[1]) == ["check_balance"]
    (handoff,) = rig.of("agent_handoff")
    assert (handoff["from_agent"], handoff["to_agent"]) == ("front desk", "billing")
    # no greeting over the answer under way ("One moment." is the filler cue, synthesised ahead)
    assert [t for t in rig.tts.spoken if t != "One moment."] == ["Billing here, how can I help?"]
    assert rig.hosted.handle.agent is billing


async def test_tools_publish_actions_for_devices_and_the_page():
    @tool(side_effects=True)
    async def move(session: AgentSession, metres: float) -> str:
        """Drive forward.

        Args:
            metres: how far
        """
        session.act("move", status="started", metres=metres)
        session.act("move", metres=metres)
        return f"moved {metres} m"

    rig = make_rig(
        turns=[Step("Forward two metres.")],
        answers=[Step("", calls=[("move", '{"metres": 2}')]), Step("Done.")],
        agent=Agent(tools=[move]),
    )
    await rig.play(tone(0.6), tail_s=3.0)
    actions = [(a["name"], a["status"], a["args"]) for a in rig.of("agent_action")]
    assert actions == [("move", "started", {"metres": 2}), ("move", "done", {"metres": 2})]


def test_the_built_in_skills_compute_instead_of_guessing():
    assert evaluate("7 * 8") == 56
    assert evaluate("sqrt(81)") == 9
    assert evaluate("2 ^ 10") == 1024
    assert evaluate("(12.5 + 3) / 2") == 7.75
    for bad, why in [
        ("9 ** 9 ** 9", "exponents above"),
        ("__import__('os')", "only numbers"),
        ("1 / 0", "division by zero"),
        ("", "arithmetic expression"),
        ("sqrt(-1)", "not defined"),
    ]:
        with pytest.raises(ValueError, match=why):
            evaluate(bad)
    tools = {t.name: t for t in builtin_tools(["time", "date", "calculate", "remember_name", "repeat"])}
    assert tools["calculate"].fn("7*6") == "42"
    assert tools["calculate"].fn("1/0").startswith("error: division by zero")
    with pytest.raises(ValueError, match="no built-in tool named 'weather'"):
        builtin_tools(["weather"])


async def test_built_in_skills_are_offered_to_the_model_from_the_config():
    rig = make_rig(
        config=offline_config(tools={"builtin": ["time", "calculate"]}),
        turns=[Step("What is seven times six?")],
        answers=[Step("", calls=[("calculate", '{"expression": "7*6"}')]), Step("It's 42.")],
    )
    await rig.play(tone(0.6), tail_s=3.0)
    assert names(rig.llm.tools_offered[0]) == ["time", "calculate"]
    assert rig.llm.prompts[1][-1]["content"] == "42"
    assert [t for t in rig.tts.spoken if t != "One moment."] == ["It's forty-two."]  # said in words


async def test_the_robot_example_halts_a_motion_when_the_user_cuts_in():
    from pathlib import Path

    from vagus import load_agent

    robot = load_agent(f"{Path(__file__).resolve().parents[2] / 'examples' / 'robot.py'}:agent")
    rig = make_rig(
        turns=[Step("Drive five metres."), Step("Stop!")],
        answers=[Step("Driving forward five metres now.", calls=[("drive", '{"metres": 5}')]), Step("Stopped.")],
        agent=robot,
    )
    await rig.play(tone(0.6), tail_s=1.2)  # the agent speaks while the robot starts to drive
    await rig.play(tone(1.0), tail_s=2.0)  # the user talks over it
    assert rig.of("interruption")
    for _ in range(100):  # the motion returns on the loop's own clock
        if any(m["role"] == "tool" for m in rig.session.conversation.messages()):
            break
        await rig.play(tone(0.0), tail_s=0.02)
    actions = [(a["name"], a["status"]) for a in rig.of("agent_action")]
    assert actions[:3] == [("drive", "started"), ("stop", "done"), ("drive", "stopped")], actions
    (result,) = [m["content"] for m in rig.session.conversation.messages() if m["role"] == "tool"]
    assert result.endswith("(stopped by the user)")  # what was done, not what was planned


async def test_routed_skills_give_a_small_model_the_right_value_without_a_tool_call():
    rig = make_rig(
        config=offline_config(tools={"builtin": ["time", "calculate"], "route_skills": True}),
        turns=[Step("What is seven times six?"), Step("Tell me a joke.")],
        answers=[Step("Seven times six is 42."), Step("Why did the chicken cross the road?")],
    )
    await rig.play(tone(0.6), tail_s=4.0)
    await rig.play(tone(0.6), tail_s=4.0)
    first, second = rig.llm.prompts
    assert first[0]["content"].endswith("The calculate tool says: 42. Answer the user with it in one short sentence.")
    assert "tool says" not in second[0]["content"]  # only where a skill plainly answers
    assert not any(m["role"] == "tool" for m in second)  # the answer carries the value, not the context
    (called,) = rig.of("tool_called")
    assert (called["name"], called["arguments"], called["result"]) == ("calculate", '{"expression": "7 * 6"}', "42")
