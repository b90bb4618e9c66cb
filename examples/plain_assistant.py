"""A plain voice assistant: its own instructions, a greeting, and answers kept short for the ear.

vagus serve --agent examples/plain_assistant.py:agent
vagus talk --agent examples/plain_assistant.py:agent question.wav answer.wav
"""

from vagus import Agent, AgentSession

MAX_WORDS = 40
spoken: dict[str, int] = {}
"""Words said so far in each session's current answer."""


def new_turn(session: AgentSession, text: str) -> str:
    spoken[session.id] = 0
    return text


def keep_it_short(session: AgentSession, sentence: str) -> str:
    """A spoken answer stops after about MAX_WORDS words (the model is asked to be brief as well)."""
    used = spoken.get(session.id, 0)
    if used >= MAX_WORDS:
        return ""
    spoken[session.id] = used + len(sentence.split())
    return sentence


agent = Agent(
    instructions=(
        "You are a friendly voice assistant. Answer in one or two short spoken sentences: no lists, "
        "no markdown, no links. If you do not know, say so."
    ),
    greeting="Hello! Ask me anything.",
    on_user_turn=new_turn,
    on_answer=keep_it_short,
)
