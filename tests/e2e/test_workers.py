"""End to end: `vagus serve --workers 2` with real aiortc clients, in a loopback-only netns."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.netns import run_report

pytestmark = [pytest.mark.slow]

HERE = Path(__file__).parent


@pytest.fixture(scope="module")
def report() -> dict:
    return run_report(HERE / "workers_session.py")


def test_sessions_are_spread_over_the_workers_and_each_is_answered(report):
    assert "2 workers" in report["banner"]
    assert report["offers"] == [200, 200]
    assert report["agent"]["llm"] == "offline" and report["agent"]["stt"].startswith("whisper"), report["agent"]
    assert report["bad_sdp"][0] == 400 and "audio" in report["bad_sdp"][1]  # the worker's own check
    assert report["bad_json"][0] == 400 and "JSON" in report["bad_json"][1]
    assert report["sessions_per_worker"] == [1, 1]  # the second offer went to the idle worker
    assert report["both_answered"], report["said"]
    assert all("7" in said[0] or "seven" in said[0].lower() for said in report["said"].values())


def test_a_dead_worker_takes_only_its_own_sessions_and_is_replaced(report):
    assert report["b_on_survivor"]
    (death,) = report["deaths"]
    assert death["pid"] == report["victim_pid"] and len(death["sessions"]) == 1
    assert report["restarted"] and report["new_pid"] and report["new_pid"][0] != report["victim_pid"]
    assert report["survivor_kept_pid"] and report["survivor_session_listed"] and report["survivor_frames_grew"]
    assert report["offer_after_death"] == 200
    kinds = report["realtime"]  # the Realtime API relayed by the front to a worker
    assert kinds[0] == "session.created" and "response.output_audio.delta" in kinds and kinds[-1] == "completed"
    call = report["realtime_call"]  # a Realtime WebRTC call relayed to a worker
    assert call[0] == "http 201" and "session.created" in call and "output_audio_buffer.started" in call, call
    assert "response.done" in call
    metrics = report["metrics"]  # the front's /metrics: every worker's, labelled
    assert any('worker="0"' in line for line in metrics) and any('worker="1"' in line for line in metrics), metrics
    assert report["exit_code"] == 0, report["stderr_tail"]
