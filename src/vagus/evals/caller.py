"""The scripted caller: a scenario's user turns as one microphone track (16 kHz), spoken by an offline
voice (Piper, the packaged voice at the turn's rate) or taken from recordings, laid out in time with
the silences that leave room for the answers, under the scenario's noise. Reproducible: the same
scenario and seed give the same samples."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from vagus.audio.resample import resample
from vagus.audio.wav import read_audio
from vagus.evals.suite import Expect, Scenario, Turn

RATE = 16000
WINDOW = 160  # 10 ms


@dataclass(frozen=True, slots=True)
class Spoken:
    """One user turn as placed in the track."""

    index: int
    script: str
    start: float
    end: float
    """Where its speech begins and ends in the track (seconds)."""
    expect: Expect


def speech_span(pcm: np.ndarray, floor_db: float = -45.0) -> tuple[int, int]:
    """First and last sample of the 10 ms windows louder than `floor_db` (the voice's own lead-in and
    tail of silence left out)."""
    n = len(pcm) // WINDOW
    if n == 0:
        return 0, len(pcm)
    rms = np.sqrt(np.mean(np.square(pcm[: n * WINDOW].reshape(n, WINDOW)), axis=1) + 1e-12)
    loud = np.flatnonzero(20 * np.log10(rms) > floor_db)
    if not loud.size:
        return 0, 0
    return int(loud[0] * WINDOW), int((loud[-1] + 1) * WINDOW)


class UserVoice:
    """The packaged Piper voice as the caller (its own rate scaled per turn), random variation off."""

    def __init__(self) -> None:
        from vagus.services.tts.piper_local import PiperTTS

        self.tts = PiperTTS(None, None, 0.0, 0.0)

    async def say(self, text: str, rate: float) -> np.ndarray:
        blocks = [b async for b in self.tts.stream(text, speed=rate)]
        audio = np.concatenate(blocks) if blocks else np.zeros(0, np.float32)
        return resample(audio, self.tts.sample_rate, RATE)


async def _turn_audio(turn: Turn, voice: UserVoice | None) -> np.ndarray:
    if turn.audio is not None:
        audio, rate = read_audio(turn.audio)
        return resample(audio, rate, RATE) if rate != RATE else audio
    assert turn.say is not None and voice is not None
    if turn.pause_after is None:
        return await voice.say(turn.say, turn.rate)
    cut = turn.say.index(turn.pause_after) + len(turn.pause_after)
    first, second = await voice.say(turn.say[:cut], turn.rate), await voice.say(turn.say[cut:], turn.rate)
    _, spoken_end = speech_span(first)
    return np.concatenate([first[:spoken_end], np.zeros(int(turn.pause_s * RATE), np.float32), second])


async def build_track(scenario: Scenario, voice: UserVoice | None) -> tuple[np.ndarray, list[Spoken]]:
    """The microphone track and where each turn's speech lies in it."""
    parts: list[np.ndarray] = [np.zeros(int(scenario.lead_s * RATE), np.float32)]
    at = scenario.lead_s
    spoken: list[Spoken] = []
    for i, turn in enumerate(scenario.turns):
        audio = await _turn_audio(turn, voice)
        begin, finish = speech_span(audio)
        audio = audio[begin:finish]
        script = turn.say if turn.say is not None else (turn.audio.stem if turn.audio is not None else "")
        spoken.append(Spoken(i, script, at, at + len(audio) / RATE, turn.expect))
        parts += [audio, np.zeros(int(turn.then_s * RATE), np.float32)]
        at += len(audio) / RATE + turn.then_s
    track = np.concatenate(parts).astype(np.float32)
    snr = scenario.conditions.noise_snr_db
    if snr is not None:
        track = add_noise(track, spoken, snr, scenario.conditions.seed)
    return track, spoken


def add_noise(track: np.ndarray, spoken: list[Spoken], snr_db: float, seed: int) -> np.ndarray:
    """Steady noise at `snr_db` below the level of the speech (measured over the turns' speech)."""
    speech = np.concatenate([track[int(s.start * RATE) : int(s.end * RATE)] for s in spoken])
    level = float(np.sqrt(np.mean(np.square(speech)))) if speech.size else 0.05
    noise = np.random.default_rng(seed).standard_normal(len(track)).astype(np.float32)
    noise *= level / 10 ** (snr_db / 20)
    return np.clip(track + noise, -1.0, 1.0)


def describe(spoken: list[Spoken]) -> list[dict[str, Any]]:
    return [{"turn": s.index, "script": s.script, "start": round(s.start, 3), "end": round(s.end, 3)} for s in spoken]
