"""A suite of scenarios and a matrix of combinations, as YAML.

A scenario is a scripted caller: user turns (text spoken by an offline voice, or a recording), each
followed by a silence that leaves room for the answer (`then_s`) — or cut short to talk over it (a
barge-in) — under conditions (noise at an SNR, a far-field room, the agent's own voice echoing from a
loudspeaker), with speech from others in the room (a TV, a bystander) that must not be answered, and
expectations per turn (keywords in the answer, a tool called, a length limit, an interruption). Or a
simulated caller: an LLM with a persona and a goal that talks to the agent turn by turn (`caller:`),
scored on whether the goal was reached.

A matrix names combinations: each is a partial agent config laid over the suite's base config, so a
combination can swap any provider or setting (`stt`, `llm`, `tts`, `turns`, `senses` …).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from vagus.config import AgentConfig, ConfigError


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Expect(_Strict):
    keywords: list[str] = Field(
        default_factory=list, description="each must appear in the answer; 'a|b' accepts either (case-insensitive)"
    )
    tool: str | None = Field(None, description="a tool the agent must have called for this turn")
    max_words: int | None = Field(None, ge=1, description="the answer's length limit, in words")
    interrupts: bool = Field(False, description="this turn talks over the answer and must stop it")
    judge: str | None = Field(None, description="what a good answer does, graded 1-5 by the suite's LLM judge")
    keeps_talking: bool = Field(
        False, description="this turn is a backchannel ('mm-hm') over the answer: the agent must not stop"
    )
    ignored: bool = Field(
        False, description="this speech is not meant for the agent (a TV, a bystander): it must get no answer"
    )

    @model_validator(mode="after")
    def _one_intent(self) -> Expect:
        if self.interrupts and self.keeps_talking:
            raise ValueError("a turn either interrupts the answer or lets it go on, not both")
        if self.ignored and (self.keywords or self.tool or self.interrupts or self.judge or self.keeps_talking):
            raise ValueError("speech the agent must ignore cannot also expect an answer, a tool or an interruption")
        return self


VOICE = re.compile(r"^(piper|espeak:[A-Za-z0-9_+-]{1,40})$")
Speaker = Literal["user", "tv", "bystander"]


class Turn(_Strict):
    say: str | None = Field(None, description="what the user says (spoken by the offline user voice)")
    audio: Path | None = Field(None, description="or a recording of it (any rate; mono or stereo)")
    then_s: float = Field(6.0, ge=0, le=120, description="silence after this turn before the next (the answer)")
    rate: float = Field(1.0, ge=0.5, le=2.0, description="speaking rate of the user voice (1: its own)")
    voice: str = Field(
        "piper", description="who speaks `say`: 'piper' (the packaged voice) or 'espeak:VOICE' (en-us, en-gb+f3 …)"
    )
    speaker: Speaker = Field(
        "user",
        description="user (at the microphone); tv (a television across the room) or bystander (someone "
        "else talking in the room): their speech must get no answer unless `expect` says otherwise",
    )
    pause_after: str | None = Field(
        None, description="split `say` here with a mid-sentence pause (tests turn-taking): 'I want to | book'"
    )
    pause_s: float = Field(1.0, ge=0, le=10, description="length of that pause")
    expect: Expect = Field(default_factory=Expect)

    @model_validator(mode="after")
    def _one_source(self) -> Turn:
        if not VOICE.match(self.voice):
            raise ValueError(f"voice {self.voice!r}: 'piper' or 'espeak:VOICE' (a voice espeak-ng --voices lists)")
        if self.speaker != "user" and "expect" not in self.model_fields_set:
            self.expect = Expect(ignored=True)
        if (self.say is None) == (self.audio is None):
            raise ValueError("a turn says something (`say`) or plays a recording (`audio`), one of them")
        if self.pause_after is not None and (self.say is None or self.pause_after not in self.say):
            raise ValueError(f"pause_after {self.pause_after!r} is not in what the turn says")
        return self


class Room(_Strict):
    rt60_s: float = Field(0.5, ge=0.1, le=2.0, description="reverberation time (a living room: 0.4–0.6 s)")
    distance_m: float = Field(2.0, ge=0.3, le=10, description="the user's distance from the microphone")


class Conditions(_Strict):
    noise_snr_db: float | None = Field(None, ge=-10, le=60, description="steady noise under the user's speech")
    echo: bool = Field(False, description="the agent's voice reaches the microphone (a loudspeaker, no headset)")
    room: Room | None = Field(None, description="far field: the user speaks from across a reverberant room")
    seed: int = Field(0, description="the noise's random seed (a run is reproducible)")


class CallerGoal(_Strict):
    """When a simulated caller's goal counts as reached: every check given must hold."""

    tool: str | None = Field(None, description="a tool the agent called during the conversation (book_table …)")
    flow_node: str | None = Field(None, description="a flow step the conversation reached (done …)")
    keywords: list[str] = Field(default_factory=list, description="each said by the agent at some point ('a|b')")
    judge: str | None = Field(None, description="graded over the whole transcript by the suite's judge")

    @model_validator(mode="after")
    def _something(self) -> CallerGoal:
        if not (self.tool or self.flow_node or self.keywords or self.judge):
            raise ValueError("success needs at least one check: tool, flow_node, keywords or judge")
        return self


