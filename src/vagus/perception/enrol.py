"""Enrolment: a voiceprint from a recording, from its speech only.

Only voiced audio goes into a voiceprint (Silero VAD, the same model that finds speech in sessions):
silence dilutes it, and non-speech can look like a voice to the encoder (measured by others on this
project: two radio-modem recordings scored 0.95 against each other). Too little speech is refused.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from vagus.audio.resample import resample
from vagus.audio.wav import read_audio
from vagus.perception.vault import Voiceprint, VoiceprintVault
from vagus.perception.voiceprint import RATE, VoiceEncoder
from vagus.senses.silero import CHUNK, SileroModel, SileroState

MIN_ENROL_SPEECH_S = 3.0
SPEECH_P = 0.5
HANGOVER_CHUNKS = 3


class EnrolmentError(ValueError):
    """The recording cannot make a voiceprint (the message says why)."""


def voiced(audio: np.ndarray, vad: SileroModel) -> np.ndarray:
    """The speech in `audio` (16 kHz mono), silence and non-speech left out."""
    state = SileroState()
    kept: list[np.ndarray] = []
    hang = 0
    for start in range(0, len(audio) - CHUNK + 1, CHUNK):
        chunk = audio[start : start + CHUNK]
        if vad.infer(chunk, state) >= SPEECH_P:
            hang = HANGOVER_CHUNKS
        elif hang:
            hang -= 1
        else:
            continue
        kept.append(chunk)
    return np.concatenate(kept) if kept else np.zeros(0, np.float32)


def voiceprint_from_file(path: str | Path, encoder: VoiceEncoder, vad: SileroModel) -> tuple[np.ndarray, float]:
    """(voiceprint, seconds of speech used) from a recording of one person."""
    audio, rate = read_audio(path)
    audio = resample(audio.astype(np.float32), rate, RATE) if rate != RATE else audio.astype(np.float32)
    speech = voiced(audio, vad)
    seconds = len(speech) / RATE
    if seconds < MIN_ENROL_SPEECH_S:
        raise EnrolmentError(
            f"{path}: {seconds:.1f} s of speech found; a voiceprint needs at least {MIN_ENROL_SPEECH_S:.0f} s "
            "of one person speaking"
        )
    return encoder.embed(speech), seconds


def enrol(
    vault: VoiceprintVault, name: str, path: str | Path, encoder: VoiceEncoder, vad: SileroModel, consent: bool
) -> tuple[Voiceprint, float]:
    """Enrol `name` from a recording (refused without consent, before anything is computed)."""
    vault.check_name(name)
    if consent is not True:
        vault.enroll(name, np.zeros(1, np.float32), encoder.name, consent)  # raises the consent error
    embedding, seconds = voiceprint_from_file(path, encoder, vad)
    return vault.enroll(name, embedding, encoder.name, consent), seconds
