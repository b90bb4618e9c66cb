"""The Realtime API with real clients: OpenAI's own Python SDK (`AsyncOpenAI(...).realtime.connect`)
and `openai-agents` (`RealtimeRunner`), against `vagus serve`'s app on 127.0.0.1 with the offline
models. Real speech goes in as 24 kHz PCM16; every server event is checked against the SDK's own
pydantic types (what `openai-agents` drops when it does not validate).
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import json
from contextlib import asynccontextmanager
from typing import Any

import numpy as np
import pytest
from aiohttp.test_utils import TestServer
from openai import AsyncOpenAI
from openai.types.realtime import RealtimeServerEvent
from pydantic import TypeAdapter

from tests.conftest import load_fixture
from tests.fake_openai import FakeOpenAI
from vagus.agent.host import SessionHost
from vagus.audio.resample import resample
from vagus.server.app import create_app
from vagus.transports.webrtc import WebRTCGateway

SERVER_EVENT = TypeAdapter(RealtimeServerEvent)
WAIT_S = 60.0
"""Generous: a loaded machine transcribes slowly; the tests assert behaviour, not speed."""


def pcm24(name: str, pad_s: float = 1.5) -> bytes:
    audio, rate = load_fixture(name)
    audio = np.concatenate([resample(audio, rate, 24000), np.zeros(int(24000 * pad_s), np.float32)])
    return (np.clip(audio, -1, 1) * 32767).astype("<i2").tobytes()


@asynccontextmanager
async def realtime_server(services: Any, config: Any):
    gateway = WebRTCGateway(SessionHost(services, config, max_sessions=4))
    server = TestServer(create_app(gateway), host="127.0.0.1")
    await server.start_server()
    try:
        yield f"http://127.0.0.1:{server.port}/v1", gateway.host
    finally:
        await server.close()


class Events:
    """Every server event of a connection, validated as it arrives."""

    def __init__(self, connection: Any) -> None:
        self.connection = connection
        self.seen: list[dict[str, Any]] = []

    async def next(self) -> dict[str, Any]:
        raw = json.loads(await asyncio.wait_for(self.connection.recv_bytes(), WAIT_S))
        SERVER_EVENT.validate_python(raw)  # raises on any field the SDK's types require
        self.seen.append(raw)
        return raw

    async def until(self, kind: str, where: Any = None) -> dict[str, Any]:
        while True:
            event = await self.next()
            if event["type"] == kind and (where is None or where(event)):
                return event

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [e for e in self.seen if e["type"] == kind]


async def send_audio(connection: Any, data: bytes, chunk_s: float = 0.5) -> None:
    step = int(24000 * 2 * chunk_s)
    for i in range(0, len(data), step):
        await connection.input_audio_buffer.append(audio=base64.b64encode(data[i : i + step]).decode())


async def test_a_spoken_question_is_answered_with_audio_and_transcript(services, offline_config):
    async with realtime_server(services, offline_config) as (url, _host):
        client = AsyncOpenAI(base_url=url, api_key="sk-anything")
        async with client.realtime.connect(model="vagus-offline") as connection:
            events = Events(connection)
            created = await events.next()
            assert created["type"] == "session.created" and created["session"]["model"] == "vagus-offline"
            await connection.session.update(
                session={"type": "realtime", "audio": {"input": {"transcription": {"model": "whisper-1"}}}}
            )
            await events.until("session.updated")
            await send_audio(connection, pcm24("hello"))
            started = await events.until("input_audio_buffer.speech_started")
            stopped = await events.until("input_audio_buffer.speech_stopped")
            assert stopped["item_id"] == started["item_id"]
            assert 400 <= started["audio_start_ms"] <= 900 and stopped["audio_end_ms"] > started["audio_start_ms"]
            heard = await events.until("conversation.item.input_audio_transcription.completed")
            assert "hello" in heard["transcript"].lower() and heard["item_id"] == started["item_id"]
            done = await events.until("response.done")
    assert done["response"]["status"] == "completed"
    audio = b"".join(base64.b64decode(e["delta"]) for e in events.of("response.output_audio.delta"))
    assert len(audio) > 24000 * 2 * 0.5  # at least half a second of 24 kHz PCM16
    assert np.abs(np.frombuffer(audio, "<i2")).max() > 1000  # a voice, not silence
    transcript = events.of("response.output_audio_transcript.done")[0]["transcript"]
    deltas = "".join(e["delta"] for e in events.of("response.output_audio_transcript.delta"))
    assert transcript and transcript == deltas
    order = [e["type"] for e in events.seen]
    assert order.index("input_audio_buffer.committed") < order.index("response.created")
    assert order.index("response.content_part.added") < order.index("response.output_audio.delta")
    assert order.index("response.output_audio.done") < order.index("response.done")
    output = done["response"]["output"]
    assert output[0]["role"] == "assistant" and output[0]["content"][0]["transcript"] == transcript


async def test_cutting_in_truncates_the_answer_to_what_was_sent(services, offline_config):
    async with realtime_server(services, offline_config) as (url, host):
        client = AsyncOpenAI(base_url=url, api_key="sk-anything")
        async with client.realtime.connect(model="vagus") as connection:
            events = Events(connection)
            await send_audio(connection, pcm24("barge_in", pad_s=3.0))  # the server plays it in real time
            truncated = await events.until("conversation.item.truncated")
            done = await events.until("response.done")
            second = await events.until("input_audio_buffer.committed")
            session = next(iter(host)).session
            entries = list(session.conversation.entries)
    assert done["response"]["status"] == "cancelled"
    assert done["response"]["status_details"]["reason"] == "turn_detected"
    sent_ms = sum(len(base64.b64decode(e["delta"])) for e in events.of("response.output_audio.delta")) / 48
    assert truncated["audio_end_ms"] == pytest.approx(sent_ms, abs=25)
    assert 1000 < truncated["audio_end_ms"] < 6000  # the user cut in about 3.4 s into the answer
    heard = events.of("response.output_audio_transcript.done")[0]["transcript"]
    full = " ".join(e["delta"].strip() for e in events.of("response.output_audio_transcript.delta"))
    assert heard and len(heard.split()) < len(full.split())
    assert done["response"]["output"][0]["status"] == "incomplete"
    assistant = [e for e in entries if e.role == "assistant"]
    assert assistant and assistant[0].interrupted and assistant[0].content == heard
    assert second["item_id"] != done["response"]["output"][0]["id"]


async def test_a_tool_call_round_trip_with_a_client_declared_function(services, offline_config):
    from vagus.services.llm.openai_compat import OpenAICompatibleLLM

    fake = FakeOpenAI()
    fake.scripts = [
        [{"tool_calls": [{"index": 0, "id": "call_w", "function": {"name": "get_weather", "arguments": ""}}]},
         {"tool_calls": [{"index": 0, "function": {"arguments": '{"city": "Paris"}'}}]}],
        [{"content": "It is sunny in Paris."}],
    ]  # fmt: skip
    weather = {
        "type": "function",
        "name": "get_weather",
        "description": "The weather in a city.",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    }
    async with fake.serve() as llm_url:
        llm = OpenAICompatibleLLM(llm_url, "scripted")
        with_tools = dataclasses.replace(services, llm=llm)
        async with realtime_server(with_tools, offline_config) as (url, _host):
            client = AsyncOpenAI(base_url=url, api_key="sk-anything")
            async with client.realtime.connect(model="vagus") as connection:
                events = Events(connection)
                await connection.session.update(session={"type": "realtime", "tools": [weather]})
                await events.until("session.updated")
                await connection.conversation.item.create(
                    item={"type": "message", "role": "user",
                          "content": [{"type": "input_text", "text": "What's the weather in Paris?"}]}
                )  # fmt: skip
                await connection.response.create()
                arguments = await events.until("response.function_call_arguments.done")
                first = await events.until("response.done")
                await connection.conversation.item.create(
                    item={"type": "function_call_output", "call_id": arguments["call_id"], "output": '{"sky": "sunny"}'}
                )
                await connection.response.create()
                second = await events.until("response.done")
        await llm.close()
    assert arguments["name"] == "get_weather" and json.loads(arguments["arguments"]) == {"city": "Paris"}
    assert first["response"]["status"] == "completed"
    assert [i["type"] for i in first["response"]["output"]] == ["function_call"]
    assert second["response"]["status"] == "completed"
    assert second["response"]["output"][0]["content"][0]["transcript"] == "It is sunny in Paris."
    asked = fake.requests[0]["body"]
    assert [t["function"]["name"] for t in asked["tools"]] == ["get_weather"]
    assert asked["messages"][-1] == {"role": "user", "content": "What's the weather in Paris?"}
    answered = fake.requests[1]["body"]["messages"]
    assert answered[-1] == {"role": "tool", "tool_call_id": "call_w", "content": '{"sky": "sunny"}'}
    assert answered[-2]["tool_calls"][0]["function"]["name"] == "get_weather"


async def test_a_text_only_session_answers_in_text(services, offline_config):
    async with realtime_server(services, offline_config) as (url, _host):
        client = AsyncOpenAI(base_url=url, api_key="sk-anything")
        async with client.realtime.connect(model="vagus") as connection:
            events = Events(connection)
            await connection.session.update(session={"type": "realtime", "output_modalities": ["text"]})
            updated = await events.until("session.updated")
            await connection.conversation.item.create(
                item={"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Hello!"}]}
            )
            added = await events.until("conversation.item.added")
            await connection.response.create()
            done = await events.until("response.done")
    assert updated["session"]["output_modalities"] == ["text"]
    assert added["item"]["content"][0]["text"] == "Hello!"
    text = events.of("response.output_text.done")[0]["text"]
    assert text and text == "".join(e["delta"] for e in events.of("response.output_text.delta"))
    assert not events.of("response.output_audio.delta")
    assert done["response"]["status"] == "completed" and done["response"]["output_modalities"] == ["text"]
    assert done["response"]["output"][0]["content"][0] == {"type": "output_text", "text": text}


async def test_manual_commit_and_response(services, offline_config):
    async with realtime_server(services, offline_config) as (url, _host):
        client = AsyncOpenAI(base_url=url, api_key="sk-anything")
        async with client.realtime.connect(model="vagus") as connection:
            events = Events(connection)
            await connection.session.update(
                session={"type": "realtime", "audio": {"input": {"turn_detection": None,
                                                                 "transcription": {"model": "x"}}}}
            )  # fmt: skip
            updated = await events.until("session.updated")
            await connection.input_audio_buffer.commit()
            empty = await events.until("error")
            await send_audio(connection, pcm24("hello", pad_s=0.2))
            await connection.input_audio_buffer.commit()
            committed = await events.until("input_audio_buffer.committed")
            await connection.response.create()
            heard = await events.until("conversation.item.input_audio_transcription.completed")
            done = await events.until("response.done")
    assert updated["session"]["audio"]["input"]["turn_detection"] is None
    assert empty["error"]["code"] == "input_audio_buffer_commit_empty"
    assert heard["item_id"] == committed["item_id"] and "hello" in heard["transcript"].lower()
    assert not events.of("input_audio_buffer.speech_started")  # no VAD: the client decides
    assert done["response"]["status"] == "completed" and events.of("response.output_audio.delta")


async def test_bad_events_get_openai_shaped_errors_and_the_connection_goes_on(services, offline_config):
    async with realtime_server(services, offline_config) as (url, _host):
        client = AsyncOpenAI(base_url=url, api_key="sk-anything")
        async with client.realtime.connect(model="vagus") as connection:
            events = Events(connection)
            await events.until("session.created")
            bad = [
                {"type": "no.such.event"},
                {"type": "input_audio_buffer.append", "audio": "%%% not base64 %%%"},
                {"type": "session.update", "session": {"audio": {"input": {"format": {"type": "audio/flac"}}}}},
                {"type": "session.update", "session": {"audio": {"input": {"turn_detection": {"threshold": 7}}}}},
                {"type": "conversation.item.delete", "item_id": "item_missing", "event_id": "mine_1"},
                {"type": "response.cancel"},
            ]
            for event in bad:
                await connection.send(event)  # type: ignore[arg-type]
            errors = [await events.until("error") for _ in bad]
            await connection.session.update(session={"type": "realtime", "instructions": "Be brief."})
            updated = await events.until("session.updated")
    codes = [e["error"]["code"] for e in errors]
    assert codes == ["invalid_event_type", "invalid_value", "invalid_value", "invalid_value", "item_not_found",
                     "response_cancel_not_active"]  # fmt: skip
    assert errors[2]["error"]["param"] == "session.audio.input.format"
    assert errors[3]["error"]["param"] == "session.audio.input.turn_detection.threshold"
    assert errors[4]["error"]["event_id"] == "mine_1"
    assert all(e["error"]["type"] == "invalid_request_error" and e["error"]["message"] for e in errors)
    assert updated["session"]["instructions"] == "Be brief."


async def test_openai_agents_realtime_runner_talks_to_vagus(services, offline_config):
    from agents import function_tool
    from agents.realtime import RealtimeAgent, RealtimeRunner

    from vagus.services.llm.openai_compat import OpenAICompatibleLLM

    asked: list[str] = []

    @function_tool
    def get_time(city: str) -> str:
        """The local time in a city."""
        asked.append(city)
        return "half past nine"

    fake = FakeOpenAI()
    fake.scripts = [
        [{"tool_calls": [{"index": 0, "id": "t1", "function": {"name": "get_time", "arguments": '{"city": "Rome"}'}}]}],
        [{"content": "It is half past nine in Rome."}],
    ]
    agent = RealtimeAgent(name="Clock", instructions="You tell the time.", tools=[get_time])
    async with fake.serve() as llm_url:
        llm = OpenAICompatibleLLM(llm_url, "scripted")
        async with realtime_server(dataclasses.replace(services, llm=llm), offline_config) as (url, _host):
            runner = RealtimeRunner(agent)
            ws_url = url.replace("http://", "ws://") + "/realtime?model=vagus"
            session = await runner.run(model_config={"url": ws_url, "api_key": "sk-anything"})
            kinds: list[str] = []
            transcripts: list[str] = []
            async with session:
                await session.send_audio(pcm24("long_question", pad_s=2.0))
                async with asyncio.timeout(WAIT_S):
                    async for event in session:
                        kinds.append(event.type)
                        if event.type == "error":
                            raise AssertionError(event.error)
                        if event.type == "history_updated":
                            transcripts = [
                                part.transcript or ""
                                for item in event.history
                                if item.type == "message" and item.role == "assistant"
                                for part in item.content
                                if getattr(part, "transcript", None)
                            ]
                        if any("half past nine" in t for t in transcripts):
                            break
        await llm.close()
    assert asked == ["Rome"]
    assert "tool_start" in kinds and "tool_end" in kinds and "audio" in kinds
    instructions = fake.requests[0]["body"]["messages"][0]["content"]
    assert instructions.startswith("You tell the time.")


def first_question_of_barge_in() -> bytes:
    """'Tell me everything about the history of Rome.' alone (the recording's first 4 s)."""
    audio, rate = load_fixture("barge_in")
    audio = np.concatenate([resample(audio[: 4 * rate], rate, 24000), np.zeros(24000 * 2, np.float32)])
    return (np.clip(audio, -1, 1) * 32767).astype("<i2").tobytes()


async def test_a_client_truncation_stops_the_voice_and_cuts_the_words(services, offline_config):
    async with realtime_server(services, offline_config) as (url, host):
        client = AsyncOpenAI(base_url=url, api_key="sk-anything")
        async with client.realtime.connect(model="vagus") as connection:
            events = Events(connection)
            await send_audio(connection, first_question_of_barge_in())
            first = await events.until("response.output_audio.delta")
            for _ in range(40):  # about 0.8 s of the answer has been sent
                await events.until("response.output_audio.delta")
            await connection.conversation.item.truncate(item_id=first["item_id"], content_index=0, audio_end_ms=500)
            truncated = await events.until("conversation.item.truncated")
            done = await events.until("response.done")
            await connection.conversation.item.truncate(item_id=first["item_id"], content_index=0, audio_end_ms=10**6)
            too_long = await events.until("error")
            entries = list(next(iter(host)).session.conversation.entries)
    assert truncated == {**truncated, "item_id": first["item_id"], "audio_end_ms": 500}
    assert done["response"]["status"] == "cancelled"
    assert done["response"]["status_details"]["reason"] == "client_cancelled"
    assert too_long["error"]["param"] == "audio_end_ms"
    assistant = next(e for e in entries if e.role == "assistant")
    full = " ".join(e["delta"].strip() for e in events.of("response.output_audio_transcript.delta")).split()
    assert assistant.interrupted and 0 < len(assistant.content.split()) < len(full) / 2, assistant


async def test_cancelling_a_response_before_it_speaks(services, offline_config):
    async with realtime_server(services, offline_config) as (url, _host):
        client = AsyncOpenAI(base_url=url, api_key="sk-anything")
        async with client.realtime.connect(model="vagus") as connection:
            events = Events(connection)
            await connection.conversation.item.create(
                item={"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Hi there."}]}
            )
            await connection.response.create(response={"instructions": "Answer in one word."})
            created = await events.until("response.created")
            await connection.response.create()
            busy = await events.until("error")
            await connection.response.cancel()
            done = await events.until("response.done")
            await connection.response.create()
            again = await events.until("response.done")
    assert busy["error"]["code"] == "conversation_already_has_active_response"
    assert done["response"]["id"] == created["response"]["id"] and done["response"]["status"] == "cancelled"
    assert done["response"]["status_details"]["reason"] == "client_cancelled"
    assert again["response"]["status"] == "completed"