class Caller(_Strict):
    """A simulated caller: an LLM playing a person with a goal, heard through the offline voice."""

    persona: str = Field(min_length=1, description="who the caller is and how they talk")
    goal: str = Field(min_length=1, description="what they want from the call, in their own terms")
    success: CallerGoal = Field(description="how the evaluation decides the goal was reached")
    llm: dict[str, Any] = Field(
        description="the caller's language model, as an agent's `llm:` section (openai: any endpoint; llamacpp)"
    )
    max_turns: int = Field(8, ge=1, le=30, description="lines the caller says at most before hanging up")
    reply_after_s: float = Field(0.8, ge=0.2, le=5, description="the quiet after the agent before the caller speaks")
    seed: int = Field(0, description="sent to the caller's model (endpoints that take a seed) with temperature 0")
    voice: str = Field("piper", description="as a turn's voice")
    rate: float = Field(1.0, ge=0.5, le=2.0)

    @model_validator(mode="after")
    def _valid(self) -> Caller:
        if not VOICE.match(self.voice):
            raise ValueError(f"voice {self.voice!r}: 'piper' or 'espeak:VOICE'")
        if self.llm.get("provider") not in ("openai", "llamacpp"):
            raise ValueError("llm.provider: the caller needs a language model: openai (any endpoint) or llamacpp")
        return self


class Scenario(_Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    turns: list[Turn] = Field(default_factory=list, max_length=50)
    caller: Caller | None = Field(None, description="instead of scripted turns: a simulated caller")
    conditions: Conditions = Field(default_factory=Conditions)
    lead_s: float = Field(0.5, ge=0, le=10, description="silence before the first turn")
    config: dict[str, Any] = Field(
        default_factory=dict,
        description="settings this scenario needs, laid over the suite's base (a combination's own win)",
    )

    @model_validator(mode="after")
    def _one_kind(self) -> Scenario:
        if bool(self.turns) == (self.caller is not None):
            raise ValueError("a scenario has scripted `turns` or a simulated `caller`, one of them")
        return self


class Weights(_Strict):
    quality: float = Field(0.7, ge=0, le=1, description="share of the score from expectations met")
    latency: float = Field(0.3, ge=0, le=1, description="share from end of speech → first audio (p50)")
    latency_budget_ms: float = Field(2000, gt=0, description="p50 at which the latency part is worth nothing")


class JudgeConfig(_Strict):
    base_url: str = Field(description="an OpenAI-compatible endpoint (http://127.0.0.1:11434/v1 …)")
    model: str
    api_key_env: str | None = Field(None, description="the environment variable holding its key")
    pass_score: int = Field(4, ge=1, le=5, description="the lowest grade that passes")


class Suite(_Strict):
    name: str = "suite"
    agent: Path | None = Field(None, description="an agent config file (YAML) every combination starts from")
    base: dict[str, Any] = Field(
        default_factory=dict, description="the agent config every combination starts from (over `agent`)"
    )
    scenarios: list[Scenario] = Field(min_length=1)
    weights: Weights = Field(default_factory=Weights)
    judge: JudgeConfig | None = Field(None, description="the LLM that grades turns with `expect.judge`")

    @model_validator(mode="after")
    def _unique(self) -> Suite:
        names = [s.name for s in self.scenarios]
        if len(set(names)) != len(names):
            raise ValueError("scenario names must be unique")
        judged = any(t.expect.judge for s in self.scenarios for t in s.turns) or any(
            s.caller.success.judge for s in self.scenarios if s.caller is not None
        )
        if self.judge is None and judged:
            raise ValueError(
                "a scenario asks for a judge (expect.judge, success.judge) but the suite has no `judge:` section"
            )
        return self


class Prices(_Strict):
    """What a combination's providers charge, in any one currency (for hosted endpoints)."""

    stt_per_minute: float = Field(0, ge=0, description="per minute of the user's speech transcribed")
    llm_per_request: float = Field(0, ge=0, description="per answer (a request to the model)")
    llm_per_1k_output_tokens: float = Field(0, ge=0, description="per 1000 tokens written (4 characters each)")
    tts_per_1k_chars: float = Field(0, ge=0, description="per 1000 characters spoken")

    def turn_cost(self, speech_s: float, answer: str) -> float:
        return (
            speech_s / 60 * self.stt_per_minute
            + (self.llm_per_request if answer else 0.0)
            + len(answer) / 4 / 1000 * self.llm_per_1k_output_tokens
            + len(answer) / 1000 * self.tts_per_1k_chars
        )


class Matrix(_Strict):
    combinations: dict[str, dict[str, Any]] = Field(min_length=1)
    prices: dict[str, Prices] = Field(default_factory=dict, description="per combination: what it costs")

    @model_validator(mode="after")
    def _names(self) -> Matrix:
        unknown = sorted(set(self.prices) - set(self.combinations))
        if unknown:
            raise ValueError(f"prices for {unknown[0]!r}, which is not a combination")
        for name in self.combinations:
            if not name.replace("_", "").replace("-", "").replace(".", "").isalnum() or len(name) > 64:
                raise ValueError(f"combination name {name!r}: letters, digits, _ - . (at most 64)")
        return self


BUILTIN = Path(__file__).with_name("builtin.yaml")


def _read(path: Path, what: str) -> Any:
    try:
        return yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"{what} file {path} does not exist") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{what} file {path} is not valid YAML: {exc}") from None


