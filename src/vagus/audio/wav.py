"""Audio file reading and WAV writing.

Reading goes through libsndfile (the `soundfile` wheel), so WAV in any PCM or float flavour, FLAC and
OGG all load; anything that is not audio raises `AudioFileError` with the reason, never a bare
traceback from deep inside a codec.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import soundfile as sf

from vagus.audio.pcm import float_to_int16, to_mono


class AudioFileError(ValueError):
    """The file is missing, unreadable, or not audio."""


MIN_RATE, MAX_RATE = 8000, 192_000
MAX_CHANNELS = 8
MAX_SECONDS = 3 * 3600.0


def check_audio_file(path: str | Path, max_seconds: float = MAX_SECONDS) -> sf._SoundFileInfo:
    """Its header, checked before anything is read: a rate, channel count and length that Vagus can
    take (a 32 KB file whose header says 1 Hz would otherwise be hours of audio to resample)."""
    path = Path(path)
    if not path.exists():
        raise AudioFileError(f"{path}: no such file")
    if path.is_dir():
        raise AudioFileError(f"{path}: is a directory, not an audio file")
    try:
        info = sf.info(str(path))
    except (sf.LibsndfileError, RuntimeError, TypeError) as exc:
        raise AudioFileError(f"{path}: not a readable audio file ({exc})") from None
    if not MIN_RATE <= info.samplerate <= MAX_RATE:
        raise AudioFileError(f"{path}: sample rate {info.samplerate} Hz is outside {MIN_RATE}-{MAX_RATE} Hz")
    if not 1 <= info.channels <= MAX_CHANNELS:
        raise AudioFileError(f"{path}: {info.channels} channels (at most {MAX_CHANNELS})")
    if info.frames / info.samplerate > max_seconds:
        raise AudioFileError(f"{path}: {info.frames / info.samplerate:.0f} s long (at most {max_seconds:.0f} s)")
    return info


def read_audio(path: str | Path, mono: bool = True) -> tuple[np.ndarray, int]:
    """Read an audio file → (float32 samples, sample rate). Stereo is mixed to mono unless mono=False."""
    path = Path(path)
    check_audio_file(path)
    try:
        samples, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, TypeError) as exc:
        raise AudioFileError(f"{path}: not a readable audio file ({exc})") from None
    if rate <= 0:
        raise AudioFileError(f"{path}: invalid sample rate {rate}")
    return (to_mono(samples) if mono else samples), int(rate)


OUTPUT_FORMATS: dict[str, tuple[str, str | None]] = {
    ".wav": ("WAV", "PCM_16"),
    ".flac": ("FLAC", "PCM_16"),
    ".ogg": ("OGG", "VORBIS"),
    ".opus": ("OGG", "OPUS"),
    ".mp3": ("MP3", "MPEG_LAYER_III"),
    ".aiff": ("AIFF", "PCM_16"),
}
"""What `write_audio` writes, by the output's suffix (libsndfile's formats)."""


def check_output_path(path: str | Path, input_path: str | Path | None = None) -> Path:
    """Refuse, before any work, an output that cannot be written: a folder, an unknown suffix, a missing
    parent folder, or the input file itself."""
    path = Path(path)
    if path.is_dir():
        raise AudioFileError(f"{path}: is a folder; give a file name such as {path / 'agent.wav'}")
    if path.suffix.lower() not in OUTPUT_FORMATS:
        known = ", ".join(OUTPUT_FORMATS)
        raise AudioFileError(f"{path}: cannot write {path.suffix or 'files without a suffix'}; use one of {known}")
    if input_path is not None and path.exists() and path.resolve() == Path(input_path).resolve():
        raise AudioFileError(f"{path}: is the input recording; writing there would overwrite it")
    if path.exists() and not path.is_file():
        raise AudioFileError(f"{path}: is not a regular file")
    parent = path.parent
    if parent.exists() and not parent.is_dir():
        raise AudioFileError(f"{path}: {parent} is not a folder")
    existing = parent
    while not existing.exists():
        existing = existing.parent
    if not os.access(path if path.exists() else existing, os.W_OK):
        raise AudioFileError(f"{path}: cannot be written (no permission)")
    return path


def write_audio(path: str | Path, samples: np.ndarray, sample_rate: int) -> None:
    """Write float32 samples in the format the suffix names (WAV, FLAC, OGG/Opus, MP3, AIFF)."""
    path = check_output_path(path)
    file_format, subtype = OUTPUT_FORMATS[path.suffix.lower()]
    path.parent.mkdir(parents=True, exist_ok=True)
    data = np.clip(np.asarray(samples, dtype=np.float32), -1.0, 1.0)
    if subtype == "OPUS" and sample_rate not in (8000, 12000, 16000, 24000, 48000):
        from vagus.audio.resample import resample

        data, sample_rate = resample(data, sample_rate, 48000), 48000
    try:
        sf.write(str(path), data, sample_rate, subtype=subtype, format=file_format)
    except (sf.LibsndfileError, OSError, RuntimeError) as exc:
        raise AudioFileError(f"{path}: could not be written ({exc})") from None


def write_wav(path: str | Path, samples: np.ndarray, sample_rate: int) -> None:
    """Write float32 mono (or (n, ch)) samples as 16-bit PCM WAV."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), float_to_int16(np.asarray(samples)), sample_rate, subtype="PCM_16", format="WAV")
