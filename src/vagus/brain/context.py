"""Multi-turn dialog context with a token budget.

Keeps the system prompt and as many of the most recent messages as fit the budget (estimated at four
characters per token, the usual rule of thumb for English). Assistant messages that were cut off by
the user carry only the words the user heard, marked as interrupted, so the model knows where it
stopped.
"""

from __future__ import annotations

from dataclasses import dataclass

from vagus.services.llm.base import Message

CHARS_PER_TOKEN = 4


def estimate_tokens(text: str) -> int:
    return max(1, (len(text) + CHARS_PER_TOKEN - 1) // CHARS_PER_TOKEN)


@dataclass(slots=True)
class Entry:
    role: str
    content: str
    interrupted: bool = False

    def as_message(self) -> Message:
        if self.interrupted:
            heard = self.content or "(nothing)"
            return {"role": self.role, "content": f"{heard} [interrupted by the user; they heard only this]"}
        return {"role": self.role, "content": self.content}


class Conversation:
    def __init__(self, system_prompt: str, max_tokens: int = 3000) -> None:
        if max_tokens < 50:
            raise ValueError("context budget must be at least 50 tokens")
        self.system_prompt = system_prompt
        self.max_tokens = max_tokens
        self.entries: list[Entry] = []
        self._kept_tokens = 0

    def add_user(self, text: str) -> None:
        self._add(Entry("user", text))

    def add_assistant(self, text: str, interrupted: bool = False) -> None:
        self._add(Entry("assistant", text, interrupted))

    def _add(self, entry: Entry) -> None:
        """Entries older than twice the budget can never be sent again: they are dropped, so a session
        that talks for hours keeps a bounded history."""
        self.entries.append(entry)
        self._kept_tokens += estimate_tokens(entry.content) + 4
        while len(self.entries) > 1 and self._kept_tokens > 2 * self.max_tokens:
            dropped = self.entries.pop(0)
            self._kept_tokens -= estimate_tokens(dropped.content) + 4

    def messages(self) -> list[Message]:
        """The system prompt plus the newest entries that fit the budget (the last one always)."""
        budget = self.max_tokens - estimate_tokens(self.system_prompt)
        kept: list[Message] = []
        for entry in reversed(self.entries):
            message = entry.as_message()
            cost = estimate_tokens(message["content"]) + 4
            if kept and cost > budget:
                break
            kept.append(message)
            budget -= cost
        kept.reverse()
        return [{"role": "system", "content": self.system_prompt}, *kept]
