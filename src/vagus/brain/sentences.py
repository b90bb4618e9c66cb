"""Streaming sentence segmentation: LLM deltas in, speakable sentences out as soon as they end.

A sentence is released the moment its terminator arrives when that cannot be mistaken ("!", "?",
"…", or "." after a word that is no abbreviation or initial), else once whitespace follows it (3.5,
e.g.): an LLM sends the space with the *next* token, and waiting for it cost a token's time (~10 ms)
on every answer. So the first sentence reaches TTS while the LLM still writes. A long
first sentence is cut at a clause boundary (comma, dash) so the agent starts speaking sooner.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

_ABBREVIATIONS = frozenset(
    [
        "mr",
        "mrs",
        "ms",
        "dr",
        "prof",
        "sr",
        "jr",
        "st",
        "vs",
        "etc",
        "e.g",
        "i.e",
        "a.m",
        "p.m",
        "no",
        "approx",
        "dept",
        "est",
        "fig",
        "inc",
        "ltd",
        "co",
        "u.s",
    ]
)
_BOUNDARY = re.compile(r"[.!?;…]+[\"')\]]*(?=\s)|\n+|[。！？]+")
_END = re.compile(r"(?:[!?…]+|(?<=[A-Za-z]{2})\.)[\"')\]]*$")
"""A terminator at the very end of what has arrived that needs no look-ahead."""
_SPEAKABLE = re.compile(r"\w")


class SentenceSplitter:
    def __init__(self, first_clause_min_chars: int = 48, max_chars: int = 240) -> None:
        self.first_clause_min_chars = first_clause_min_chars
        self.max_chars = max_chars
        self._buffer = ""
        self._emitted = 0

    def push(self, delta: str) -> list[str]:
        self._buffer += delta
        out: list[str] = []
        while True:
            cut = self._find_cut()
            if cut is None:
                break
            sentence, self._buffer = self._buffer[:cut].strip(), self._buffer[cut:].lstrip()
            if sentence and not _SPEAKABLE.search(sentence):  # the rest of "?!" or "...": nothing to say
                continue
            if sentence:
                out.append(sentence)
                self._emitted += 1
        return out

    def flush(self) -> list[str]:
        rest, self._buffer = self._buffer.strip(), ""
        if rest:
            self._emitted += 1
            return [rest]
        return []

    def _find_cut(self) -> int | None:
        text = self._buffer
        for match in _BOUNDARY.finditer(text):
            end = match.end()
            if match.group(0)[0] == "." and _is_abbreviation(text[: match.start()]):
                continue
            return end
        end = _END.search(text)
        if end is not None and not (text[end.start()] == "." and _is_abbreviation(text[: end.start()])):
            return len(text)
        if self._emitted == 0 and len(text) >= self.first_clause_min_chars:
            clause = None
            for match in re.finditer(r"[,:—–](?=\s)|[，、；：]", text):
                if match.end() >= self.first_clause_min_chars // 2:
                    clause = match.end()
                    break
            if clause is not None:
                return clause
        if len(text) >= self.max_chars:
            space = text.rfind(" ", 0, self.max_chars)
            return space if space > 0 else self.max_chars
        return None


def _is_abbreviation(before: str) -> bool:
    word = re.search(r"([A-Za-z.]+)$", before)
    if not word:
        return False
    token = word.group(1).lower().rstrip(".")
    return token in _ABBREVIATIONS or (len(token) == 1 and token.isalpha())


async def stream_sentences(deltas: AsyncIterator[str], splitter: SentenceSplitter | None = None) -> AsyncIterator[str]:
    splitter = splitter or SentenceSplitter()
    async for delta in deltas:
        for sentence in splitter.push(delta):
            yield sentence
    for sentence in splitter.flush():
        yield sentence
