"""Spoken-style shaping: what a TTS should say for a piece of LLM text.

LLMs write for screens: markdown emphasis, bullets, headings, links and code, citation marks and
emoji. Read aloud, those come out as "asterisk asterisk", "bracket one" or a URL spelled letter by
letter. This strips the markup and keeps the words.
"""

from __future__ import annotations

import re

_LINK = re.compile(r"\[([^\]]+)\]\([^)]+\)")
_URL = re.compile(r"https?://\S+")
_EMPHASIS = re.compile(r"(\*\*|__|\*|_|~~|`+)(?=\S)(.+?)(?<=\S)\1")
_LIST_MARKER = re.compile(r"^\s*(?:[-*+•]|\d+[.)])\s+", re.MULTILINE)
_HEADING = re.compile(r"^\s*#{1,6}\s*", re.MULTILINE)
_STRAY = re.compile(r"[*#`|>_~]+")
_CITATION = re.compile(r"\s?(?:\[\^?\d+(?:[,–-]\s?\d+)*\]|【[^】]*】|\[(?:source|citation|ref)[^\]]*\])", re.IGNORECASE)
_ECHOED_TAG = re.compile(
    r"\[\s*sounds?\s*:[^\]]*(?:\]|$)|\[[^\]]*\b(?:heard only|interrupted by)\b[^\]]*(?:\]|$)", re.IGNORECASE
)
"""The notes in the model's context — the perception tag ("[sounds: upset, fast]"), the mark on an
interrupted answer ("[interrupted by the user; they heard only this]") — are for the model to read; a
small model sometimes writes them back (measured with SmolLM2-135M in the built-in eval suite), and
they must never be said."""
_EMOJI = re.compile("[\U0001f000-\U0001faff\U00002600-\U000027bf\U0001f900-\U0001f9ff\ufe0f\u200d]+")


def speakable(text: str) -> str:
    text = _ECHOED_TAG.sub(" ", text)
    text = _CITATION.sub("", text)
    text = _EMOJI.sub(" ", text)
    text = _LINK.sub(r"\1", text)
    text = _URL.sub("a link", text)
    text = _EMPHASIS.sub(r"\2", text)
    text = _HEADING.sub("", text)
    text = _LIST_MARKER.sub("", text)
    text = _STRAY.sub(" ", text)
    return re.sub(r"\s+", " ", text).strip()


CJK = re.compile(r"[\u4e00-\u9fff]")
"""A Chinese character (CJK unified ideographs)."""
_WORD = re.compile(r"[A-Za-z0-9'’-]+")


def words_in(text: str) -> float:
    """Words in a text, a Chinese character counting as half a word (what a length budget or a
    speaking rate counts)."""
    return len(_WORD.findall(text)) + len(CJK.findall(text)) / 2
