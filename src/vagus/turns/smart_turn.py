"""Semantic end-of-turn model: smart-turn v3.2 (pipecat-ai, BSD-2), run with onnxruntime.

The model listens to the last 8 s of the user's turn and gives the probability that the speaker is
done: it hears both the words (a complete sentence vs "I want to, um") and the prosody (falling vs
level pitch). It ships inside the pipecat-ai wheel (installed without its dependencies: only the
ONNX file is read) and takes Whisper-style log-mel features, computed here with faster-whisper's
numpy feature extractor (identical to pipecat's within 3e-7). ~50 ms per call on one thread.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from vagus.packaged import ModelNotFoundError, cpu_onnx_session, find_packaged_model
from vagus.services.executor import BatchingWorker

RATE = 16000
WINDOW_S = 8
MAX_BATCH = 4
"""Measured on 2 cores: 78 ms for one, 63 ms per turn batched by 2–4; larger batches gain nothing."""
MODEL_FILE = "audio/turn/smart_turn/data/smart-turn-v3.2-cpu.onnx"


def default_model_path() -> Path:
    return find_packaged_model("pipecat", MODEL_FILE, "pip install --no-deps pipecat-ai (scripts/setup.sh does)")


class SmartTurnModel:
    """Shared by every session of a process; `probability` is thread-safe (one ONNX session)."""

    def __init__(self, path: str | Path | None = None, threads: int = 1) -> None:
        path = Path(path) if path else default_model_path()
        self._session = cpu_onnx_session(path, "end-of-turn", threads)
        self._input = self._session.get_inputs()[0].name
        try:
            from faster_whisper.feature_extractor import FeatureExtractor
        except ImportError as exc:
            raise ModelNotFoundError(
                "the smart-turn end-of-turn model needs faster-whisper (pip install 'vagus[local]'), "
                "or set turns.end_of_turn.model: none"
            ) from exc
        self._features = FeatureExtractor(chunk_length=WINDOW_S)
        self._worker = BatchingWorker("end-of-turn", self.probabilities, MAX_BATCH)

    def warmup(self) -> None:
        self.probability(np.zeros(RATE, np.float32) + 1e-3)

    async def judge(self, audio: np.ndarray) -> float:
        """`probability` off the event loop, on one worker thread shared by every session; sessions
        that ask in the same host tick (or while the model is busy) are judged in one batched call."""
        return await self._worker.submit(audio)

    @property
    def batch_sizes(self) -> list[int]:
        return self._worker.batch_sizes

    def features(self, audio: np.ndarray) -> np.ndarray:
        """(80, 800) log-mel of the last 8 s, zero-padded in front, waveform normalised first."""
        n = RATE * WINDOW_S
        x = np.asarray(audio, dtype=np.float32)[-n:]
        if len(x) < n:
            x = np.concatenate([np.zeros(n - len(x), np.float32), x])
        x = (x - x.mean()) / np.sqrt(x.var() + 1e-7)
        return self._features(x, padding=0).astype(np.float32)

    def probability(self, audio: np.ndarray) -> float:
        """P(the turn is complete) for 16 kHz mono audio of the turn so far."""
        return self.probabilities([audio])[0]

    def probabilities(self, audios: list[np.ndarray]) -> list[float]:
        """P(complete) for several sessions' turns in one model call."""
        if any(len(a) == 0 for a in audios):
            raise ValueError("no audio to judge")
        features = np.stack([self.features(a) for a in audios])
        (out,) = self._session.run(None, {self._input: features})
        return [float(p) for p in np.asarray(out).reshape(-1)]
