"""Providers shared by every session of a process (one model instance each, DESIGN principle 2)."""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vagus.agent.preflight import check_installed
from vagus.config import AgentConfig, PiperTtsConfig
from vagus.registry import build_provider
from vagus.senses.silero import SileroModel
from vagus.services.llm.base import LLM
from vagus.services.stt.base import STT
from vagus.services.tts.base import TTS

if TYPE_CHECKING:
    from vagus.perception.addressee import MusicDetector
    from vagus.perception.voiceprint import VoiceEncoder
    from vagus.turns.smart_turn import SmartTurnModel

log = logging.getLogger("vagus.services")


@dataclass
class Services:
    vad: SileroModel
    stt: STT
    llm: LLM
    tts: TTS
    end_of_turn: SmartTurnModel | None = None
    fallback_tts: TTS | None = None
    """A local voice that says so when the configured TTS fails (None where none is installed)."""
    voice: VoiceEncoder | None = None
    """Voiceprints (perception/voiceprint.py), loaded when a speaker lock is on."""
    music: MusicDetector | None = None
    """Music under speech (perception/addressee.py), loaded when the addressee score is on."""
    load_ms: dict[str, float] = field(default_factory=dict)

    async def close(self) -> None:
        for provider in (self.stt, self.llm, self.tts, self.fallback_tts):
            close = getattr(provider, "close", None)
            if close is not None:
                await close()


def build_stt(config: AgentConfig) -> STT:
    return build_provider("stt", config.stt, config)  # type: ignore[no-any-return]


def build_llm(config: AgentConfig) -> LLM:
    return build_provider("llm", config.llm, config)  # type: ignore[no-any-return]


def build_tts(config: AgentConfig) -> TTS:
    return build_provider("tts", config.tts, config)  # type: ignore[no-any-return]


def build_fallback_tts(config: AgentConfig) -> TTS | None:
    """The local Piper voice, when the configured voice is another one and Piper is installed: it says
    so when that voice fails, instead of leaving the user in silence."""
    if config.tts.provider == "piper":
        return None
    try:
        return build_provider("tts", PiperTtsConfig(), config)  # type: ignore[no-any-return]
    except Exception as exc:  # not installed (the `local` extra) or no voice: no fallback
        log.info("no fallback voice: %s", exc)
        return None


MODEL_SECTIONS = ("stt", "llm", "tts", "vad", "perception")


def models_key(config: AgentConfig) -> str:
    """What decides the models `build_services` loads for a config: two configs with the same key can
    share them (the evaluation's scenarios, the Studio's saves that change only behaviour)."""
    data = config.model_dump(mode="json")
    picked = {k: data[k] for k in MODEL_SECTIONS} | {"end_of_turn": data["turns"]["end_of_turn"]}
    return json.dumps(picked, sort_keys=True)


def build_services(
    config: AgentConfig,
    warmup: bool = True,
    stt: STT | None = None,
    llm: LLM | None = None,
    tts: TTS | None = None,
) -> Services:
    """Load every provider once. Warm-up runs each local model once so the first turn is not slow.
    `stt`/`llm`/`tts`: providers an agent brings itself (the config's are then not loaded)."""
    check_installed(config, skip={k for k, v in (("stt", stt), ("llm", llm), ("tts", tts)) if v is not None})
    timings: dict[str, float] = {}

    def timed(name: str, build):  # type: ignore[no-untyped-def]
        start = time.perf_counter()
        value = build()
        if warmup and hasattr(value, "warmup"):
            value.warmup()
        timings[name] = round((time.perf_counter() - start) * 1000, 1)
        return value

    vad = timed("vad", lambda: SileroModel(config.vad.model_path))
    stt = stt if stt is not None else timed("stt", lambda: build_stt(config))
    llm = llm if llm is not None else timed("llm", lambda: build_llm(config))
    tts = tts if tts is not None else timed("tts", lambda: build_tts(config))
    fallback_tts = timed("fallback_tts", lambda: build_fallback_tts(config))
    eot = config.turns.end_of_turn
    end_of_turn = None
    if eot.model == "smart_turn":
        from vagus.turns.smart_turn import SmartTurnModel  # its features come from the `local` extra

        end_of_turn = timed("end_of_turn", lambda: SmartTurnModel(eot.model_path))
    voice = None
    if config.perception.speaker.lock != "off" or config.perception.vault.path:
        from vagus.perception.voiceprint import VoiceEncoder

        voice = timed("voice", VoiceEncoder)
    if config.perception.prosody.enabled:
        from vagus.perception import prosody

        timed("prosody", prosody.warmup)
    music = None
    if config.perception.addressee.enabled:
        from vagus.perception.addressee import load_music_detector

        music = timed("music", load_music_detector)
    log.info("providers loaded: %s", timings)
    return Services(
        vad=vad,
        stt=stt,
        llm=llm,
        tts=tts,
        end_of_turn=end_of_turn,
        fallback_tts=fallback_tts,
        voice=voice,
        music=music,
        load_ms=timings,
    )


def _label(provider: object) -> str:
    name = str(getattr(provider, "name", type(provider).__name__))
    model = getattr(provider, "model", None)
    return f"{name} ({model})" if isinstance(model, str) and model else name


def describe_services(services: Services, agent_name: str) -> dict[str, str]:
    """Which agent and providers answer (the talk page shows them)."""
    return {"name": agent_name, "stt": _label(services.stt), "llm": _label(services.llm), "tts": _label(services.tts)}


def describe_config(config: AgentConfig) -> dict[str, str]:
    """The same, from the config alone (a front that loads no model)."""

    def label(section: Any) -> str:
        model = getattr(section, "model", None) or getattr(section, "model_path", None)
        return f"{section.provider} ({Path(str(model)).name})" if model else str(section.provider)

    return {
        "name": config.name,
        "stt": label(config.stt),
        "llm": label(config.llm),
        "tts": label(config.tts),
        "recording": recording_state(config),
    }


def recording_state(config: AgentConfig) -> str:
    """ "on" when new sessions are recorded: the talk page tells the caller."""
    return "on" if config.recording.enabled else "off"
