"""OpenTelemetry: a turn becomes a trace (a span from the end of speech to the first audio, a child
per stage) exported over OTLP/HTTP to an in-process collector; its trace id is in the JSON log."""

from __future__ import annotations

import asyncio
import base64
import json
import logging

import numpy as np
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from tests.conftest import load_fixture
from tests.fake_openai import free_port
from vagus.agent.host import SessionHost
from vagus.audio.resample import resample
from vagus.logs import JsonFormatter
from vagus.server.app import create_app
from vagus.transports.webrtc import WebRTCGateway


async def test_a_turn_is_traced_to_an_otlp_collector(services, offline_config, caplog):
    received: list[ExportTraceServiceRequest] = []

    async def traces(request: web.Request) -> web.Response:
        message = ExportTraceServiceRequest()
        message.ParseFromString(await request.read())
        received.append(message)
        return web.Response(body=b"", content_type="application/x-protobuf")

    collector = web.Application()
    collector.router.add_post("/v1/traces", traces)
    runner = web.AppRunner(collector)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()

    config = offline_config.model_copy(deep=True)
    config.server.otlp_endpoint = f"http://127.0.0.1:{port}"
    caplog.set_level(logging.INFO, logger="vagus.tracing")
    try:
        app = create_app(WebRTCGateway(SessionHost(services, config)))
        async with TestClient(TestServer(app, host="127.0.0.1")) as client:
            ws = await client.ws_connect("/v1/realtime")
            audio, rate = load_fixture("hello")
            pcm = np.concatenate([resample(audio, rate, 24000), np.zeros(36000, np.float32)])
            data = base64.b64encode((pcm * 32767).astype("<i2").tobytes()).decode()
            await ws.send_json({"type": "input_audio_buffer.append", "audio": data})
            while json.loads((await ws.receive(timeout=60)).data)["type"] != "response.done":
                pass
            await ws.close()
        # the app's shutdown flushed the spans
        for _ in range(50):
            if received:
                break
            await asyncio.sleep(0.1)
    finally:
        await runner.cleanup()
    spans = [span for message in received for rs in message.resource_spans for ss in rs.scope_spans
             for span in ss.spans]  # fmt: skip
    by_name = {span.name: span for span in spans}
    turn = by_name["vagus.turn"]
    assert {"vagus.endpoint", "vagus.stt", "vagus.llm", "vagus.tts", "vagus.send"} <= set(by_name)
    for name in ("vagus.endpoint", "vagus.stt", "vagus.tts"):
        child = by_name[name]
        assert child.parent_span_id == turn.span_id and child.trace_id == turn.trace_id
        assert turn.start_time_unix_nano <= child.start_time_unix_nano <= child.end_time_unix_nano
    assert 0.1e9 < turn.end_time_unix_nano - turn.start_time_unix_nano < 30e9
    resource = {a.key: a.value.string_value for a in received[0].resource_spans[0].resource.attributes}
    assert resource["service.name"] == config.name
    record = next(r for r in caplog.records if r.name == "vagus.tracing")
    logged = json.loads(JsonFormatter().format(record))
    assert logged["trace_id"] == turn.trace_id.hex() and logged["session_id"]
