"""Every way an OpenAI-compatible LLM can misbehave ends in a ProviderError with a message safe to
show anyone, and, in a session, in a spoken apology within the deadline, in order."""

from __future__ import annotations

import asyncio

import pytest

from tests.fake_openai import FakeOpenAI
from tests.fakes import Step, make_rig, offline_config, tone
from vagus.services.errors import ProviderError, redact
from vagus.services.llm.openai_compat import OpenAICompatibleLLM

MESSAGES = [{"role": "user", "content": "hi"}]
FAULTS = ["garbage", "only_done", "data_number", "choices_not_objects", "cut", "hang", "keepalive"]


def safe(message: str, url: str) -> bool:
    return "127.0.0.1" not in message and "http" not in message and "hunter2" not in message and url not in message


@pytest.mark.parametrize("fault", FAULTS)
async def test_each_fault_is_a_provider_error_with_a_safe_message(fault):
    from vagus.services.deadlines import within

    fake = FakeOpenAI()
    fake.fault = fault
    async with fake.serve() as url:
        llm = OpenAICompatibleLLM(url, "m", read_timeout_s=5)

        def expired(which: str) -> ProviderError:
            return ProviderError(llm.name, "timeout", "the language model did not answer in time")

        with pytest.raises(ProviderError) as err:
            [d async for d in within(llm.stream(MESSAGES), 0.5, 1.0, expired)]
        await llm.close()
    assert safe(err.value.message, url), err.value.message
    expected = {"cut": "connection", "hang": "timeout", "keepalive": "timeout"}.get(fault, "server")
    assert err.value.kind == expected, (fault, err.value.kind, err.value.message)


def test_credentials_are_redacted_from_details():
    text = "https://user:pa55@llm.example/v1?api_key=abc123&x=1 Authorization: Bearer tok.en-1 sk-live_abcdefgh"
    out = redact(text)
    assert "pa55" not in out and "abc123" not in out and "tok.en-1" not in out and "abcdefgh" not in out
    assert "llm.example/v1" in out and "x=1" in out


async def play_real_time(rig, audio, tail_s: float) -> None:  # type: ignore[no-untyped-def]
    """Frames on the virtual clock, with a little real time between them for the HTTP server."""
    import numpy as np

    from tests.fakes import silence

    whole = np.concatenate([audio, silence(tail_s)])
    for start in range(0, len(whole), 320):
        await rig.play(whole[start : start + 320])
        await asyncio.sleep(0.02)  # about real time: the deadlines are in wall time


@pytest.mark.parametrize("fault", ["hang", "keepalive", "only_done", "cut"])
async def test_a_misbehaving_llm_gets_a_spoken_apology_in_its_own_turn(fault):
    fake = FakeOpenAI()
    fake.fault = fault
    config = offline_config(deadlines={"llm_first_token_s": 0.5, "llm_total_s": 1.0})
    async with fake.serve() as url:
        rig = make_rig(config, turns=[Step("Hello?"), Step("Still there?")])
        rig.tts.seconds_per_word = 0.1  # the apology is over before the user asks again
        llm = OpenAICompatibleLLM(url, "m")
        rig.session.services.llm = llm
        rig.session.answers.services.llm = llm
        await play_real_time(rig, tone(0.6), 3.0)
        fake.fault = None  # the second turn is answered
        await play_real_time(rig, tone(0.6), 3.0)
        await llm.close()
    errors = rig.of("error")
    assert [e["stage"] for e in errors][:1] == ["llm"]
    assert all(safe(e["message"], url) for e in errors)
    spoken = rig.tts.spoken
    assert any("language model" in s for s in spoken), spoken
    # in order: the apology of turn 1 before the answer of turn 2, nothing of turn 1 after it
    apology = next(i for i, s in enumerate(spoken) if "language model" in s)
    assert any("Hello there." in s for s in spoken[apology + 1 :]), spoken
    started = [e["turn"] for e in rig.of("agent_speech_started")]
    assert started == sorted(started) and started[-1] == 2
