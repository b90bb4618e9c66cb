"""Providers with fixed, known delays (the same shape as in shared/research/peers.md: STT final 50 ms,
LLM first token 100 ms then 10 ms per token, TTS first audio 50 ms in 20 ms chunks), so that the
framework's own share of a turn can be read off exactly. For benchmarks only."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import numpy as np

from vagus.brain.tools import ToolCall
from vagus.services.stt.base import Transcript


class FixedDelaySTT:
    name = "fixed-stt"

    def __init__(self, delay_s: float = 0.05, text: str = "what is seven times six") -> None:
        self.delay_s = delay_s
        self.text = text

    async def transcribe(self, audio: np.ndarray, sample_rate: int, prompt: str | None = None) -> Transcript:
        await asyncio.sleep(self.delay_s)
        return Transcript(self.text)


class FixedDelayLLM:
    name = "fixed-llm"

    def __init__(self, first_s: float = 0.1, per_token_s: float = 0.01, tool_round: bool = False) -> None:
        self.first_s = first_s
        self.per_token_s = per_token_s
        self.tool_round = tool_round
        """Answer each question with a tool call first (after `first_s`), then the words."""
        self.tokens = [
            "Seven",
            "times",
            "six",
            "is",
            "forty",
            "two",
            ".",
            "That",
            "is",
            "the",
            "answer",
            "you",
            "wanted",
            ".",
        ]

    async def stream(self, messages, tools=None) -> AsyncIterator[object]:  # type: ignore[no-untyped-def]
        await asyncio.sleep(self.first_s)
        if self.tool_round and tools and messages[-1]["role"] == "user":
            yield ToolCall(f"call-{len(messages)}", "calculate", '{"expression": "7 * 6"}')
            return
        for i, token in enumerate(self.tokens):
            if i:
                await asyncio.sleep(self.per_token_s)
            yield ("" if token in ".?" else " ") + token if i else token


class FixedDelayTTS:
    name = "fixed-tts"
    sample_rate = 16000

    def __init__(self, first_s: float = 0.05, chunk_s: float = 0.02) -> None:
        self.first_s = first_s
        self.chunk_s = chunk_s

    async def stream(self, text: str) -> AsyncIterator[np.ndarray]:
        await asyncio.sleep(self.first_s)
        tone = (0.2 * np.sin(np.arange(320) / 3)).astype(np.float32)
        for i in range(max(1, len(text) // 2)):
            if i:
                await asyncio.sleep(0)  # chunks arrive as they are made; a real TTS is faster than real time
            yield tone