async def test_a_transcription_session_only_transcribes(services, offline_config):
    async with realtime_server(services, offline_config) as (url, _host):
        client = AsyncOpenAI(base_url=url, api_key="sk-anything")
        async with client.realtime.connect(model="vagus") as connection:
            events = Events(connection)
            await connection.session.update(session={"type": "transcription"})
            updated = await events.until("session.updated")
            await send_audio(connection, pcm24("two_questions", pad_s=2.0))
            first = await events.until("conversation.item.input_audio_transcription.completed")
            second = await events.until("conversation.item.input_audio_transcription.completed")
            await connection.response.create()
            refused = await events.until("error")
    assert updated["session"]["type"] == "transcription"
    assert "seven" in first["transcript"].lower() or "7" in first["transcript"]
    assert "alice" in second["transcript"].lower()
    assert not events.of("response.created") and refused["error"]["param"] == "type"


async def test_the_idle_timeout_checks_in_with_a_silent_user(services, offline_config):
    async with realtime_server(services, offline_config) as (url, _host):
        client = AsyncOpenAI(base_url=url, api_key="sk-anything")
        async with client.realtime.connect(model="vagus") as connection:
            events = Events(connection)
            detection = {"type": "server_vad", "idle_timeout_ms": 5000}
            await connection.session.update(
                session={"type": "realtime", "audio": {"input": {"turn_detection": detection}}}
            )
            updated = await events.until("session.updated")
            await send_audio(connection, pcm24("hello", pad_s=0.5))
            answered = await events.until("response.done")
            timeout = await events.until("input_audio_buffer.timeout_triggered")
            nudged = await events.until("response.done")
    assert updated["session"]["audio"]["input"]["turn_detection"]["idle_timeout_ms"] == 5000
    assert answered["response"]["status"] == "completed"
    assert timeout["audio_end_ms"] - timeout["audio_start_ms"] == 5000
    assert nudged["response"]["id"] != answered["response"]["id"] and nudged["response"]["status"] == "completed"


