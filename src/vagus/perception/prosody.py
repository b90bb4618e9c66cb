"""How something was said: pitch, loudness, speaking rate and pauses per turn, and a rough reading
of the speaker's state relative to their own baseline.

What this is: prosodic measurements (a YIN pitch tracker, RMS level, words per second of speech,
the share of pauses) compared with the same speaker's earlier turns in the session, plus the
transcript's sentiment (VADER's lexicon), combined into arousal (calm … agitated) and valence
(negative … positive). What it is not: an emotion recogniser. No speech-emotion model ships in a
package (those on PyPI download their weights at run time), so sarcasm, a flat-voiced complaint or a
cheerful shout are read as what their prosody and words say, nothing more. The result reaches the
model as a short tag ("[sounds: upset, fast]") only when something stands out, and sets the voice's
pace: a little faster for a fast talker, calmer and slower for an upset one.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import numpy as np

from vagus.brain.speech_text import words_in
from vagus.services.executor import ModelWorker

RATE = 16000
FRAME = 640
"""40 ms analysis window: two periods of the lowest pitch tracked."""
HOP = 160
FMIN, FMAX = 60.0, 400.0
YIN_THRESHOLD = 0.15
TAG = re.compile(r"\s*\[sounds: [^\]]*\]")
GUIDANCE = (
    "A user message may end with a tag such as [sounds: upset, fast]: how their voice sounded, measured, "
    "not said by them. Let it shape your tone (calm and brief for someone upset); never read it out or quote it."
)
"""Told to the model when the tag is on, so that it neither ignores the tag nor says it aloud."""
"""A prosody tag in a user message (the rule brain and the summary leave it out)."""


def pitch_track(audio: np.ndarray, rate: int = RATE) -> np.ndarray:
    """F0 in Hz every 10 ms (0 where unvoiced), by YIN (de Cheveigné & Kawahara 2002): the
    cumulative-mean-normalised difference function, its first dip under 0.15, parabolic refinement."""
    audio = np.asarray(audio, dtype=np.float64)
    if len(audio) < FRAME:
        return np.zeros(0)
    count = 1 + (len(audio) - FRAME) // HOP
    frames = np.lib.stride_tricks.as_strided(
        audio, shape=(count, FRAME), strides=(audio.strides[0] * HOP, audio.strides[0])
    )
    frames = frames - frames.mean(axis=1, keepdims=True)
    max_lag = int(rate / FMIN)
    min_lag = int(rate / FMAX)
    window = FRAME - max_lag  # integration window (the frame must hold it plus the longest lag)
    # d(tau) = sum (x[j] - x[j+tau])^2 over j < window, for all tau at once via FFT autocorrelation
    n = 1 << (FRAME * 2 - 1).bit_length()
    spectrum = np.fft.rfft(frames, n)
    head = np.fft.rfft(frames[:, :window], n)
    cross = np.fft.irfft(np.conj(head) * spectrum, n)[:, : max_lag + 1]
    squares = np.cumsum(frames**2, axis=1)
    energy0 = squares[:, window - 1]
    lags = np.arange(max_lag + 1)
    shifted = squares[:, lags + window - 1] - np.concatenate([np.zeros((count, 1)), squares[:, lags[1:] - 1]], axis=1)
    diff = energy0[:, None] + shifted - 2 * cross
    diff[:, 0] = 0
    cumulative = np.cumsum(diff[:, 1:], axis=1) / np.arange(1, max_lag + 1)
    cmnd = np.ones_like(diff)
    cmnd[:, 1:] = diff[:, 1:] / np.maximum(cumulative, 1e-12)
    # first dip under the threshold in each frame, then the bottom of that dip (within half a period),
    # all frames at once: a Python loop per frame would hold the GIL the audio path needs
    search = cmnd[:, min_lag:max_lag]
    below = search < YIN_THRESHOLD
    voiced = below.any(axis=1) & (energy0 / window > 1e-6)
    first = np.argmax(below, axis=1) + min_lag
    reach = np.arange(max_lag)[None, :]
    window_mask = (reach >= first[:, None]) & (reach < np.minimum(first + first // 2 + 1, max_lag - 1)[:, None])
    masked = np.where(window_mask, cmnd[:, :max_lag], np.inf)
    tau = np.clip(np.argmin(masked, axis=1), 1, max_lag - 1)
    rows = np.arange(count)
    a, b, c = cmnd[rows, tau - 1], cmnd[rows, tau], cmnd[rows, tau + 1]
    curve = a - 2 * b + c
    shift = np.where(curve != 0, 0.5 * (a - c) / np.where(curve != 0, curve, 1), 0.0)
    f0 = np.where(voiced, rate / (tau + shift), 0.0)
    return f0


@dataclass(frozen=True, slots=True)
class Prosody:
    pitch_hz: float
    """Median F0 of voiced frames (0: none found)."""
    pitch_range_st: float
    """Spread of F0, 10th to 90th percentile, in semitones."""
    level_db: float
    """RMS level of the speech, dBFS."""
    words_per_s: float
    pause_share: float
    """Share of the utterance spent in pauses (unvoiced, quiet frames)."""
    seconds: float


@dataclass(frozen=True, slots=True)
class Acoustics:
    """What the audio alone says (computed while the words are being transcribed)."""

    pitch_hz: float
    pitch_range_st: float
    level_db: float
    pause_share: float
    speech_s: float
    seconds: float


def acoustics(audio: np.ndarray, rate: int = RATE) -> Acoustics:
    audio = np.asarray(audio, dtype=np.float32)
    seconds = len(audio) / rate
    f0 = pitch_track(audio, rate)
    voiced = f0[f0 > 0]
    if voiced.size >= 3:
        pitch = float(np.median(voiced))
        low, high = np.percentile(voiced, [10, 90])
        spread = 12 * math.log2(high / low) if low > 0 else 0.0
    else:
        pitch, spread = 0.0, 0.0
    frames = len(audio) // HOP
    if not frames:
        return Acoustics(pitch, spread, -120.0, 1.0, 0.0, seconds)
    blocks = audio[: frames * HOP].reshape(frames, HOP).astype(np.float64)
    levels = np.sqrt(np.mean(blocks**2, axis=1))
    speaking = levels > max(1e-4, float(np.percentile(levels, 90)) * 0.1)
    active = blocks[speaking]
    level = 20 * math.log10(max(float(np.sqrt(np.mean(active**2))), 1e-6)) if active.size else -120.0
    return Acoustics(pitch, spread, level, 1.0 - float(speaking.mean()), float(speaking.sum()) * HOP / rate, seconds)


_WORKER: ModelWorker | None = None


def _worker() -> ModelWorker:
    global _WORKER
    if _WORKER is None:
        _WORKER = ModelWorker("prosody")
    return _WORKER


async def acoustics_async(audio: np.ndarray) -> Acoustics:
    """`acoustics` on a worker thread (a 3 s turn takes tens of ms: never on the frame path)."""
    return await _worker().run(lambda: acoustics(audio))


def warmup() -> None:
    """Load the sentiment lexicon now (tens of ms) rather than in the first turn."""
    sentiment("fine")


def measure(audio: np.ndarray, words: str, rate: int = RATE) -> Prosody:
    """One utterance's prosody (`words`: its transcript, for the speaking rate)."""
    return combine(acoustics(audio, rate), words)


