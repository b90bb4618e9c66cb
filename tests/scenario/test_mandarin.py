"""A Mandarin conversation through the file transport: espeak-ng's voice, the rule brain in Chinese,
numbers read in Chinese. The transcription is scripted: no intelligible Mandarin speech ships in any
package (espeak-ng's is barely understood by Whisper; docs/perception.md), so this checks everything
after the words."""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import AsyncIterator

import numpy as np
import pytest

from vagus.audio.resample import resample
from vagus.config import AgentConfig
from vagus.services.llm.offline import OfflineBrain
from vagus.services.stt.base import Transcript
from vagus.transports.file import run_conversation

pytestmark = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed")
R = 16000


class ScriptedMandarin:
    name = "scripted-zh"
    punctuates = True

    def __init__(self, words: list[str]) -> None:
        self.words = list(words)

    async def transcribe(self, audio: np.ndarray, sample_rate: int, prompt: str | None = None) -> Transcript:
        return Transcript(self.words.pop(0) if self.words and not prompt else "", language="zh")


class Recording:
    """The espeak voice, remembering what it was asked to say."""

    def __init__(self, voice) -> None:  # type: ignore[no-untyped-def]
        self.voice, self.said = voice, []
        self.name = voice.name

    @property
    def sample_rate(self) -> int:
        return int(self.voice.sample_rate)

    async def stream(self, text: str, speed: float = 1.0) -> AsyncIterator[np.ndarray]:
        self.said.append(text)
        async for block in self.voice.stream(text, speed):
            yield block


async def test_a_mandarin_question_is_answered_in_chinese_with_numbers_read_in_chinese(services):
    from vagus.services.tts.espeak import EspeakTTS

    voice = Recording(EspeakTTS())
    question = np.concatenate([b async for b in voice.voice.stream("七乘以六等于多少？")])
    audio = np.concatenate([np.zeros(R // 2, np.float32), resample(question, 22050, R), np.zeros(5 * R, np.float32)])
    config = AgentConfig.model_validate({"senses": {"echo": {"enabled": False}}, "tts": {"provider": "espeak"}})
    zh = dataclasses.replace(services, stt=ScriptedMandarin(["七乘以六等于多少？"]), llm=OfflineBrain(), tts=voice)
    result = await run_conversation(audio, R, zh, config)
    answered = [t for t in result.turns if t.get("agent_text")]
    assert answered and answered[0]["agent_text"] == "七乘以六等于42。", result.turns
    assert voice.said == ["七乘以六等于四十二。"]  # the voice reads the number in Chinese
    start = int(answered[0]["agent_audio_start"] * R)
    assert np.abs(result.output[start : start + R]).max() > 0.05  # and is heard
