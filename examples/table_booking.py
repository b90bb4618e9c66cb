"""Booking a table, step by step: the guest's name, then party size and time, then a confirmation.

A flow: each step has its own instructions and tools, and the model moves the conversation on by
calling them (`record_guest`, `record_party`, `book_table`, or `go_to_party` to change the details).
Needs a language model that calls tools (any OpenAI-compatible endpoint), e.g.

    VAGUS_LLM_BASE_URL=http://localhost:11434/v1 VAGUS_LLM_MODEL=qwen2.5:3b \\
        vagus serve --agent examples/table_booking.py:agent

The same flow without Python is `examples/table_booking.yaml` (`vagus serve --config …`).
"""

from __future__ import annotations

from vagus import Agent, Flow, Node, tool

BOOKINGS: list[dict[str, object]] = []


@tool(side_effects=True)
def book_table(name: str, party_size: int, time: str) -> str:
    """Book the table once the guest has confirmed the details.

    Args:
        name: the guest's name
        party_size: how many people
        time: the time, as the guest said it
    """
    if not 1 <= party_size <= 12:
        return "error: we take 1 to 12 people"
    BOOKINGS.append({"name": name, "party_size": party_size, "time": time})
    return f"booked: table for {party_size} at {time}, under {name}"


flow = Flow(
    [
        Node(
            "guest",
            "Greet the caller and ask for the name the booking should be under.",
            collect={"name": "the name for the booking"},
            next="party",
        ),
        Node(
            "party",
            "Ask how many people are coming and at what time.",
            collect={"party_size": {"type": "integer", "description": "number of people"}, "time": "the time"},
            next="confirm",
        ),
        Node(
            "confirm",
            "Read the booking back in one sentence and ask whether to book it. Book it once they agree.",
            tools=[book_table],
            after={"book_table": "done"},
            choices={"party": "the caller wants to change the number of people or the time"},
        ),
        Node("done", "Say the table is booked and goodbye, in one short sentence.", end=True),
    ]
)

agent = Agent(
    name="Luigi's",
    instructions="You take table bookings on the phone for Luigi's, an Italian restaurant. Speak briefly.",
    greeting="Luigi's, good evening! Whose name is the booking under?",
    flow=flow,
)
