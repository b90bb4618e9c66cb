"""A Realtime session's settings as the client sees them (the `session` object of `session.created`,
`session.update` and `session.updated`), checked field by field, and what they mean for a Vagus
voice session: its turn detection, formats, instructions, tools and output modality.

A bad value is a `SettingError` naming the field (`param`), answered with OpenAI's error shape; the
settings stay as they were.
"""

from __future__ import annotations

import copy
import uuid
from dataclasses import dataclass, field
from typing import Any

from vagus.config import AgentConfig, EndOfTurnConfig
from vagus.transports.realtime.audio import AudioFormat

EAGERNESS = ("low", "medium", "high", "auto")
EAGERNESS_SILENCE_MS = {"low": (400, 3000), "medium": (150, 1500), "high": (80, 700)}
"""semantic_vad eagerness → (silence after a complete utterance, after an unfinished one): how long
Vagus's end-of-turn model lets the user pause. `auto` is the agent's own setting."""
VOICE = "vagus"
MAX_INSTRUCTIONS = 100_000
MAX_TOOLS = 128


class SettingError(ValueError):
    """A setting a client may not make; `param` names it as in OpenAI's errors."""

    def __init__(self, param: str, message: str) -> None:
        super().__init__(message)
        self.param = param


@dataclass(slots=True)
class TurnDetection:
    type: str | None
    """`server_vad`, `semantic_vad` or None (the client commits and asks for responses)."""
    threshold: float = 0.5
    prefix_padding_ms: int = 300
    silence_duration_ms: int = 500
    eagerness: str = "auto"
    create_response: bool = True
    interrupt_response: bool = True
    idle_timeout_ms: int | None = None

    def to_json(self) -> dict[str, Any] | None:
        if self.type is None:
            return None
        common = {"create_response": self.create_response, "interrupt_response": self.interrupt_response}
        if self.type == "semantic_vad":
            return {"type": "semantic_vad", "eagerness": self.eagerness, **common}
        return {
            "type": "server_vad",
            "threshold": self.threshold,
            "prefix_padding_ms": self.prefix_padding_ms,
            "silence_duration_ms": self.silence_duration_ms,
            "idle_timeout_ms": self.idle_timeout_ms,
            **common,
        }


def _number(value: Any, param: str, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise SettingError(param, f"{param} must be a number from {low:g} to {high:g}")
    return float(value)


def _flag(value: Any, param: str) -> bool:
    if not isinstance(value, bool):
        raise SettingError(param, f"{param} must be true or false")
    return value


def parse_turn_detection(value: Any, param: str, current: TurnDetection) -> TurnDetection:
    if value is None:
        return TurnDetection(None)
    if not isinstance(value, dict):
        raise SettingError(param, f"{param} must be an object or null")
    kind = value.get("type", current.type or "server_vad")
    if kind not in ("server_vad", "semantic_vad"):
        raise SettingError(f"{param}.type", f"{param}.type must be server_vad or semantic_vad, got {kind!r}")
    known = {"type", "threshold", "prefix_padding_ms", "silence_duration_ms", "create_response",
             "interrupt_response", "idle_timeout_ms", "eagerness"}  # fmt: skip
    unknown = sorted(set(value) - known)
    if unknown:
        raise SettingError(f"{param}.{unknown[0]}", f"unknown field {param}.{unknown[0]}")
    out = TurnDetection(kind) if kind != current.type else copy.copy(current)
    if "threshold" in value:
        out.threshold = _number(value["threshold"], f"{param}.threshold", 0.0, 1.0)
    if "prefix_padding_ms" in value:
        out.prefix_padding_ms = int(_number(value["prefix_padding_ms"], f"{param}.prefix_padding_ms", 0, 2000))
    if "silence_duration_ms" in value:
        out.silence_duration_ms = int(_number(value["silence_duration_ms"], f"{param}.silence_duration_ms", 1, 10000))
    if value.get("idle_timeout_ms") is not None:
        out.idle_timeout_ms = int(_number(value["idle_timeout_ms"], f"{param}.idle_timeout_ms", 5000, 30000))
    for name in ("create_response", "interrupt_response"):
        if name in value:
            setattr(out, name, _flag(value[name], f"{param}.{name}"))
    if "eagerness" in value:
        if value["eagerness"] not in EAGERNESS:
            raise SettingError(f"{param}.eagerness", f"{param}.eagerness must be one of {', '.join(EAGERNESS)}")
        out.eagerness = value["eagerness"]
    return out


@dataclass(slots=True)
class Transcription:
    model: str = "vagus"
    language: str | None = None
    prompt: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"model": self.model, "language": self.language, "prompt": self.prompt}


