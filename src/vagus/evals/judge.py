"""An LLM judge over any OpenAI-compatible endpoint: each turn that asks for it (`expect.judge`, what
a good answer does) is graded 1–5 against a fixed rubric for spoken answers. The rubric is part of
the code, not of the suite, so scores from different suites and runs mean the same thing."""

from __future__ import annotations

import json
import os
import re
from typing import Any

from vagus.evals.suite import JudgeConfig
from vagus.services.errors import ProviderError

RUBRIC = """You grade one answer of a voice assistant, heard through a loudspeaker. Score it from 1 to 5:
5 = does what the criterion asks, correct, short and natural to hear (no lists, markup or links);
4 = does it, with a small flaw of length or style; 3 = partly does it; 2 = mostly misses it;
1 = wrong, harmful, or says nothing useful. Judge only what is written below.
Reply with JSON only: {"score": <1-5>, "reason": "<one short sentence>"}"""

CALL_RUBRIC = """You grade a phone call between a caller and a voice assistant. Score from 1 to 5 how well
the call met the criterion: 5 = fully, and the assistant was clear and brief; 4 = fully, with a small
flaw; 3 = partly; 2 = mostly not; 1 = not at all. Judge only the transcript below.
Reply with JSON only: {"score": <1-5>, "reason": "<one short sentence>"}"""

FIRST_OBJECT = re.compile(r"\{.*?\}", re.DOTALL)


class Judge:
    def __init__(self, config: JudgeConfig) -> None:
        from vagus.services.llm.openai_compat import OpenAICompatibleLLM

        key = os.environ.get(config.api_key_env) if config.api_key_env else None
        self.config = config
        self.llm = OpenAICompatibleLLM(config.base_url, config.model, api_key=key, temperature=0.0, max_tokens=120)

    async def grade(self, criterion: str, user: str, answer: str) -> tuple[int | None, str]:
        """(score 1–5, reason); (None, why) when the judge gave no usable answer."""
        said = f"Criterion: {criterion}\nThe user said: {user}\nThe assistant said: {answer}"
        return await self._verdict(RUBRIC, said)

    async def grade_call(self, criterion: str, transcript: list[dict[str, Any]]) -> tuple[int | None, str]:
        """A whole call (a simulated caller's) against a goal."""
        who = {"caller": "Caller", "agent": "Assistant"}
        lines = "\n".join(f"{who[line['who']]}: {line['text']}" for line in transcript)
        return await self._verdict(CALL_RUBRIC, f"Criterion: {criterion}\nTranscript:\n{lines}")

    async def _verdict(self, rubric: str, content: str) -> tuple[int | None, str]:
        messages: list[Any] = [{"role": "system", "content": rubric}, {"role": "user", "content": content}]
        try:
            text = "".join([d async for d in self.llm.stream(messages) if isinstance(d, str)])
        except ProviderError as exc:
            return None, f"the judge failed: {exc.kind}"
        return parse_grade(text)

    async def close(self) -> None:
        await self.llm.close()


def parse_grade(text: str) -> tuple[int | None, str]:
    match = FIRST_OBJECT.search(text)
    if match is None:
        return None, "the judge gave no JSON"
    try:
        verdict = json.loads(match.group())
    except ValueError:
        return None, "the judge gave no JSON"
    score = verdict.get("score") if isinstance(verdict, dict) else None
    if isinstance(score, bool) or not isinstance(score, int | float) or not 1 <= score <= 5:
        return None, "the judge gave no score from 1 to 5"
    return round(score), str(verdict.get("reason", ""))[:300]
