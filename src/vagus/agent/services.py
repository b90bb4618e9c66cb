"""Providers shared by every session of a process (one model instance each, DESIGN principle 2)."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from vagus.config import AgentConfig
from vagus.senses.silero import SileroModel
from vagus.services.llm.base import LLM
from vagus.services.stt.base import STT
from vagus.services.tts.base import TTS

if TYPE_CHECKING:
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
    load_ms: dict[str, float] = field(default_factory=dict)

    async def close(self) -> None:
        for provider in (self.stt, self.llm, self.tts, self.fallback_tts):
            close = getattr(provider, "close", None)
            if close is not None:
                await close()


def build_stt(config: AgentConfig) -> STT:
    c = config.stt
    if c.provider == "openai":
        from vagus.services.stt.openai_compat import OpenAICompatibleSTT

        return OpenAICompatibleSTT(c.base_url or "", c.model, c.api_key, c.language)
    from vagus.services.stt.whisper_local import WhisperSTT

    return WhisperSTT(c.model_path, c.language, c.threads)


def build_llm(config: AgentConfig) -> LLM:
    c = config.llm
    if c.provider == "openai":
        from vagus.services.llm.openai_compat import OpenAICompatibleLLM

        return OpenAICompatibleLLM(
            c.base_url or "", c.model, c.api_key, c.temperature, c.max_tokens, read_timeout_s=c.timeout_s
        )
    from vagus.services.llm.offline import OfflineBrain

    return OfflineBrain(agent_name=config.name)


def build_tts(config: AgentConfig) -> TTS:
    c = config.tts
    if c.provider == "openai":
        from vagus.services.tts.openai_compat import OpenAICompatibleTTS

        return OpenAICompatibleTTS(c.base_url or "", c.model, c.voice, c.api_key)
    from vagus.services.tts.piper_local import PiperTTS

    return PiperTTS(c.model_path, c.length_scale)


def build_services(config: AgentConfig, warmup: bool = True) -> Services:
    """Load every provider once. Warm-up runs each local model once so the first turn is not slow."""
    timings: dict[str, float] = {}

    def timed(name: str, build):  # type: ignore[no-untyped-def]
        start = time.perf_counter()
        value = build()
        if warmup and hasattr(value, "warmup"):
            value.warmup()
        timings[name] = round((time.perf_counter() - start) * 1000, 1)
        return value

    vad = timed("vad", lambda: SileroModel(config.vad.model_path))
    stt = timed("stt", lambda: build_stt(config))
    llm = timed("llm", lambda: build_llm(config))
    tts = timed("tts", lambda: build_tts(config))
    eot = config.turns.end_of_turn
    end_of_turn = None
    if eot.model == "smart_turn":
        from vagus.turns.smart_turn import SmartTurnModel  # its features come from the `local` extra

        end_of_turn = timed("end_of_turn", lambda: SmartTurnModel(eot.model_path))
    log.info("providers loaded: %s", timings)
    return Services(vad=vad, stt=stt, llm=llm, tts=tts, end_of_turn=end_of_turn, load_ms=timings)
