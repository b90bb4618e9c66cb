"""The provider registry (config sections by provider name) and the streaming STT adapters."""

from __future__ import annotations

from collections.abc import AsyncIterator

import numpy as np
import pytest
from pydantic import ValidationError

from vagus.agent.services import build_llm
from vagus.config import AgentConfig, ConfigError, OpenAILlmConfig, WhisperSttConfig, load_config
from vagus.registry import ProviderConfig, provider_names, register_provider
from vagus.services.stt.base import BatchAsStreaming, StreamingAsBatch, Transcript, TranscriptUpdate


def test_sections_are_typed_by_their_provider():
    config = load_config(None, env={"VAGUS_LLM_BASE_URL": "http://127.0.0.1:9/v1"})
    assert isinstance(config.llm, OpenAILlmConfig) and config.llm.model == "gpt-4o-mini"
    assert isinstance(config.stt, WhisperSttConfig)
    assert {"whisper", "openai"} <= set(provider_names("stt"))


def test_an_unknown_provider_or_a_field_of_another_provider_is_refused():
    with pytest.raises(ConfigError, match="not registered"):
        load_config(None, env={"VAGUS_TTS_PROVIDER": "nope"})
    with pytest.raises(ValidationError, match="temperature"):
        AgentConfig.model_validate({"llm": {"provider": "offline", "temperature": 1}})


class EchoConfig(ProviderConfig):
    provider: str = "echo-test"
    prefix: str = "You said"


class EchoLLM:
    name = "echo"

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix

    async def stream(self, messages):  # type: ignore[no-untyped-def]
        yield f"{self.prefix}: {messages[-1]['content']}"


async def test_a_custom_provider_is_one_class_and_one_registration():
    register_provider("llm", "echo-test", EchoConfig, lambda section, agent: EchoLLM(section.prefix))
    config = AgentConfig.model_validate({"llm": {"provider": "echo-test", "prefix": "Heard"}})
    llm = build_llm(config)
    out = [d async for d in llm.stream([{"role": "user", "content": "hi"}])]
    assert out == ["Heard: hi"]


class CountingSTT:
    name = "counting"

    def __init__(self) -> None:
        self.lengths: list[int] = []

    async def transcribe(self, audio: np.ndarray, sample_rate: int, prompt: str | None = None) -> Transcript:
        self.lengths.append(len(audio))
        return Transcript(f"{len(audio) / sample_rate:.1f} s")


async def blocks(n: int, seconds: float = 0.5) -> AsyncIterator[np.ndarray]:
    for _ in range(n):
        yield np.zeros(int(16000 * seconds), np.float32)


async def test_batch_as_streaming_gives_partials_then_one_final():
    updates = [u async for u in BatchAsStreaming(CountingSTT(), partial_every_s=1.0).stream(blocks(5), 16000)]
    assert [(u.text, u.final) for u in updates] == [("1.0 s", False), ("2.0 s", False), ("2.5 s", True)]


async def test_streaming_as_batch_takes_the_final():
    class Streaming:
        name = "s"

        async def stream(self, audio, sample_rate):  # type: ignore[no-untyped-def]
            async for _ in audio:
                yield TranscriptUpdate("hel")
            yield TranscriptUpdate("hello.", final=True, confidence=0.9)

    transcript = await StreamingAsBatch(Streaming()).transcribe(np.zeros(16000, np.float32), 16000)
    assert transcript == Transcript("hello.", confidence=0.9)
    with pytest.raises(ValueError):
        BatchAsStreaming(CountingSTT(), partial_every_s=0)


async def test_batched_silero_through_the_host_matches_each_session_alone(silero):
    from tests.conftest import load_fixture
    from vagus.senses.silero import CHUNK, SileroState

    audio, _ = load_fixture("hello")
    chunks = [audio[i : i + CHUNK] for i in range(0, len(audio) - CHUNK, CHUNK)][:40]
    alone_states = [SileroState(), SileroState()]
    batch_states = [SileroState(), SileroState()]
    for i, chunk in enumerate(chunks):
        other = chunks[-1 - i]
        alone = [silero.infer(chunk, alone_states[0]), silero.infer(other, alone_states[1])]
        batched = silero.infer_batch(np.stack([chunk, other]), batch_states)
        assert np.allclose(alone, batched, atol=1e-4)


def test_missing_model_packages_are_named_in_one_line_with_the_command(monkeypatch):
    import importlib.util

    from vagus.agent.preflight import check_installed
    from vagus.packaged import ModelNotFoundError

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name in ("silero_vad", "piper") else real(name, *a)
    )
    with pytest.raises(ModelNotFoundError) as info:
        check_installed(load_config(None, env={}))
    message = str(info.value)
    assert "\n" not in message and "silero_vad, piper" in message
    assert "pip install 'vagus[local]'" in message and "--no-deps 'silero-vad==6.2.3'" in message


async def test_the_readme_custom_provider_example_runs():
    import re
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    (code,) = [block for block in re.findall(r"```python\n(.*?)```", readme, re.S) if "register_provider" in block]
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)
    config = AgentConfig.model_validate({"tts": {"provider": "beep", "pitch_hz": 660}})
    from vagus.agent.services import build_tts

    tts = build_tts(config)
    blocks = [b async for b in tts.stream("hi")]
    assert tts.pitch_hz == 660 and blocks[0].dtype == np.float32 and len(blocks[0]) == 1600
