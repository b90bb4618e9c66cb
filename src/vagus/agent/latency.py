"""The per-turn record and its latency waterfall.

A turn's milestones are stamped on the session clock (`marks`), provider calls are timed on
`perf_counter` (`stages_ms`), and the answer's own milestones live in `speak`. When the first audio
goes out, `latency_event` folds them into one `TurnLatency`: what each stage took, and the
framework's own share (time between the turn decision and the first audio being ready that was
spent neither inside a provider call nor in a wait the turn policy chose, such as a held turn).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from vagus.brain.speaker import SpeakTimings
from vagus.core.events import TurnLatency

POLICY_STAGES = ("held",)
"""Stages that are waits chosen by the turn policy, not work: never booked as framework overhead."""
PROVIDER_STAGES = ("stt", "llm_first_sentence", "tts_first_audio")


@dataclass(slots=True)
class TurnRecord:
    number: int
    speech_start: float
    speech_end: float
    decided: float
    """Session-clock time the turn was decided."""
    decided_real: float
    """perf_counter() at the decision: provider stages are timed on the same counter."""
    user_text: str = ""
    held: bool = False
    user_added: bool = False
    """The user's words are in the conversation (added once: when the answer is heard, a tool ran,
    or the answer ended without a word)."""
    said: bool = False
    """The agent spoke on its own (`say`), not in answer to a turn: no latency to report."""
    marks: dict[str, float] = field(default_factory=dict)
    stages_ms: dict[str, float] = field(default_factory=dict)
    speculative: list[str] = field(default_factory=list)
    speak: SpeakTimings = field(default_factory=SpeakTimings)
    voice_speed: float = 1.0
    """The pace for this answer's voice (perception/prosody.py)."""


def stage_durations(turn: TurnRecord) -> dict[str, float]:
    """Milliseconds per stage: the provider calls timed so far plus the answer's own milestones."""
    s = turn.speak
    stages: dict[str, float] = dict(turn.stages_ms)
    if s.first_sentence is not None:
        stages["llm_first_sentence"] = (s.first_sentence - s.llm_start) * 1000
    if s.llm_first_token is not None:
        stages["llm_first_token"] = (s.llm_first_token - s.llm_start) * 1000
    if s.tts_start is not None and s.tts_first_audio is not None:
        stages["tts_first_audio"] = (s.tts_first_audio - s.tts_start) * 1000
    return stages


def framework_overhead_ms(turn: TurnRecord, stages: dict[str, float]) -> float:
    """Decision → first audio queued, less the provider calls and the policy's chosen waits."""
    queued = turn.speak.first_audio_queued
    if queued is None:
        return 0.0
    total = (queued - turn.decided_real) * 1000
    inside = sum(stages.get(name, 0.0) for name in PROVIDER_STAGES + POLICY_STAGES)
    return max(0.0, total - inside)


def latency_event(turn: TurnRecord, now: float) -> TurnLatency:
    """The turn's waterfall, published when its first audio is sent at session time `now`."""
    turn.marks["first_audio_sent"] = now
    stages = stage_durations(turn)
    return TurnLatency(
        now,
        turn.number,
        marks={k: round(v, 4) for k, v in turn.marks.items()},
        stages_ms={k: round(v, 2) for k, v in stages.items()},
        overhead_ms=round(framework_overhead_ms(turn, stages), 3),
        response_ms=round((now - turn.speech_end) * 1000, 1),
        speculative=list(turn.speculative),
    )
