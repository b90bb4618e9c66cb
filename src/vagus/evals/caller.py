"""The scripted caller: a scenario's turns as one microphone track (16 kHz), spoken by an offline voice
(Piper, the packaged voice, or an espeak-ng voice, at the turn's rate) or taken from recordings, laid
out in time with the silences that leave room for the answers; the user near the microphone or across
a room, a TV or a bystander across the room; under the scenario's noise. Reproducible: the same
scenario and seed give the same samples."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from vagus.audio.resample import resample
from vagus.audio.room import far_field, television
from vagus.audio.wav import read_audio
from vagus.evals.suite import Conditions, Expect, Scenario, Turn

RATE = 16000
WINDOW = 160  # 10 ms
OTHER_VOICE_RMS = 0.05
"""espeak-ng speaks louder than Piper: its speech is set to this level (-26 dBFS, a talker at 0.5 m)."""
ACROSS_THE_ROOM_M = {"tv": 3.0, "bystander": 2.5}
DEFAULT_RT60_S = 0.5


@dataclass(frozen=True, slots=True)
class Spoken:
    """One user turn as placed in the track."""

    index: int
    script: str
    start: float
    end: float
    """Where its speech begins and ends in the track (seconds)."""
    expect: Expect
    speaker: str = "user"


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


class Voices:
    """The offline voices a caller speaks with, loaded once each: 'piper' (the packaged voice, random
    variation off) and 'espeak:VOICE' (espeak-ng, set to a talker's level)."""

    def __init__(self) -> None:
        self._loaded: dict[str, Any] = {}

    def _tts(self, name: str) -> Any:
        if name not in self._loaded:
            if name == "piper":
                from vagus.services.tts.piper_local import PiperTTS

                self._loaded[name] = PiperTTS(None, None, 0.0, 0.0)
            else:
                from vagus.services.tts.espeak import EspeakTTS

                tts = EspeakTTS(name.removeprefix("espeak:"))
                tts.check_voice()
                self._loaded[name] = tts
        return self._loaded[name]

    async def say(self, text: str, rate: float = 1.0, voice: str = "piper") -> np.ndarray:
        tts = self._tts(voice)
        blocks = [b async for b in tts.stream(text, speed=rate)]
        audio = np.concatenate(blocks) if blocks else np.zeros(0, np.float32)
        audio = resample(audio, tts.sample_rate, RATE)
        if voice != "piper":
            begin, end = speech_span(audio)
            level = float(np.sqrt(np.mean(np.square(audio[begin:end])))) if end > begin else 0.0
            if level > 0:
                audio = audio * (OTHER_VOICE_RMS / level)
        return audio.astype(np.float32)


async def _turn_audio(turn: Turn, voices: Voices | None) -> np.ndarray:
    if turn.audio is not None:
        audio, rate = read_audio(turn.audio)
        return resample(audio, rate, RATE) if rate != RATE else audio
    assert turn.say is not None and voices is not None
    if turn.pause_after is None:
        return await voices.say(turn.say, turn.rate, turn.voice)
    cut = turn.say.index(turn.pause_after) + len(turn.pause_after)
    first = await voices.say(turn.say[:cut], turn.rate, turn.voice)
    second = await voices.say(turn.say[cut:], turn.rate, turn.voice)
    _, spoken_end = speech_span(first)
    return np.concatenate([first[:spoken_end], np.zeros(int(turn.pause_s * RATE), np.float32), second])


def place(audio: np.ndarray, speaker: str, conditions: Conditions, seed: int) -> np.ndarray:
    """Speech as the microphone hears it: the user near it (or across the room with `conditions.room`);
    a TV or a bystander across the room."""
    room = conditions.room
    rt60 = room.rt60_s if room is not None else DEFAULT_RT60_S
    if speaker == "user":
        return far_field(audio, room.distance_m, room.rt60_s, RATE, seed) if room is not None else audio
    source = television(audio, RATE) if speaker == "tv" else audio
    return far_field(source, ACROSS_THE_ROOM_M[speaker], rt60, RATE, seed)


async def build_track(scenario: Scenario, voices: Voices | None) -> tuple[np.ndarray, list[Spoken]]:
    """The microphone track and where each turn's speech lies in it."""
    parts: list[np.ndarray] = [np.zeros(int(scenario.lead_s * RATE), np.float32)]
    at = scenario.lead_s
    spoken: list[Spoken] = []
    users: list[Spoken] = []
    for i, turn in enumerate(scenario.turns):
        audio = await _turn_audio(turn, voices)
        begin, finish = speech_span(audio)
        audio = place(audio[begin:finish], turn.speaker, scenario.conditions, scenario.conditions.seed + i)
        script = turn.say if turn.say is not None else (turn.audio.stem if turn.audio is not None else "")
        spoken.append(Spoken(i, script, at, at + len(audio) / RATE, turn.expect, turn.speaker))
        if turn.speaker == "user":
            users.append(spoken[-1])
        parts += [audio, np.zeros(int(turn.then_s * RATE), np.float32)]
        at += len(audio) / RATE + turn.then_s
    track = np.concatenate(parts).astype(np.float32)
    snr = scenario.conditions.noise_snr_db
    if snr is not None:
        track = add_noise(track, users or spoken, snr, scenario.conditions.seed)
    return track, spoken


def speech_level(track: np.ndarray, spoken: list[Spoken]) -> float:
    speech = np.concatenate([track[int(s.start * RATE) : int(s.end * RATE)] for s in spoken]) if spoken else track
    return float(np.sqrt(np.mean(np.square(speech)))) if speech.size else OTHER_VOICE_RMS


def add_noise(track: np.ndarray, spoken: list[Spoken], snr_db: float, seed: int) -> np.ndarray:
    """Steady noise at `snr_db` below the level of the user's speech (measured over their turns)."""
    level = speech_level(track, spoken)
    noise = np.random.default_rng(seed).standard_normal(len(track)).astype(np.float32)
    noise *= level / 10 ** (snr_db / 20)
    return np.clip(track + noise, -1.0, 1.0)


def describe(spoken: list[Spoken]) -> list[dict[str, Any]]:
    return [
        {"turn": s.index, "script": s.script, "start": round(s.start, 3), "end": round(s.end, 3)}
        | ({"speaker": s.speaker} if s.speaker != "user" else {})
        for s in spoken
    ]
