"""Whisper over a batch of utterances at once (CTranslate2's batched generate through faster-whisper's
model): what the pool runs for the requests that arrived together. Same decoding as the node's own
speech to text (`services/stt/whisper_local.py`: greedy, no temperature fallback, no timestamps, the
same no-speech filter), so a pooled transcript reads as a local one.

One utterance is at most Whisper's 30 s window (longer audio is cut there: a turn is shorter).
Requests with different languages or prompts are decoded in separate batches.
"""

from __future__ import annotations

import math
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

WHISPER_RATE = 16000
WINDOW_S = 30


def pick_device(device: str) -> str:
    if device != "auto":
        return device
    import ctranslate2

    return "cuda" if ctranslate2.get_cuda_device_count() > 0 else "cpu"


class BatchedWhisper:
    def __init__(
        self, model_path: str | None = None, device: str = "auto", compute_type: str | None = None, threads: int = 2
    ) -> None:
        from faster_whisper import WhisperModel

        from vagus.services.stt.whisper_local import BUILTIN_MODELS

        if model_path is None or model_path in BUILTIN_MODELS:
            path = BUILTIN_MODELS[model_path or "tiny.en"]()
        else:
            path = Path(model_path)
        if not (path / "model.bin").is_file():
            raise ValueError(f"no CTranslate2 Whisper model in {path}")
        self.device = pick_device(device)
        self.compute_type = compute_type or ("float16" if self.device == "cuda" else "int8")
        self.model = WhisperModel(str(path), device=self.device, compute_type=self.compute_type, cpu_threads=threads)
        self.model_path = path

    def transcribe(self, items: list[tuple[np.ndarray, str | None, str | None]]) -> list[dict[str, Any]]:
        """Each (16 kHz float32 audio, language, prompt) → {"text", "language", "confidence"}, in order."""
        groups: dict[tuple[str, str], list[int]] = defaultdict(list)
        for i, (_, language, prompt) in enumerate(items):
            groups[(language or "en", prompt or "")].append(i)
        out: list[dict[str, Any]] = [{} for _ in items]
        for (language, prompt), members in groups.items():
            for i, result in zip(members, self._batch([items[i][0] for i in members], language, prompt), strict=True):
                out[i] = result
        return out

    def _batch(self, audios: list[np.ndarray], language: str, prompt: str) -> list[dict[str, Any]]:
        from faster_whisper.audio import pad_or_trim
        from faster_whisper.tokenizer import Tokenizer
        from faster_whisper.transcribe import get_ctranslate2_storage

        model = self.model
        tokenizer = Tokenizer(model.hf_tokenizer, model.model.is_multilingual, task="transcribe", language=language)
        previous = tokenizer.encode(" " + prompt.strip()) if prompt else []
        tokens = model.get_prompt(tokenizer, previous, without_timestamps=True)
        features = np.stack(
            [pad_or_trim(model.feature_extractor(np.asarray(a[: WINDOW_S * WHISPER_RATE], np.float32))) for a in audios]
        ).astype(np.float32)
        results = model.model.generate(
            get_ctranslate2_storage(features),
            [list(tokens) for _ in audios],
            beam_size=1,
            max_length=448,
            return_scores=True,
            return_no_speech_prob=True,
            suppress_blank=True,
        )
        out = []
        for result in results:
            ids = result.sequences_ids[0]
            avg_logprob = result.scores[0] * len(ids) / (len(ids) + 1)
            # Whisper invents words on silence and noise: dropped when it is sure there is no speech
            silent = result.no_speech_prob > 0.6 and avg_logprob < -0.8
            text = "" if silent else tokenizer.decode(ids).strip()
            out.append({"text": text, "language": language, "confidence": None if silent else math.exp(avg_logprob)})
        return out
