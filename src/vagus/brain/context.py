"""Multi-turn dialog context with a token budget.

Keeps the system prompt and as many of the most recent messages as fit the budget (counted with the
model's own tokenizer where one is at hand, the local GGUF's; otherwise estimated at four characters
per token, the usual rule of thumb for English). Assistant messages that were cut off by
the user carry only the words the user heard, marked as interrupted, so the model knows where it
stopped. A tool exchange (the model's calls and their results) is one entry, kept or dropped whole,
so the model never sees a result without the call that asked for it.

Entries that no longer fit can be folded into a summary (`fold`, written by `brain/summary.py` off
the critical path), which rides in the system message: the model keeps the gist of a long call.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

from vagus.brain.tools import ToolCall, ToolResult
from vagus.services.llm.base import Message

CHARS_PER_TOKEN = 4


def estimate_tokens(text: str) -> int:
    return max(1, (len(text) + CHARS_PER_TOKEN - 1) // CHARS_PER_TOKEN)


@dataclass(slots=True)
class Entry:
    role: str
    content: str
    interrupted: bool = False
    exchange: tuple[Message, ...] = ()
    """For a tool exchange (role "tools"): the assistant's message with its calls, then each result."""
    cost: int = 0
    """Its tokens, counted once when it was added (with the model's tokenizer when there is one)."""

    def as_messages(self) -> list[Message]:
        if self.exchange:
            return list(self.exchange)
        if self.interrupted:
            heard = self.content or "(nothing)"
            return [{"role": self.role, "content": f"{heard} [interrupted by the user; they heard only this]"}]
        return [{"role": self.role, "content": self.content}]

    def tokens(self, count: Callable[[str], int] | None = None) -> int:
        if self.cost:
            return self.cost
        measure = count or estimate_tokens
        if self.exchange:
            return sum(measure(json.dumps(m, ensure_ascii=False)) + 4 for m in self.exchange)
        return measure(self.content) + 4 + (10 if self.interrupted else 0)


def tool_exchange(calls: list[ToolCall], results: list[ToolResult], said: str = "") -> tuple[Message, ...]:
    """The OpenAI messages for calls and their results (`said`: the words spoken with the calls)."""
    asked: Message = {
        "role": "assistant",
        "content": said,
        "tool_calls": [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments or "{}"}}
            for c in calls
        ],
    }
    answers: list[Message] = [{"role": "tool", "tool_call_id": r.call.id, "content": r.content} for r in results]
    return (asked, *answers)


