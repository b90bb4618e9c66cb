"""A rolling summary of the conversation, written off the critical path.

When older entries no longer fit the context budget, they are folded into a short summary that rides
in the system message, so a long call keeps its gist (a name, a decision) instead of forgetting it.
The summary is written by the session's own language model while nobody is waiting for an answer:
it starts after an answer ends, and is cancelled the moment a new turn begins (and tried again after
that turn), so it never delays an answer. A model that cannot summarise (the offline rule brain) gets
an extractive summary: the user's own sentences, newest first to fit.

The heard-words rule holds by construction: entries carry only what the user heard of each answer.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from vagus.brain.context import Conversation, Entry
from vagus.perception.prosody import TAG
from vagus.services.llm.base import LLM, Message

log = logging.getLogger("vagus.summary")

SUMMARY_WORDS = 80
PROMPT = (
    "Summarise this conversation between a user and a voice assistant in at most {words} words, as plain "
    "notes: names, numbers, decisions, what the user wants, what tools did. Only what was said; no preamble."
)


def transcript(entries: list[Entry], summary: str) -> str:
    lines = [f"Earlier: {summary}"] if summary else []
    for e in entries:
        if e.exchange:
            results = [m.get("content", "") for m in e.exchange if m.get("role") == "tool"]
            calls = [c["function"]["name"] for c in e.exchange[0].get("tool_calls", [])]
            lines.append(f"Tools {', '.join(calls)} returned: {'; '.join(str(r) for r in results)}")
        elif e.role == "user":
            lines.append(f"User: {e.content}")
        else:
            lines.append(f"Assistant: {e.content}" + (" (cut off by the user here)" if e.interrupted else ""))
    return "\n".join(lines)


EXTRACTIVE = "The user said: "


def extractive(entries: list[Entry], summary: str, words: int = SUMMARY_WORDS) -> str:
    """The user's own sentences, newest kept first, within `words` words."""
    said = [TAG.sub("", e.content).strip() for e in entries if e.role == "user" and e.content.strip()]
    if summary.startswith(EXTRACTIVE):
        said = summary.removeprefix(EXTRACTIVE).split(" / ") + said
    elif summary:
        said.insert(0, summary)
    kept: list[str] = []
    total = 0
    for text in reversed(said):
        n = len(text.split())
        if total + n > words:
            break
        kept.insert(0, text)
        total += n
    return EXTRACTIVE + " / ".join(kept) if kept else summary


class Summarizer:
    def __init__(
        self,
        conversation: Conversation,
        llm: LLM | None,
        spawn: Callable[[Coroutine[Any, Any, Any], str], asyncio.Task[Any]],
        words: int = SUMMARY_WORDS,
    ) -> None:
        """`llm`: None for extractive summaries only."""
        self.conversation, self.llm, self._spawn, self.words = conversation, llm, spawn, words
        self._task: asyncio.Task[None] | None = None
        self.busy = False
        """A turn is in progress: summaries wait."""
        self.written = 0

    def check(self) -> None:
        """Start a summary if entries have fallen out of the budget and nobody waits for an answer."""
        if self.busy or (self._task is not None and not self._task.done()):
            return
        if self.conversation.unsent():
            self._task = self._spawn(self._fold(self.conversation.unsent()), "summary")

    def fold_all(self) -> None:
        """Fold the whole conversation now (a flow step whose policy is `summary`)."""
        self.cancel()
        entries = list(self.conversation.entries)
        if entries:
            self._task = self._spawn(self._fold(entries), "summary")

    def turn_started(self) -> None:
        self.busy = True
        self.cancel()

    def turn_ended(self) -> None:
        self.busy = False
        self.check()

    def cancel(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()
        self._task = None

    async def _fold(self, entries: list[Entry]) -> None:
        previous = self.conversation.summary
        text = await self._write(entries, previous)
        if text:
            self.conversation.fold(entries, text)
            self.written += 1
            log.debug("folded %d entries into a summary of %d words", len(entries), len(text.split()))

    async def _write(self, entries: list[Entry], previous: str) -> str:
        if self.llm is None:
            return extractive(entries, previous, self.words)
        messages: list[Message] = [
            {"role": "system", "content": PROMPT.format(words=self.words)},
            {"role": "user", "content": transcript(entries, previous)},
        ]
        try:
            parts = [d async for d in self.llm.stream(messages) if isinstance(d, str)]
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a summary is a nicety: the conversation goes on without it
            log.info("summary not written (%s): extractive instead", exc)
            return extractive(entries, previous, self.words)
        words = "".join(parts).split()
        return " ".join(words[: self.words * 2])