def combine(a: Acoustics, words: str) -> Prosody:
    rate = words_in(words) / max(a.speech_s, 0.3)
    return Prosody(a.pitch_hz, a.pitch_range_st, a.level_db, rate, a.pause_share, a.seconds)


def sentiment(text: str) -> float:
    """The transcript's valence, −1 … 1 (VADER's compound score; 0 when its lexicon has no word)."""
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer  # type: ignore[import-untyped]

    global _ANALYZER
    if _ANALYZER is None:
        _ANALYZER = SentimentIntensityAnalyzer()
    return float(_ANALYZER.polarity_scores(text)["compound"])


_ANALYZER = None


@dataclass(slots=True)
class Reading:
    """How the turn sounded, relative to the speaker's baseline."""

    prosody: Prosody
    arousal: float
    """About −1 (subdued) … 1 (agitated)."""
    valence: float
    tags: list[str] = field(default_factory=list)
    speed: float = 1.0
    """Suggested pace of the agent's voice for the answer (1: as configured)."""

    def tag(self) -> str:
        return f"[sounds: {', '.join(self.tags)}]" if self.tags else ""


FAST_WPS, SLOW_WPS = 5.0, 1.8
"""Absolute speaking rates (words per second of speech, pauses left out) read as fast or slow while
the speaker has no baseline yet; a short question is often 4–4.5."""
TYPICAL_WPS = 3.6
"""A relaxed talker's words per second of speech: the agent's voice keeps its own pace for them."""