class Conversation:
    def __init__(self, system_prompt: str, max_tokens: int = 3000) -> None:
        if max_tokens < 50:
            raise ValueError("context budget must be at least 50 tokens")
        self.system_prompt = system_prompt
        self.max_tokens = max_tokens
        self.entries: list[Entry] = []
        self._kept_tokens = 0
        self.summary = ""
        """The gist of entries folded away (only words the user heard, and what tools did)."""
        self.notes = ""
        """What the agent remembers about this user from earlier conversations (`brain/memory.py`)."""
        self.guidance = ""
        """How to read what the session adds to the user's words (the prosody tag)."""
        self.on_added: Callable[[], None] | None = None
        """Called after each entry is added (the summarizer watches the budget)."""
        self.count_tokens: Callable[[str], int | None] | None = None
        """The model's own token count (None, or a None answer: four characters per token)."""

    def add_user(self, text: str) -> None:
        self._add(Entry("user", text))

    def add_assistant(self, text: str, interrupted: bool = False) -> None:
        self._add(Entry("assistant", text, interrupted))

    def add_message(self, role: str, text: str) -> Entry:
        """A message someone else put in the conversation (a Realtime client's user, assistant or
        system item); the entry, to find it again."""
        entry = Entry(role, text)
        self._add(entry)
        return entry

    def add_tools(self, calls: list[ToolCall], results: list[ToolResult], said: str = "") -> None:
        """What tools the model called in an answer and what they returned (whether or not the answer
        was heard: a light switched on is on)."""
        if calls:
            self._add(Entry("tools", said, exchange=tool_exchange(calls, results, said)))

    def _add(self, entry: Entry) -> None:
        """Entries older than twice the budget can never be sent again: they are dropped, so a session
        that talks for hours keeps a bounded history."""
        entry.cost = entry.tokens(self._counter())
        self.entries.append(entry)
        self._kept_tokens += entry.tokens()
        while len(self.entries) > 1 and self._kept_tokens > 2 * self.max_tokens:
            dropped = self.entries.pop(0)
            self._kept_tokens -= dropped.tokens()
        if self.on_added is not None:
            self.on_added()

    def insert_after(self, entry: Entry, before: Entry | None) -> None:
        """Put an entry right after `before` (None: first): a client inserting into the conversation."""
        index = 0 if before is None else next(i for i, e in enumerate(self.entries) if e is before) + 1
        entry.cost = entry.tokens(self._counter())
        self.entries.insert(index, entry)
        self._kept_tokens += entry.tokens()

    def position(self, entry: Entry) -> int | None:
        return next((i for i, e in enumerate(self.entries) if e is entry), None)

    def remove(self, entry: Entry) -> bool:
        """Take one entry out (a client deleted it: the Realtime API's `conversation.item.delete`)."""
        for i, kept in enumerate(self.entries):
            if kept is entry:
                del self.entries[i]
                self._kept_tokens -= kept.tokens()
                return True
        return False

    def replace_text(self, entry: Entry, text: str, interrupted: bool) -> None:
        """What an entry says, cut to what was heard (a client truncated it)."""
        self._kept_tokens -= entry.tokens()
        entry.content, entry.interrupted, entry.cost = text, interrupted, 0
        entry.cost = entry.tokens(self._counter())
        self._kept_tokens += entry.tokens()

    def _counter(self) -> Callable[[str], int] | None:
        count = self.count_tokens
        if count is None:
            return None

        def tokens(text: str) -> int:
            n = count(text)
            return n if n is not None else estimate_tokens(text)

        return tokens

    def _tokens_of(self, text: str) -> int:
        counter = self._counter()
        return counter(text) if counter is not None else estimate_tokens(text)

    def clear(self) -> None:
        """Forget the conversation (a flow step that starts afresh); the instructions stay."""
        self.entries.clear()
        self._kept_tokens = 0
        self.summary = ""

    def fold(self, entries: list[Entry], summary: str) -> None:
        """Replace `entries` (still present ones) by `summary`, the gist of them and of the summary before."""
        gone = {id(e) for e in entries}
        kept = [e for e in self.entries if id(e) not in gone]
        self._kept_tokens = sum(e.tokens() for e in kept)
        self.entries = kept
        self.summary = summary.strip()

    def system_message(self) -> str:
        parts = [self.system_prompt]
        if self.guidance:
            parts.append(self.guidance)
        if self.notes:
            parts.append(self.notes)
        if self.summary:
            parts.append(f"Earlier in this conversation: {self.summary}")
        return "\n\n".join(parts)

    def _fitting(self) -> int:
        """How many of the newest entries fit the budget (at least one)."""
        budget = self.max_tokens - self._tokens_of(self.system_message())
        count = 0
        for entry in reversed(self.entries):
            cost = entry.tokens()
            if count and cost > budget:
                break
            count += 1
            budget -= cost
        return count

    def unsent(self) -> list[Entry]:
        """The older entries that no longer fit the budget: what a summary should fold."""
        return self.entries[: len(self.entries) - self._fitting()]

    def messages(self) -> list[Message]:
        """The system prompt (with the summary) plus the newest entries that fit the budget (the last
        one always)."""
        count = self._fitting()
        kept = self.entries[len(self.entries) - count :] if count else []
        return [{"role": "system", "content": self.system_message()}, *(m for e in kept for m in e.as_messages())]