def load_suite(path: Path | None, agent: Path | None = None) -> Suite:
    """A suite from YAML (None: the built-in one); ConfigError names the field that is wrong.
    `agent`: an agent config file every combination starts from (instead of the suite's `agent:`)."""
    source = path or BUILTIN
    try:
        suite = Suite.model_validate(_read(source, "suite") or {})
    except ValidationError as exc:
        raise ConfigError(_first_error(exc, source)) from None
    for scenario in suite.scenarios:  # recordings are relative to the suite file
        for turn in scenario.turns:
            if turn.audio is not None and not turn.audio.is_absolute():
                turn.audio = source.parent / turn.audio
    if agent is not None:
        suite.agent = agent.resolve()
    if suite.agent is not None:  # the agent's own file, its settings under the suite's `base`
        agent = suite.agent if suite.agent.is_absolute() else source.parent / suite.agent
        loaded = _read(agent, "agent config")
        if not isinstance(loaded, dict):
            raise ConfigError(f"agent config {agent} must be a mapping at the top level")
        suite.agent, suite.base = agent, merged(loaded, suite.base)
    combined(suite.base, {})  # the base must be a valid config
    for scenario in suite.scenarios:
        combined(merged(suite.base, scenario.config), {})  # and so must each scenario's settings
        if scenario.caller is not None:
            try:
                AgentConfig.model_validate({"llm": scenario.caller.llm})
            except ValidationError as exc:
                raise ConfigError(_first_error(exc, Path(f"{scenario.name}.caller"))) from None
    return suite


def load_matrix(path: Path | None) -> Matrix:
    if path is None:
        return Matrix(combinations={"default": {}})
    try:
        return Matrix.model_validate(_read(path, "matrix") or {})
    except ValidationError as exc:
        raise ConfigError(_first_error(exc, path)) from None


def combined(base: dict[str, Any], overrides: dict[str, Any]) -> AgentConfig:
    """The agent config of one combination: `overrides` laid over `base` (nested sections merge)."""
    data = _merge(_merge({}, base), overrides)
    try:
        return AgentConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_first_error(exc, Path("combination"))) from None


def merged(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    return _merge(_merge({}, base), overrides)


def _merge(into: dict[str, Any], more: dict[str, Any]) -> dict[str, Any]:
    for key, value in more.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            into[key] = _merge(dict(into[key]), value)
        else:
            into[key] = value
    return into


def _first_error(exc: ValidationError, where: Path) -> str:
    error = exc.errors()[0]
    field = ".".join(str(p) for p in error["loc"]) or "(top)"
    return f"{where}: {field}: {error['msg']}"