@dataclass(slots=True)
class RealtimeSettings:
    """The session as the client configured it (defaults: the agent's own)."""

    model: str
    instructions: str
    kind: str = "realtime"
    """`realtime` (a conversation) or `transcription` (words only, no answers)."""
    output_modalities: list[str] = field(default_factory=lambda: ["audio"])
    input_format: AudioFormat = field(default_factory=lambda: AudioFormat("audio/pcm", 24000))
    output_format: AudioFormat = field(default_factory=lambda: AudioFormat("audio/pcm", 24000))
    turn_detection: TurnDetection = field(default_factory=lambda: TurnDetection("server_vad"))
    transcription: Transcription | None = None
    tools: list[dict[str, Any]] = field(default_factory=list)
    tool_choice: str = "auto"
    voice: str = VOICE
    speed: float = 1.0
    max_output_tokens: int | str = "inf"
    id: str = field(default_factory=lambda: "sess_" + uuid.uuid4().hex[:20])

    @classmethod
    def for_agent(cls, config: AgentConfig, model: str | None) -> RealtimeSettings:
        """The agent's own turn-taking: semantic (its end-of-turn model) or plain silence."""
        semantic = config.turns.end_of_turn.model != "none"
        detection = TurnDetection(
            "semantic_vad" if semantic else "server_vad",
            threshold=config.vad.start_threshold,
            prefix_padding_ms=int(config.turns.preroll_ms),
            silence_duration_ms=int(config.turns.silence_ms),
        )
        return cls(model or config.name, config.system_prompt, turn_detection=detection)

    @property
    def text_only(self) -> bool:
        return "audio" not in self.output_modalities

    def client_tool_names(self) -> frozenset[str]:
        return frozenset(t["name"] for t in self.tools)

    def update(self, session: Any) -> None:
        """Apply a `session.update`'s `session` object: all of it or, on a bad field, none of it."""
        if not isinstance(session, dict):
            raise SettingError("session", "session must be an object")
        trial = copy.deepcopy(self)
        trial._apply(session)
        for name in self.__slots__:  # type: ignore[attr-defined]
            setattr(self, name, getattr(trial, name))

    def _apply(self, s: dict[str, Any]) -> None:
        kind = s.get("type", self.kind)
        if kind not in ("realtime", "transcription"):
            raise SettingError("session.type", f"session.type must be realtime or transcription, got {kind!r}")
        self.kind = kind
        if "model" in s and s["model"] is not None:
            if not isinstance(s["model"], str):
                raise SettingError("session.model", "session.model must be a string")
            self.model = s["model"]
        if "instructions" in s:
            text = s["instructions"]
            if not isinstance(text, str) or len(text) > MAX_INSTRUCTIONS:
                raise SettingError("session.instructions", f"instructions: a string of at most {MAX_INSTRUCTIONS}")
            self.instructions = text
        if "output_modalities" in s or "modalities" in s:
            self.output_modalities = parse_modalities(s.get("output_modalities", s.get("modalities")), "session")
        if "tools" in s:
            self.tools = parse_tools(s["tools"], "session.tools")
        if "tool_choice" in s:
            choice = s["tool_choice"]
            if choice not in ("auto", "none", "required"):
                raise SettingError("session.tool_choice", "session.tool_choice must be auto, none or required")
            self.tool_choice = choice
        if "max_output_tokens" in s or "max_response_output_tokens" in s:
            limit = s.get("max_output_tokens", s.get("max_response_output_tokens"))
            if limit != "inf":
                limit = int(_number(limit, "session.max_output_tokens", 1, 4096))
            self.max_output_tokens = limit
        audio = s.get("audio")
        if audio is not None:
            if not isinstance(audio, dict):
                raise SettingError("session.audio", "session.audio must be an object")
            self._apply_audio(audio)
        # the retired beta's flat fields
        for flat, key in (("input_audio_format", "input"), ("output_audio_format", "output")):
            if flat in s:
                self._apply_audio({key: {"format": s[flat]}})
        if "turn_detection" in s:
            self._apply_audio({"input": {"turn_detection": s["turn_detection"]}})
        if "input_audio_transcription" in s:
            self._apply_audio({"input": {"transcription": s["input_audio_transcription"]}})
        if "voice" in s:
            self._apply_audio({"output": {"voice": s["voice"]}})

    def _apply_audio(self, audio: dict[str, Any]) -> None:
        given = audio.get("input")
        if given is not None:
            if not isinstance(given, dict):
                raise SettingError("session.audio.input", "session.audio.input must be an object")
            if "format" in given:
                self.input_format = _format(given["format"], "session.audio.input.format")
            if "turn_detection" in given:
                where = "session.audio.input.turn_detection"
                self.turn_detection = parse_turn_detection(given["turn_detection"], where, self.turn_detection)
            if "transcription" in given:
                self.transcription = _transcription(given["transcription"])
        out = audio.get("output")
        if out is not None:
            if not isinstance(out, dict):
                raise SettingError("session.audio.output", "session.audio.output must be an object")
            if "format" in out:
                self.output_format = _format(out["format"], "session.audio.output.format")
            if "voice" in out:
                if not isinstance(out["voice"], str):
                    raise SettingError("session.audio.output.voice", "voice must be a string")
                self.voice = out["voice"]
            if "speed" in out:
                self.speed = _number(out["speed"], "session.audio.output.speed", 0.25, 1.5)

    def to_json(self) -> dict[str, Any]:
        audio_in: dict[str, Any] = {
            "format": self.input_format.to_json(),
            "transcription": self.transcription.to_json() if self.transcription else None,
            "noise_reduction": None,
            "turn_detection": self.turn_detection.to_json(),
        }
        if self.kind == "transcription":
            return {"type": "transcription", "object": "realtime.transcription_session", "id": self.id,
                    "audio": {"input": audio_in}, "include": None}  # fmt: skip
        return {
            "type": "realtime",
            "object": "realtime.session",
            "id": self.id,
            "model": self.model,
            "output_modalities": list(self.output_modalities),
            "instructions": self.instructions,
            "tools": copy.deepcopy(self.tools),
            "tool_choice": self.tool_choice,
            "max_output_tokens": self.max_output_tokens,
            "tracing": None,
            "truncation": "auto",
            "prompt": None,
            "include": None,
            "audio": {
                "input": audio_in,
                "output": {"format": self.output_format.to_json(), "voice": self.voice, "speed": self.speed},
            },
        }


