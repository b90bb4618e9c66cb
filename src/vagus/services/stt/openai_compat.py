"""STT through an OpenAI-compatible `/audio/transcriptions` endpoint (OpenAI, faster-whisper-server,
speaches, vLLM, LocalAI…). The utterance is sent as a 16 kHz WAV."""

from __future__ import annotations

import io

import aiohttp
import numpy as np
import soundfile as sf

from vagus.audio.pcm import float_to_int16
from vagus.audio.resample import resample
from vagus.config import OpenAISttConfig
from vagus.services.errors import ProviderError
from vagus.services.http import HttpProvider
from vagus.services.stt.base import Transcript


class OpenAICompatibleSTT(HttpProvider):
    name = "openai-stt"
    what = "the speech-to-text endpoint"

    def __init__(self, base_url: str, model: str, api_key: str | None = None, language: str | None = "en"):
        super().__init__(base_url, api_key)
        self.model = model
        self.language = language

    async def transcribe(self, audio: np.ndarray, sample_rate: int, prompt: str | None = None) -> Transcript:
        if audio.size == 0:
            return Transcript(text="")
        buffer = io.BytesIO()
        sf.write(buffer, float_to_int16(resample(audio, sample_rate, 16000)), 16000, format="WAV", subtype="PCM_16")
        form = aiohttp.FormData()
        form.add_field("file", buffer.getvalue(), filename="utterance.wav", content_type="audio/wav")
        form.add_field("model", self.model)
        form.add_field("response_format", "json")
        if self.language:
            form.add_field("language", self.language)
        if prompt:
            form.add_field("prompt", prompt)
        async with self.post("/audio/transcriptions", data=form) as response:
            try:
                body = await response.json(content_type=None)
            except ValueError:
                raise ProviderError(self.name, "server", "transcription answer is not JSON") from None
        if not isinstance(body, dict) or not isinstance(body.get("text"), str):
            raise ProviderError(
                self.name, "server", "the transcription had no text", f"answer without 'text': {str(body)[:200]}"
            )
        return Transcript(text=body["text"].strip(), language=body.get("language"))


def from_config(section: OpenAISttConfig, agent: object) -> OpenAICompatibleSTT:
    return OpenAICompatibleSTT(section.base_url or "", section.model, section.api_key, section.language)