async def test_the_agents_own_tools_run_on_the_server_unseen_by_the_client(services, offline_config):
    """A `vagus.Agent`'s tools are called on the server within the response; the client sees only
    the spoken answer (no function_call item to handle)."""
    from vagus import Agent
    from vagus.services.llm.openai_compat import OpenAICompatibleLLM

    lights: list[bool] = []

    def switch_lights(on: bool) -> str:
        """Switch the kitchen lights on or off."""
        lights.append(on)
        return "done"

    fake = FakeOpenAI()
    fake.scripts = [
        [
            {
                "tool_calls": [
                    {"index": 0, "id": "l1", "function": {"name": "switch_lights", "arguments": '{"on": true}'}}
                ]
            }
        ],
        [{"content": "The lights are on."}],
    ]
    async with fake.serve() as llm_url:
        llm = OpenAICompatibleLLM(llm_url, "scripted")
        agent = Agent(instructions="You run the kitchen.", tools=[switch_lights])
        gateway = WebRTCGateway(SessionHost(dataclasses.replace(services, llm=llm), offline_config, agent=agent))
        server = TestServer(create_app(gateway), host="127.0.0.1")
        await server.start_server()
        try:
            client = AsyncOpenAI(base_url=f"http://127.0.0.1:{server.port}/v1", api_key="x")
            async with client.realtime.connect(model="vagus") as connection:
                events = Events(connection)
                created = await events.until("session.created")
                await connection.conversation.item.create(
                    item={"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Lights on"}]}
                )
                await connection.response.create()
                done = await events.until("response.done")
        finally:
            await server.close()
        await llm.close()
    assert created["session"]["instructions"] == "You run the kitchen."
    assert lights == [True]
    assert [i["type"] for i in done["response"]["output"]] == ["message"]
    assert done["response"]["output"][0]["content"][0]["transcript"] == "The lights are on."
    assert not events.of("response.function_call_arguments.done")
    assert [t["function"]["name"] for t in fake.requests[0]["body"]["tools"]] == ["switch_lights"]


