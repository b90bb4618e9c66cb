"""Speaker lock: answer the primary (or enrolled) speaker, ignore other voices.

Modes (`perception.speaker.lock`):
- `off`: everyone is heard (the default).
- `primary`: the session locks on one voice: an enrolled person named in `primary`, or else the
  first voice heard for `implicit_after_s` of answered speech. Until then every voice is heard.
- `enrolled`: only people in the voiceprint vault are heard.
With `multi_party`, another voice's turn is answered too, labelled with its name in the context
("Anna: …"; "Someone else: …" for an unknown voice) instead of being ignored.

How sure a voiceprint is depends on how much speech it saw (measured on real speech, `benchmarks/
perception.py`: equal error rate 25 % at 0.5 s, 16 % at 0.8 s, 4.6 % at 1.2 s, 1.5 % at 1.6 s), so
short speech is decided only when it is clearly one way (`decide`): over the agent, the agent still
pauses at once for anyone (the barge-in budget holds for its own user) and resumes as soon as the
voice is known to be another.
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import numpy as np

from vagus.config import SpeakerConfig
from vagus.perception.vault import Voiceprint
from vagus.perception.voiceprint import RATE, similarity

SURE_S = 1.6
"""From this much speech on, one threshold decides."""
EARLY_S = 0.8
EARLY_SAME_MARGIN = 0.07
EARLY_OTHER_MARGIN = 0.12
MIN_S = 0.5
"""Below this, a voiceprint says nothing useful."""
OTHER_LABEL = "Someone else"


class Decision(enum.Enum):
    SAME = "same"
    OTHER = "other"
    UNSURE = "unsure"


@dataclass(frozen=True, slots=True)
class Identity:
    decision: Decision
    name: str | None
    """The enrolled or primary voice it matched best (None: nobody known yet)."""
    score: float
    seconds: float


def decide(score: float, seconds: float, threshold: float) -> Decision:
    if seconds < MIN_S:
        return Decision.UNSURE
    if seconds >= SURE_S:
        return Decision.SAME if score >= threshold else Decision.OTHER
    if score >= threshold + EARLY_SAME_MARGIN:
        return Decision.SAME
    if seconds >= EARLY_S and score < threshold - EARLY_OTHER_MARGIN:
        return Decision.OTHER
    return Decision.UNSURE


Encode = Callable[[np.ndarray], Awaitable[np.ndarray]]


class SpeakerLock:
    def __init__(self, config: SpeakerConfig, encode: Encode, enrolled: list[Voiceprint]) -> None:
        self.config = config
        self.mode = config.lock
        self._encode = encode
        self.enrolled = {p.name: p.embedding for p in enrolled}
        self.primary: np.ndarray | None = None
        self.primary_name: str | None = None
        self._learned: list[tuple[np.ndarray, float]] = []
        if self.mode == "primary" and config.primary is not None:
            if config.primary not in self.enrolled:
                raise ValueError(f"perception.speaker.primary: {config.primary!r} is not enrolled")
            self.primary, self.primary_name = self.enrolled[config.primary], config.primary

    @property
    def active(self) -> bool:
        """A voice can be refused now."""
        if self.mode == "enrolled":
            return True
        return self.mode == "primary" and self.primary is not None

    def _candidates(self) -> dict[str, np.ndarray]:
        if self.mode == "primary" and self.primary is not None:
            return {self.primary_name or "primary": self.primary}
        return dict(self.enrolled)

    async def identify(self, speech: np.ndarray, over_agent: bool = False) -> tuple[Identity, np.ndarray | None]:
        """Whose voice `speech` is (and its voiceprint, when there was enough speech for one).
        `over_agent`: speech over the agent's voice, judged in the user's favour (`barge_in_margin`)."""
        seconds = len(speech) / RATE
        if seconds < MIN_S:
            return Identity(Decision.UNSURE, None, 0.0, seconds), None
        embedding = await self._encode(speech)
        candidates = self._candidates()
        if not candidates:
            return Identity(Decision.UNSURE, None, 0.0, seconds), embedding
        scores = {name: similarity(embedding, e) for name, e in candidates.items()}
        name = max(scores, key=scores.__getitem__)
        threshold = self.config.threshold - (self.config.barge_in_margin if over_agent else 0.0)
        verdict = decide(scores[name], seconds, threshold)
        return Identity(verdict, name if verdict is Decision.SAME else None, scores[name], seconds), embedding

    def learn(self, embedding: np.ndarray, seconds: float) -> bool:
        """In `primary` mode without a primary yet: an answered turn's voice counts towards it. True
        when the lock has just been set."""
        if self.mode != "primary" or self.primary is not None:
            return False
        if self._learned:
            mean = sum(e * s for e, s in self._learned)
            if similarity(embedding, mean) < self.config.threshold:
                return False  # another voice than the first one heard: not this session's primary
        self._learned.append((embedding, seconds))
        if sum(s for _, s in self._learned) < self.config.implicit_after_s:
            return False
        mean = sum(e * s for e, s in self._learned)
        self.primary = (mean / max(float(np.linalg.norm(mean)), 1e-9)).astype(np.float32)
        self.primary_name = None
        self._learned.clear()
        return True

    def label(self, identity: Identity) -> str:
        """How a turn is labelled in multi-party mode."""
        return identity.name or OTHER_LABEL
