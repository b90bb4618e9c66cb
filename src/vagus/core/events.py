"""Session events: what the Studio, metrics, recorders and tests observe on the bus.

Each event is a small frozen dataclass stamped with the session-clock time `t` (seconds). `to_dict`
gives the structured form written to logs, data channels and the `vagus talk` timeline.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar


@dataclass(frozen=True, slots=True)
class Event:
    type: ClassVar[str] = "event"
    t: float

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["type"] = self.type
        data["t"] = round(self.t, 4)
        return data


@dataclass(frozen=True, slots=True)
class SessionStarted(Event):
    type: ClassVar[str] = "session_started"
    session_id: str


@dataclass(frozen=True, slots=True)
class SessionEnded(Event):
    type: ClassVar[str] = "session_ended"
    session_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class UserSpeechStarted(Event):
    type: ClassVar[str] = "user_speech_started"
    speech_start: float
    """Time the speech itself began (the VAD decides a little later, at `t`)."""


@dataclass(frozen=True, slots=True)
class UserSpeechStopped(Event):
    type: ClassVar[str] = "user_speech_stopped"
    speech_end: float


@dataclass(frozen=True, slots=True)
class TurnEnded(Event):
    type: ClassVar[str] = "turn_ended"
    turn: int
    speech_start: float
    speech_end: float
    reason: str
    """model_complete (the end-of-turn model judged it complete), text_complete (the model said
    unfinished, the transcript is a finished sentence), silence or max_length."""
    probability: float | None = None
    """The end-of-turn model's P(complete) for the final silence, when it answered."""


@dataclass(frozen=True, slots=True)
class TranscriptFinal(Event):
    type: ClassVar[str] = "transcript_final"
    turn: int
    text: str


@dataclass(frozen=True, slots=True)
class AgentSentence(Event):
    type: ClassVar[str] = "agent_sentence"
    turn: int
    index: int
    text: str


@dataclass(frozen=True, slots=True)
class AgentSpeechStarted(Event):
    type: ClassVar[str] = "agent_speech_started"
    turn: int


@dataclass(frozen=True, slots=True)
class AgentSpeechStopped(Event):
    type: ClassVar[str] = "agent_speech_stopped"
    turn: int
    interrupted: bool


@dataclass(frozen=True, slots=True)
class Interruption(Event):
    """A real interruption, confirmed at `t`; the agent's voice stopped at `stopped_at`."""

    type: ClassVar[str] = "interruption"
    turn: int
    heard_text: str
    """What the user actually heard of the answer before cutting in."""
    stopped_at: float = 0.0
    speech_start: float = 0.0
    """Onset of the user's speech that interrupted."""
    reason: str = "speech"
    """long_speech (went on for confirm_speech_ms) or speech (words that are not a backchannel)."""
    user_text: str = ""


@dataclass(frozen=True, slots=True)
class AgentPaused(Event):
    """The user started talking over the agent: its voice stopped at `t` while we find out why."""

    type: ClassVar[str] = "agent_paused"
    turn: int
    speech_start: float


@dataclass(frozen=True, slots=True)
class AgentResumed(Event):
    """Not an interruption (a backchannel, a cough, our own echo): the answer goes on where it paused."""

    type: ClassVar[str] = "agent_resumed"
    turn: int
    reason: str
    """nothing (no words: noise, a cough), backchannel or echo."""
    user_text: str = ""
    paused_ms: float = 0.0


@dataclass(frozen=True, slots=True)
class TurnHeld(Event):
    """The turn's words stop mid-sentence ("Could you tell me"): its answer waits until `until` for
    more; if the user goes on, `turn_continued` follows."""

    type: ClassVar[str] = "turn_held"
    turn: int
    text: str
    until: float


@dataclass(frozen=True, slots=True)
class TurnContinued(Event):
    """The user went on talking before turn `turn` was answered: it is answered with what follows, as
    the next turn (nothing was said in between)."""

    type: ClassVar[str] = "turn_continued"
    turn: int


@dataclass(frozen=True, slots=True)
class AgentCue(Event):
    """The agent said a short cue outside its answers: a backchannel while the user paused mid-turn,
    or an acknowledgement while a slow answer is prepared (`turns/cues.py`)."""

    type: ClassVar[str] = "agent_cue"
    turn: int
    kind: str
    """backchannel or acknowledgement"""
    text: str


@dataclass(frozen=True, slots=True)
class TurnSkipped(Event):
    type: ClassVar[str] = "turn_skipped"
    turn: int
    reason: str


@dataclass(frozen=True, slots=True)
class TurnLatency(Event):
    """The latency waterfall of one turn.

    `marks` are session-clock times (s) of each milestone; `stages_ms` are the measured durations of the
    provider calls; `overhead_ms` is the framework's own share: time between the turn decision and the
    first audio being ready that was not spent inside a provider call.
    """

    type: ClassVar[str] = "turn_latency"
    turn: int
    marks: dict[str, float] = field(default_factory=dict)
    stages_ms: dict[str, float] = field(default_factory=dict)
    overhead_ms: float = 0.0
    response_ms: float = 0.0
    """End of user speech → first agent audio sent."""
    speculative: list[str] = field(default_factory=list)
    """Stages started before the turn was decided and used (`stt`, `llm`): their `stages_ms` are only
    the wait left after the decision."""