async def test_the_retired_beta_shape_for_older_clients(services, offline_config):
    """`client.beta.realtime` (it sends `OpenAI-Beta: realtime=v1`): the beta's event names and
    session shape, each event valid against the SDK's beta types."""
    from openai.types.beta.realtime import RealtimeServerEvent as BetaServerEvent

    beta_event = TypeAdapter(BetaServerEvent)
    async with realtime_server(services, offline_config) as (url, _host):
        # the beta client always picks wss:// from base_url; a plain server is named as ws://
        client = AsyncOpenAI(base_url=url, api_key="sk-anything", websocket_base_url=url.replace("http", "ws"))
        async with client.beta.realtime.connect(model="vagus") as connection:
            seen: list[dict[str, Any]] = []

            async def until(kind: str) -> dict[str, Any]:
                while True:
                    raw = json.loads(await asyncio.wait_for(connection.recv_bytes(), WAIT_S))
                    beta_event.validate_python(raw)
                    seen.append(raw)
                    if raw["type"] == kind:
                        return raw

            created = await until("session.created")
            await connection.session.update(session={"input_audio_transcription": {"model": "whisper-1"},
                                                     "turn_detection": {"type": "server_vad"}})  # fmt: skip
            updated = await until("session.updated")
            await send_audio(connection, pcm24("hello"))
            heard = await until("conversation.item.input_audio_transcription.completed")
            done = await until("response.done")
    kinds = [e["type"] for e in seen]
    assert created["session"]["input_audio_format"] == "pcm16" and created["session"]["modalities"] == ["audio", "text"]
    assert updated["session"]["turn_detection"]["type"] == "server_vad"
    assert "hello" in heard["transcript"].lower()
    assert "response.audio.delta" in kinds and "response.audio_transcript.done" in kinds
    assert "conversation.item.created" in kinds and "conversation.item.added" not in kinds
    assert not any(k.startswith(("response.output_audio", "response.output_text")) for k in kinds)
    assert done["response"]["status"] == "completed" and done["response"]["output"][0]["content"][0]["type"] == "audio"


