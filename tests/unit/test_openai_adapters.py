import numpy as np
import pytest

from tests.fake_openai import FakeOpenAI, free_port
from vagus.services.errors import ProviderError
from vagus.services.llm.openai_compat import OpenAICompatibleLLM
from vagus.services.stt.openai_compat import OpenAICompatibleSTT
from vagus.services.tts.openai_compat import OpenAICompatibleTTS

MESSAGES = [{"role": "user", "content": "hi"}]


async def test_llm_streams_deltas_and_sends_model_and_key():
    fake = FakeOpenAI()
    async with fake.serve() as url:
        llm = OpenAICompatibleLLM(url, "tiny-model", api_key="sk-test", max_tokens=50)
        deltas = [d async for d in llm.stream(MESSAGES)]
        await llm.close()
    assert deltas == ["Hello", " there.", " How can", " I help?"]
    request = fake.requests[0]
    assert request["auth"] == "Bearer sk-test"
    assert request["body"]["model"] == "tiny-model" and request["body"]["stream"] is True
    assert request["body"]["max_tokens"] == 50 and request["body"]["messages"] == MESSAGES


async def test_llm_streams_tool_calls_assembled_from_fragments():
    from vagus.brain.tools import ToolCall

    fake = FakeOpenAI()
    fake.scripts = [
        [
            {"content": "Let me check."},
            {
                "tool_calls": [
                    {"index": 0, "id": "call_a", "type": "function", "function": {"name": "clock", "arguments": ""}}
                ]
            },
            {"tool_calls": [{"index": 1, "id": "call_b", "function": {"name": "convert", "arguments": '{"value": '}}]},
            {"tool_calls": [{"index": 0, "function": {"arguments": "{}"}}]},
            {"tool_calls": [{"index": 1, "function": {"arguments": '3, "unit": "km"}'}}]},
        ],
        [{"tool_calls": [{"index": 0, "id": "c", "function": {"name": "clock", "arguments": "{}"}}]}],
    ]
    tools = [{"type": "function", "function": {"name": "clock", "description": "d", "parameters": {}}}]
    async with fake.serve() as url:
        llm = OpenAICompatibleLLM(url, "m")
        first = [d async for d in llm.stream(MESSAGES, tools=tools)]
        only_calls = [d async for d in llm.stream(MESSAGES, tools=tools)]
        await llm.close()
    assert first == [
        "Let me check.",
        ToolCall("call_a", "clock", "{}"),
        ToolCall("call_b", "convert", '{"value": 3, "unit": "km"}'),
    ]
    assert only_calls == [ToolCall("c", "clock", "{}")]  # no words, but not an empty answer
    assert fake.requests[0]["body"]["tools"] == tools


@pytest.mark.parametrize(("status", "kind"), [(401, "auth"), (400, "bad_request"), (500, "server"), (503, "server")])
async def test_llm_maps_http_errors(status, kind):
    fake = FakeOpenAI()
    fake.chat_status = status
    async with fake.serve() as url:
        llm = OpenAICompatibleLLM(url, "m")
        with pytest.raises(ProviderError) as err:
            [d async for d in llm.stream(MESSAGES)]
        await llm.close()
    assert err.value.kind == kind and str(status) in str(err.value)


async def test_llm_unreachable_endpoint_gives_a_clear_connection_error():
    llm = OpenAICompatibleLLM(f"http://127.0.0.1:{free_port()}/v1", "m", connect_timeout_s=2)
    with pytest.raises(ProviderError) as err:
        [d async for d in llm.stream(MESSAGES)]
    await llm.close()
    assert err.value.kind == "connection" and err.value.retryable
    assert "cannot reach the LLM endpoint" in str(err.value)


async def test_llm_malformed_stream_is_a_server_error():
    fake = FakeOpenAI()
    fake.malformed = True
    async with fake.serve() as url:
        llm = OpenAICompatibleLLM(url, "m")
        with pytest.raises(ProviderError, match="not readable") as err:
            [d async for d in llm.stream(MESSAGES)]
        await llm.close()
    assert err.value.kind == "server" and "malformed" in (err.value.detail or "")


def test_llm_rejects_a_url_without_scheme():
    with pytest.raises(ValueError):
        OpenAICompatibleLLM("localhost:11434/v1", "m")


async def test_stt_posts_a_wav_and_returns_text():
    fake = FakeOpenAI()
    async with fake.serve() as url:
        stt = OpenAICompatibleSTT(url, "whisper-1")
        transcript = await stt.transcribe(np.zeros(48000, dtype=np.float32), 48000)
        await stt.transcribe(np.zeros(1600, dtype=np.float32), 16000, prompt="Mm-hmm. Uh-huh.")
        await stt.close()
    assert transcript.text == "hello from the fake"
    assert fake.requests[0]["model"] == "whisper-1" and fake.requests[0]["bytes"] > 32000
    assert fake.requests[0]["prompt"] is None and fake.requests[1]["prompt"] == "Mm-hmm. Uh-huh."


async def test_tts_streams_pcm_even_when_split_mid_sample():
    fake = FakeOpenAI()
    async with fake.serve() as url:
        tts = OpenAICompatibleTTS(url, "tts-1", "alloy")
        blocks = [b async for b in tts.stream("Hello.")]
        await tts.close()
    audio = np.concatenate(blocks)
    assert tts.sample_rate == 24000 and len(audio) == 2400
    expected = (np.sin(np.arange(2400) / 5) * 8000).astype(np.int16) / 32768
    assert np.allclose(audio, expected, atol=1e-4)
    assert fake.requests[0]["body"]["response_format"] == "pcm"
