"""End to end: a cluster of `vagus serve` nodes on NATS, each in its own network namespace joined by a
bridge (addresses that exist only inside a loopback-only namespace), with real aiortc clients."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.netns import run_report

pytestmark = [pytest.mark.slow]

HERE = Path(__file__).parent


@pytest.fixture(scope="module")
def report() -> dict:
    return run_report(HERE / "cluster_session.py", timeout=900)


def test_offers_land_on_the_least_loaded_node_and_media_flows_there(report):
    assert report["cluster_formed"], report["logs"]
    assert report["offers"] == [200, 200]
    assert sorted(report["landed"]) == ["10.77.0.2", "10.77.0.3"]  # one on each node, though both went to a
    assert report["both_answered"], report["said"]
    assert all("7" in said[0] or "seven" in said[0].lower() for said in report["said"]), report["said"]


def test_a_killed_node_loses_only_its_sessions_and_the_registry_recovers(report):
    assert report["b_dropped"], report["logs"]
    assert report["survivor_frames_grew"]  # the call on a went on
    assert report["offer_after_death"] == 200 and report["late_landed"] == "10.77.0.2"
    assert report["b_back"], report["logs"]


def test_a_drained_node_takes_no_new_sessions_and_exits_when_its_calls_end(report):
    code, said = report["drain_command"]
    assert code == 0 and said.startswith("node a is draining"), report["drain_command"]
    assert report["offer_while_a_drains"] == 200 and report["drain_landed"] == "10.77.0.3"
    assert report["a_call_goes_on"]
    assert report["a_exit"] == 0, report["logs"]
    assert [n["node"] for n in report["status_after"]] == ["b"], report["status_after"]
    assert report["b_exit"] == 0, report["logs"]


def test_a_front_door_routes_offers_and_realtime_sessions_to_the_nodes(report):
    code, landed = report["front_offer"]
    assert code == 200 and landed == "10.77.0.3"  # the only node left
    kinds = report["front_realtime"]  # a WebSocket relayed to the node, with the client's token
    assert kinds[0] == "session.created" and "response.output_audio.delta" in kinds and kinds[-1] == "completed"
    call = report["front_call"]  # a Realtime WebRTC call routed over NATS
    assert call[0] == "http 201" and "output_audio_buffer.started" in call and "response.done" in call, call
    assert report["front_dispatch_ms"]["p50"] > 0
