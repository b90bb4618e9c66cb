"""Voiceprints: a 256-number summary of a voice, for telling speakers apart.

The model is resemblyzer's GE2E speaker encoder (Resemble AI, Apache-2.0; a 3-layer LSTM over 40-band
mel frames, then a linear layer): its weights ship in the `Resemblyzer` wheel as a PyTorch
checkpoint. Torch is never needed: the checkpoint is read by `torch_file.py` and the network is
written as an ONNX graph (three ONNX `LSTM` nodes and a `Gemm`) in memory at load, then run with
onnxruntime. Features follow resemblyzer's: 25 ms windows every 10 ms, 40 Slaney mel bands of power,
1.6 s partial windows at 1.3 per second whose embeddings are averaged and L2-normalised.

Two voiceprints are compared by cosine similarity (both are unit length: a dot product).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from vagus.packaged import ModelNotFoundError, cpu_onnx_session, model_file
from vagus.perception.torch_file import CheckpointError, load_checkpoint
from vagus.services.executor import ModelWorker

RATE = 16000
N_FFT = 400
HOP = 160
N_MELS = 40
PARTIAL_FRAMES = 160
PARTIALS_PER_S = 1.3
MIN_COVERAGE = 0.75
HIDDEN = 256
LAYERS = 3
PACKAGED = ("resemblyzer", "pretrained.pt")
PACKAGED_SHA256 = "39373b86598fa3da9fcddee6142382efe09777e8d37dc9c0561f41f0070f134e"
INSTALL_HINT = "pip install --no-deps 'Resemblyzer==0.1.4'"
MIN_SPEECH_S = 1.0
"""Shorter speech gives a voiceprint too unstable to compare."""


def _hz_to_mel(hz: np.ndarray) -> np.ndarray:
    """Slaney's mel scale (linear below 1 kHz, logarithmic above), as librosa's default."""
    hz = np.asarray(hz, dtype=np.float64)
    f_sp, min_log_hz = 200.0 / 3, 1000.0
    min_log_mel, logstep = min_log_hz / f_sp, np.log(6.4) / 27.0
    mel = hz / f_sp
    return np.where(hz >= min_log_hz, min_log_mel + np.log(np.maximum(hz, 1e-10) / min_log_hz) / logstep, mel)


def _mel_to_hz(mel: np.ndarray) -> np.ndarray:
    f_sp, min_log_hz = 200.0 / 3, 1000.0
    min_log_mel, logstep = min_log_hz / f_sp, np.log(6.4) / 27.0
    return np.where(mel >= min_log_mel, min_log_hz * np.exp(logstep * (mel - min_log_mel)), f_sp * mel)


def mel_filters(rate: int = RATE, n_fft: int = N_FFT, n_mels: int = N_MELS) -> np.ndarray:
    """Triangular Slaney-normalised mel filters, (n_mels, n_fft // 2 + 1)."""
    fft_hz = np.linspace(0, rate / 2, n_fft // 2 + 1)
    mel_hz = _mel_to_hz(np.linspace(_hz_to_mel(0.0), _hz_to_mel(rate / 2), n_mels + 2))
    widths = np.diff(mel_hz)
    ramps = mel_hz[:, None] - fft_hz[None, :]
    lower = -ramps[:-2] / widths[:-1, None]
    upper = ramps[2:] / widths[1:, None]
    weights = np.maximum(0, np.minimum(lower, upper))
    weights *= (2.0 / (mel_hz[2:] - mel_hz[:-2]))[:, None]
    return weights.astype(np.float32)


_FILTERS = mel_filters()
_WINDOW = (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(N_FFT) / N_FFT)).astype(np.float32)  # periodic Hann


def mel_frames(wav: np.ndarray) -> np.ndarray:
    """(frames, 40) mel power spectrogram, centred frames with zero padding."""
    padded = np.pad(wav.astype(np.float32), N_FFT // 2)
    count = 1 + (len(padded) - N_FFT) // HOP
    frames = np.lib.stride_tricks.as_strided(
        padded, shape=(count, N_FFT), strides=(padded.strides[0] * HOP, padded.strides[0])
    )
    power = np.abs(np.fft.rfft(frames * _WINDOW, axis=1)) ** 2
    return (power @ _FILTERS.T).astype(np.float32)


def normalise_volume(wav: np.ndarray, target_dbfs: float = -30.0) -> np.ndarray:
    """Quiet speech is raised to `target_dbfs` (never lowered), as the encoder was trained."""
    rms = float(np.sqrt(np.mean(wav.astype(np.float64) ** 2))) if wav.size else 0.0
    if rms <= 0:
        return wav
    change = target_dbfs - 20 * np.log10(rms)
    return wav * np.float32(10 ** (change / 20)) if change > 0 else wav


def partial_slices(n_samples: int) -> list[slice]:
    """Where the 1.6 s windows fall (mel frame indices), the last dropped if it covers < 75 %."""
    n_frames = int(np.ceil((n_samples + 1) / HOP))
    step = max(1, round(RATE / PARTIALS_PER_S / HOP))
    starts = range(0, max(1, n_frames - PARTIAL_FRAMES + step + 1), step)
    slices = [slice(i, i + PARTIAL_FRAMES) for i in starts]
    last = slices[-1]
    coverage = (n_samples - last.start * HOP) / (PARTIAL_FRAMES * HOP)
    if coverage < MIN_COVERAGE and len(slices) > 1:
        slices.pop()
    return slices


def _gates(w: np.ndarray) -> np.ndarray:
    """PyTorch's gate order (input, forget, cell, output) to ONNX's (input, output, forget, cell)."""
    i, f, g, o = np.split(w, 4, axis=0)
    return np.concatenate([i, o, f, g], axis=0)


def build_onnx(state: dict[str, np.ndarray]) -> bytes:
    """The encoder as a serialized ONNX model: mels (batch, 160, 40) → unit embeddings (batch, 256)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    nodes = [helper.make_node("Transpose", ["mels"], ["x0"], perm=[1, 0, 2])]  # (time, batch, 40)
    inits = []
    x = "x0"
    for layer in range(LAYERS):
        w = _gates(state[f"lstm.weight_ih_l{layer}"])[None]
        r = _gates(state[f"lstm.weight_hh_l{layer}"])[None]
        b = np.concatenate([_gates(state[f"lstm.bias_ih_l{layer}"]), _gates(state[f"lstm.bias_hh_l{layer}"])])[None]
        for name, value in ((f"W{layer}", w), (f"R{layer}", r), (f"B{layer}", b)):
            inits.append(numpy_helper.from_array(value.astype(np.float32), name))
        nodes.append(
            helper.make_node(
                "LSTM", [x, f"W{layer}", f"R{layer}", f"B{layer}"], [f"y{layer}", f"h{layer}"], hidden_size=HIDDEN
            )
        )
        nodes.append(helper.make_node("Squeeze", [f"y{layer}", "axis1"], [f"x{layer + 1}"]))
        x = f"x{layer + 1}"
    inits.append(numpy_helper.from_array(np.array([1], np.int64), "axis1"))
    inits.append(numpy_helper.from_array(np.array([0], np.int64), "axis0"))
    inits.append(numpy_helper.from_array(state["linear.weight"].astype(np.float32), "LW"))
    inits.append(numpy_helper.from_array(state["linear.bias"].astype(np.float32), "LB"))
    nodes += [
        helper.make_node("Squeeze", [f"h{LAYERS - 1}", "axis0"], ["last"]),  # the last layer's final state
        helper.make_node("Gemm", ["last", "LW", "LB"], ["lin"], transB=1),
        helper.make_node("Relu", ["lin"], ["pos"]),
        helper.make_node("ReduceL2", ["pos"], ["norm"], axes=[1], keepdims=1),
        helper.make_node("Div", ["pos", "norm"], ["embeds"]),
    ]
    graph = helper.make_graph(
        nodes,
        "resemblyzer_voice_encoder",
        [helper.make_tensor_value_info("mels", TensorProto.FLOAT, ["batch", PARTIAL_FRAMES, N_MELS])],
        [helper.make_tensor_value_info("embeds", TensorProto.FLOAT, ["batch", HIDDEN])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return bytes(model.SerializeToString())


class VoiceEncoder:
    """Speech (16 kHz mono float32) → a unit-length 256-number voiceprint."""

    name = "resemblyzer-ge2e"

    def __init__(self, checkpoint: str | Path | None = None, sha256: str | None = None, threads: int = 1) -> None:
        path = model_file(checkpoint, sha256, PACKAGED, PACKAGED_SHA256, INSTALL_HINT, "speaker")
        self.path = path

        def convert(p: Path) -> bytes:
            try:
                loaded = load_checkpoint(p)
            except CheckpointError as exc:
                raise ModelNotFoundError(str(exc)) from None
            state = loaded.get("model_state", loaded) if isinstance(loaded, dict) else None
            if not isinstance(state, dict) or "lstm.weight_ih_l0" not in state:
                raise ModelNotFoundError(f"{p}: not a resemblyzer voice-encoder checkpoint")
            return build_onnx(state)

        self._session = cpu_onnx_session(path, "speaker", threads, rewrite=convert)
        self._worker = ModelWorker("voice")

    async def embed_async(self, speech: np.ndarray) -> np.ndarray:
        """`embed` on the model's worker thread (the frame path never waits on it)."""
        return await self._worker.run(lambda: self.embed(speech))

    def embed(self, speech: np.ndarray) -> np.ndarray:
        """The voiceprint of `speech` (silence already removed: pass only voiced audio)."""
        if len(speech) < MIN_SPEECH_S * RATE * 0.5:
            raise ValueError(f"too little speech for a voiceprint ({len(speech) / RATE:.2f} s)")
        wav = normalise_volume(np.asarray(speech, dtype=np.float32))
        slices = partial_slices(len(wav))
        needed = slices[-1].stop * HOP
        if needed > len(wav):
            wav = np.pad(wav, (0, needed - len(wav)))
        mels = mel_frames(wav)
        batch = np.stack([mels[s] for s in slices]).astype(np.float32)
        partials = self._session.run(["embeds"], {"mels": batch})[0]
        raw = partials.mean(axis=0)
        return (raw / max(float(np.linalg.norm(raw)), 1e-9)).astype(np.float32)


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Cosine similarity of two voiceprints (1: the same voice; about 0.5 and below: different)."""
    return float(np.dot(a, b) / max(float(np.linalg.norm(a) * np.linalg.norm(b)), 1e-9))