@dataclass(frozen=True, slots=True)
class SensesReport(Event):
    """The front end's stages, their cost per 10 ms block (µs) and the echo delay it found."""

    type: ClassVar[str] = "senses"
    stages: list[str] = field(default_factory=list)
    cost_us: dict[str, float] = field(default_factory=dict)
    echo_delay_ms: float | None = None


@dataclass(frozen=True, slots=True)
class ErrorEvent(Event):
    type: ClassVar[str] = "error"
    stage: str
    kind: str
    message: str


@dataclass(frozen=True, slots=True)
class InputDropped(Event):
    """The host fell behind this session's microphone and dropped its oldest audio (at most one event
    a second; `frames` counts all dropped so far)."""

    type: ClassVar[str] = "input_dropped"
    frames: int


@dataclass(frozen=True, slots=True)
class FlowMoved(Event):
    """The conversation's flow went to another node (a tool's result or the model's choice)."""

    type: ClassVar[str] = "flow_moved"
    from_node: str | None
    to_node: str
    data: dict[str, Any] = field(default_factory=dict)
    """What the flow has collected so far."""
    end: bool = False


@dataclass(frozen=True, slots=True)
class AgentHandoff(Event):
    """Another agent took the conversation over."""

    type: ClassVar[str] = "agent_handoff"
    from_agent: str
    to_agent: str


@dataclass(frozen=True, slots=True)
class ToolCalled(Event):
    """A tool call the model made, and how it ended (`cancelled`: the user cut in on a pure tool)."""

    type: ClassVar[str] = "tool_called"
    turn: int
    name: str
    arguments: str
    result: str
    error: bool = False


@dataclass(frozen=True, slots=True)
class AgentAction(Event):
    """Something the agent does in the world (a robot moves, a light turns on), for the page and
    any device listening on the bus."""

    type: ClassVar[str] = "agent_action"
    name: str
    args: dict[str, Any] = field(default_factory=dict)
    status: str = "done"
    """"started", "done", "stopped" (interrupted) or "failed"."""


@dataclass(frozen=True, slots=True)
class SpeakerIdentified(Event):
    """Whose voice a turn was (perception/speaker.py): `decision` same/other/unsure against the locked
    voice(s), `name` the enrolled person matched, `score` the voiceprint similarity."""

    type: ClassVar[str] = "speaker_identified"
    turn: int
    decision: str
    name: str | None
    score: float
    seconds: float
    locked: bool


@dataclass(frozen=True, slots=True)
class SpeakerLocked(Event):
    """The session now listens to one voice (`primary`: the first heard long enough)."""

    type: ClassVar[str] = "speaker_locked"
    turn: int
    how: str


@dataclass(frozen=True, slots=True)
class UserProsody(Event):
    """How a turn sounded (perception/prosody.py): measurements, a reading relative to the speaker's
    own earlier turns, the tag the model sees and the pace chosen for the answer's voice."""

    type: ClassVar[str] = "user_prosody"
    turn: int
    pitch_hz: float
    level_db: float
    words_per_s: float
    pause_share: float
    arousal: float
    valence: float
    tags: list[str] = field(default_factory=list)
    voice_speed: float = 1.0


@dataclass(frozen=True, slots=True)
class AddresseeJudged(Event):
    """Whether a turn was meant for the agent (perception/addressee.py): `why` is name (it was called),
    answer (it followed the agent's question) or sound (level, reverberation, music underneath)."""

    type: ClassVar[str] = "addressee_judged"
    turn: int
    score: float
    why: str
    addressed: bool


@dataclass(frozen=True, slots=True)
class AgentTextDelta(Event):
    """A piece of a text answer as the model writes it (sessions that answer in text, not voice)."""

    type: ClassVar[str] = "agent_text_delta"
    turn: int
    text: str


@dataclass(frozen=True, slots=True)
class ClientToolCalls(Event):
    """The model called tools that the client runs (the Realtime API's `session.tools`): the answer
    ends here, and goes on when the client sends the results and asks for a response."""

    type: ClassVar[str] = "client_tool_calls"
    turn: int
    calls: list[dict[str, str]] = field(default_factory=list)
    """Each call: `call_id`, `name`, `arguments` (the JSON text the model wrote)."""
    said: str = ""


@dataclass(frozen=True, slots=True)
class AnswerDone(Event):
    """The work on a turn's answer has ended (its audio may still be playing): `outcome` is
    `answered`, `skipped` (no answer was due), `failed` or `cancelled`."""

    type: ClassVar[str] = "answer_done"
    turn: int
    outcome: str
