"""Prometheus `/metrics`: scraped during a live session (a Realtime WebSocket turn), guarded like
/status, and the workers' expositions merged with a `worker` label."""

from __future__ import annotations

from aiohttp.test_utils import TestClient, TestServer
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import say_hello_over_realtime
from vagus.agent.host import SessionHost
from vagus.server.app import Access, create_app
from vagus.server.metrics import merge_workers
from vagus.transports.webrtc import WebRTCGateway


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


async def test_metrics_during_a_session(services, offline_config):
    gateway = WebRTCGateway(SessionHost(services, offline_config))
    async with TestClient(TestServer(create_app(gateway), host="127.0.0.1")) as client:
        ws = await client.ws_connect("/v1/realtime")
        await say_hello_over_realtime(ws)
        scraped = await client.get("/metrics")
        text = await scraped.text()
        await ws.close()
    assert scraped.status == 200 and scraped.headers["Content-Type"].startswith("text/plain")
    got = samples(text)
    assert got[("vagus_sessions", ())] == 1 and got[("vagus_sessions_opened_total", ())] == 1
    assert got[("vagus_turns_total", ())] >= 1
    assert got[("vagus_turn_latency_seconds_count", ())] >= 1 and got[("vagus_turn_latency_seconds_sum", ())] > 0
    assert got[("vagus_stage_seconds_count", (("stage", "stt"),))] >= 1
    assert got[("vagus_tick_lateness_seconds_count", ())] > 10


async def test_metrics_are_guarded_like_status(services, offline_config):
    gateway = WebRTCGateway(SessionHost(services, offline_config))
    access = Access(offline_config.name, "s" * 32, True, "k" * 32)
    async with TestClient(TestServer(create_app(gateway, access), host="127.0.0.1")) as client:
        assert (await client.get("/metrics")).status == 401
        ok = await client.get("/metrics", headers={"Authorization": "Bearer " + "k" * 32})
        assert ok.status == 200 and "vagus_sessions" in await ok.text()


def test_workers_metrics_are_merged_with_their_label():
    one = "# HELP vagus_turns_total t\n# TYPE vagus_turns_total counter\nvagus_turns_total 3.0\n"
    two = "# HELP vagus_turns_total t\n# TYPE vagus_turns_total counter\nvagus_turns_total 5.0\n"
    merged = samples(merge_workers({"0": one, "1": two}).decode())
    assert merged[("vagus_turns_total", (("worker", "0"),))] == 3.0
    assert merged[("vagus_turns_total", (("worker", "1"),))] == 5.0