async def test_a_commit_with_turn_detection_on_ends_the_turn_now(services, offline_config):
    async with realtime_server(services, offline_config) as (url, _host):
        client = AsyncOpenAI(base_url=url, api_key="sk-anything")
        async with client.realtime.connect(model="vagus") as connection:
            events = Events(connection)
            detection = {"type": "server_vad", "silence_duration_ms": 5000}  # it would wait 5 s by itself
            await connection.session.update(
                session={"type": "realtime", "audio": {"input": {"turn_detection": detection}}}
            )
            await events.until("session.updated")
            await connection.input_audio_buffer.commit()
            empty = await events.until("error")
            await send_audio(connection, pcm24("hello", pad_s=0.3))
            await connection.input_audio_buffer.commit()
            committed = await events.until("input_audio_buffer.committed")
            done = await events.until("response.done")
    assert empty["error"]["code"] == "input_audio_buffer_commit_empty"
    stopped = events.of("input_audio_buffer.speech_stopped")
    assert stopped and stopped[0]["item_id"] == committed["item_id"]
    assert done["response"]["status"] == "completed"


async def test_items_can_be_inserted_where_the_client_says(services, offline_config):
    async with realtime_server(services, offline_config) as (url, host):
        client = AsyncOpenAI(base_url=url, api_key="sk-anything")
        async with client.realtime.connect(model="vagus") as connection:
            events = Events(connection)

            def text(role: str, words: str, item_id: str) -> dict[str, Any]:
                kind = "output_text" if role == "assistant" else "input_text"
                return {"id": item_id, "type": "message", "role": role, "content": [{"type": kind, "text": words}]}

            await connection.conversation.item.create(item=text("user", "My name is Ann.", "a"))
            await connection.conversation.item.create(item=text("assistant", "Hi Ann!", "b"))
            await connection.conversation.item.create(
                item=text("system", "Speak briefly.", "c"), previous_item_id="root"
            )
            await connection.conversation.item.create(item=text("user", "I live in Rome.", "d"), previous_item_id="a")
            await connection.conversation.item.create(item=text("user", "?", "e"), previous_item_id="nope")
            missing = await events.until("error")
            added = [e for e in events.seen if e["type"] == "conversation.item.added"]
            entries = [(e.role, e.content) for e in next(iter(host)).session.conversation.entries]
    assert missing["error"]["param"] == "previous_item_id"
    assert [(e["item"]["id"], e["previous_item_id"]) for e in added] == [("a", None), ("b", "a"), ("c", None),
                                                                          ("d", "a")]  # fmt: skip
    assert entries == [("system", "Speak briefly."), ("user", "My name is Ann."), ("user", "I live in Rome."),
                       ("assistant", "Hi Ann!")]  # fmt: skip
