"""Audio file reading and WAV writing.

Reading goes through libsndfile (the `soundfile` wheel), so WAV in any PCM or float flavour, FLAC and
OGG all load; anything that is not audio raises `AudioFileError` with the reason, never a bare
traceback from deep inside a codec.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf

from vagus.audio.pcm import float_to_int16, to_mono


class AudioFileError(ValueError):
    """The file is missing, unreadable, or not audio."""


def read_audio(path: str | Path, mono: bool = True) -> tuple[np.ndarray, int]:
    """Read an audio file → (float32 samples, sample rate). Stereo is mixed to mono unless mono=False."""
    path = Path(path)
    if not path.exists():
        raise AudioFileError(f"{path}: no such file")
    if path.is_dir():
        raise AudioFileError(f"{path}: is a directory, not an audio file")
    try:
        samples, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, TypeError) as exc:
        raise AudioFileError(f"{path}: not a readable audio file ({exc})") from None
    if rate <= 0:
        raise AudioFileError(f"{path}: invalid sample rate {rate}")
    return (to_mono(samples) if mono else samples), int(rate)


def write_wav(path: str | Path, samples: np.ndarray, sample_rate: int) -> None:
    """Write float32 mono (or (n, ch)) samples as 16-bit PCM WAV."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), float_to_int16(np.asarray(samples)), sample_rate, subtype="PCM_16", format="WAV")
