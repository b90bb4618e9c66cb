"""TTS through an OpenAI-compatible `/audio/speech` endpoint, streamed as raw PCM.

Asks for `response_format: pcm` (16-bit mono at 24 kHz, OpenAI's definition) and plays blocks as
they arrive. Servers that answer with a WAV file instead are handled too (decoded whole).
"""

from __future__ import annotations

import io
from collections.abc import AsyncIterator

import numpy as np
import soundfile as sf

from vagus.audio.pcm import int16_to_float, to_mono
from vagus.audio.resample import resample
from vagus.config import OpenAITtsConfig
from vagus.services.http import HttpProvider

PCM_RATE = 24000


class OpenAICompatibleTTS(HttpProvider):
    name = "openai-tts"
    what = "the text-to-speech endpoint"

    def __init__(self, base_url: str, model: str, voice: str, api_key: str | None = None) -> None:
        super().__init__(base_url, api_key)
        self.model = model
        self.voice = voice
        self.sample_rate = PCM_RATE

    async def stream(self, text: str, speed: float = 1.0) -> AsyncIterator[np.ndarray]:
        if not text.strip():
            return
        body: dict[str, object] = {"model": self.model, "input": text, "voice": self.voice, "response_format": "pcm"}
        if speed != 1.0:
            body["speed"] = round(min(4.0, max(0.25, speed)), 2)
        async with self.post("/audio/speech", json=body) as response:
            head = b""
            carry = b""
            is_wav: bool | None = None
            async for block in response.content.iter_any():
                if is_wav is None:
                    head += block
                    if len(head) < 4:
                        continue
                    is_wav = head.startswith(b"RIFF")
                    block, head = head, b""
                if is_wav:
                    head += block
                    continue
                data = carry + block
                usable = len(data) - (len(data) % 2)
                carry = data[usable:]
                if usable:
                    yield int16_to_float(np.frombuffer(data[:usable], dtype="<i2"))
            if is_wav:
                audio, rate = sf.read(io.BytesIO(head), dtype="float32", always_2d=True)
                yield resample(to_mono(audio), rate, PCM_RATE)
            elif is_wav is None and head:
                usable = len(head) - (len(head) % 2)
                if usable:
                    yield int16_to_float(np.frombuffer(head[:usable], dtype="<i2"))


def from_config(section: OpenAITtsConfig, agent: object) -> OpenAICompatibleTTS:
    return OpenAICompatibleTTS(section.base_url or "", section.model, section.voice, section.api_key)
