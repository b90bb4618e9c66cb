"""Silero VAD v5/v6 run directly with onnxruntime: no torch.

The ONNX file ships inside the `silero-vad` wheel. That wheel declares torch as a dependency, which we
do not want, so the project's setup installs it with `--no-deps` and this module only reads the model
file by path (importing the `silero_vad` package itself would import torch).

The default file is the 16 kHz-only opset-15 export (`silero_vad_16k_op15.onnx`): the same network
as `silero_vad.onnx` without the 8 kHz branch, measured 18 % faster per call here (145 vs 177 µs).

One `SileroModel` serves every session of a process; each session keeps its own recurrent state and
64-sample context in a `SileroState`. `infer_batch` evaluates many sessions' chunks in one call.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from vagus.packaged import cpu_onnx_session, find_packaged_model

SAMPLE_RATE = 16000
CHUNK = 512
"""Samples per inference at 16 kHz (32 ms): the window the model was trained on."""
CONTEXT = 64
"""Trailing samples of the previous chunk that the model sees in front of each new chunk."""


def default_silero_path() -> Path:
    return find_packaged_model(
        "silero_vad",
        "data/silero_vad_16k_op15.onnx",
        "run `pip install --no-deps silero-vad` (scripts/setup.sh does) or set vad.model_path",
    )


@dataclass(slots=True)
class SileroState:
    rnn: np.ndarray = field(default_factory=lambda: np.zeros((2, 1, 128), dtype=np.float32))
    context: np.ndarray = field(default_factory=lambda: np.zeros(CONTEXT, dtype=np.float32))

    def reset(self) -> None:
        self.rnn.fill(0.0)
        self.context.fill(0.0)


class SileroModel:
    def __init__(self, path: str | Path | None = None, threads: int = 1) -> None:
        model_path = Path(path) if path else default_silero_path()
        self._session = cpu_onnx_session(model_path, "VAD", threads)
        self.path = model_path
        self._sr = np.array(SAMPLE_RATE, dtype=np.int64)
        self._input = np.zeros((1, CONTEXT + CHUNK), dtype=np.float32)

    def infer(self, chunk: np.ndarray, state: SileroState) -> float:
        """Speech probability of one 512-sample chunk; updates `state`."""
        buf = self._input
        buf[0, :CONTEXT] = state.context
        buf[0, CONTEXT:] = chunk
        out, rnn = self._session.run(None, {"input": buf, "state": state.rnn, "sr": self._sr})
        state.rnn = rnn
        state.context[:] = chunk[-CONTEXT:]
        return float(out[0, 0])

    def infer_batch(self, chunks: np.ndarray, states: list[SileroState]) -> np.ndarray:
        """Probabilities for B sessions' chunks (B, 512) in one model call."""
        batch = len(states)
        inputs = np.empty((batch, CONTEXT + CHUNK), dtype=np.float32)
        rnn = np.empty((2, batch, 128), dtype=np.float32)
        for i, state in enumerate(states):
            inputs[i, :CONTEXT] = state.context
            rnn[:, i, :] = state.rnn[:, 0, :]
        inputs[:, CONTEXT:] = chunks
        out, rnn_next = self._session.run(None, {"input": inputs, "state": rnn, "sr": self._sr})
        for i, state in enumerate(states):
            state.rnn = rnn_next[:, i : i + 1, :].copy()
            state.context[:] = chunks[i, -CONTEXT:]
        return out[:, 0]