def parse_modalities(value: Any, where: str) -> list[str]:
    if value is None:
        return ["audio"]
    param = f"{where}.output_modalities"
    if not isinstance(value, list) or not value or any(m not in ("text", "audio") for m in value):
        raise SettingError(param, f'{param} must be ["audio"] or ["text"]')
    return ["audio"] if "audio" in value else ["text"]


def parse_tools(value: Any, param: str) -> list[dict[str, Any]]:
    """Function tools the client runs: `{"type": "function", "name", "description", "parameters"}`."""
    if value is None:
        return []
    if not isinstance(value, list) or len(value) > MAX_TOOLS:
        raise SettingError(param, f"{param} must be a list of at most {MAX_TOOLS} tools")
    tools: list[dict[str, Any]] = []
    for i, t in enumerate(value):
        where = f"{param}[{i}]"
        if not isinstance(t, dict) or t.get("type", "function") != "function":
            raise SettingError(f"{where}.type", f"{where}: only function tools are supported")
        name = t.get("name")
        if not isinstance(name, str) or not 0 < len(name) <= 64 or not name.replace("_", "").replace("-", "").isalnum():
            raise SettingError(f"{where}.name", f"{where}.name must be 1-64 letters, digits, _ or -")
        parameters = t.get("parameters") or {"type": "object", "properties": {}}
        if not isinstance(parameters, dict):
            raise SettingError(f"{where}.parameters", f"{where}.parameters must be a JSON schema object")
        description = t.get("description") or ""
        if not isinstance(description, str):
            raise SettingError(f"{where}.description", f"{where}.description must be a string")
        tools.append({"type": "function", "name": name, "description": description, "parameters": parameters})
    return tools


def _format(value: Any, param: str) -> AudioFormat:
    try:
        return AudioFormat.parse(value, param)
    except ValueError as exc:
        raise SettingError(param, str(exc)) from None


def _transcription(value: Any) -> Transcription | None:
    param = "session.audio.input.transcription"
    if value is None:
        return None
    if not isinstance(value, dict):
        raise SettingError(param, f"{param} must be an object or null")
    language = value.get("language")
    if language is not None and (not isinstance(language, str) or len(language) > 16):
        raise SettingError(f"{param}.language", "language must be an ISO-639-1 code such as en")
    prompt = value.get("prompt") or ""
    if not isinstance(prompt, str):
        raise SettingError(f"{param}.prompt", "prompt must be a string")
    model = value.get("model") or "vagus"
    return Transcription(str(model), language, prompt)


def end_of_turn_for(eagerness: str, base: EndOfTurnConfig) -> EndOfTurnConfig:
    """semantic_vad's eagerness as the end-of-turn model's silences."""
    if eagerness not in EAGERNESS_SILENCE_MS:
        return base
    complete, incomplete = EAGERNESS_SILENCE_MS[eagerness]
    return base.model_copy(update={"complete_silence_ms": complete, "incomplete_silence_ms": incomplete})