class ProsodyTracker:
    """A session's view of its speaker: each turn against the average of their earlier turns."""

    def __init__(self, baseline_turns: int = 1) -> None:
        self.baseline_turns = baseline_turns
        self._history: list[Prosody] = []

    def baseline(self) -> Prosody | None:
        if len(self._history) < self.baseline_turns:
            return None
        recent = self._history[-10:]
        pitched = [p.pitch_hz for p in recent if p.pitch_hz > 0]
        return Prosody(
            float(np.median(pitched)) if pitched else 0.0,
            float(np.median([p.pitch_range_st for p in recent])),
            float(np.median([p.level_db for p in recent])),
            float(np.median([p.words_per_s for p in recent])),
            float(np.median([p.pause_share for p in recent])),
            0.0,
        )

    async def read_async(self, heard: Acoustics, words: str) -> Reading:
        """`read` on the prosody worker thread: the sentiment lexicon is pure Python, and the audio
        path's event loop must not spend its frames on it."""
        return await _worker().run(lambda: self.read(heard, words))

    def read(self, heard: Acoustics | np.ndarray, words: str) -> Reading:
        now = combine(heard if isinstance(heard, Acoustics) else acoustics(heard), words)
        base = self.baseline()
        valence = sentiment(words) if words.strip() else 0.0
        pitch_up = 12 * math.log2(now.pitch_hz / base.pitch_hz) if base and now.pitch_hz and base.pitch_hz else 0.0
        louder = now.level_db - base.level_db if base else 0.0
        faster = now.words_per_s / base.words_per_s - 1 if base and base.words_per_s > 0 else 0.0
        arousal = float(np.tanh(pitch_up / 4 + louder / 8 + faster * 1.5))
        tags: list[str] = []
        if arousal > 0.45 and valence < -0.3:
            tags.append("upset")
        elif arousal > 0.45 and valence > 0.3:
            tags.append("excited")
        elif arousal < -0.45 and valence < -0.3:
            tags.append("down")
        elif valence < -0.5:
            tags.append("unhappy")
        if now.words_per_s >= (base.words_per_s * 1.3 if base else FAST_WPS) and now.words_per_s > 3.0:
            tags.append("fast")
        elif now.words_per_s <= (base.words_per_s * 0.7 if base else SLOW_WPS) and now.seconds > 1.0:
            tags.append("slow")
        if base and louder > 6:
            tags.append("loud")
        elif base and louder < -8:
            tags.append("quiet")
        speed = 1.0
        if now.words_per_s > 0:
            speed = min(1.15, max(0.85, math.sqrt(now.words_per_s / TYPICAL_WPS)))
        if "upset" in tags or "down" in tags:
            speed = min(speed, 0.9)  # calmer and slower for someone upset
        self._history.append(now)
        return Reading(now, arousal, valence, tags, round(speed, 2))
