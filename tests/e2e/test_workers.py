"""End to end: `vagus serve --workers 2` with real aiortc clients, in a loopback-only netns."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.test_browser import REQUIRED

pytestmark = [pytest.mark.slow]

HERE = Path(__file__).parent


def _missing() -> str | None:
    import os
    import shutil

    if shutil.which("unshare") is None or shutil.which("ip") is None:
        return "unshare/ip are needed for the loopback-only network namespace"
    if os.geteuid() != 0:
        return "creating a network namespace needs root"
    return None


@pytest.fixture(scope="module")
def report() -> dict:
    reason = _missing()
    if reason:
        if REQUIRED:
            pytest.fail(reason)
        pytest.skip(reason)
    script = f"ip link set lo up && exec {sys.executable} {HERE / 'workers_session.py'}"
    proc = subprocess.run(["unshare", "-n", "bash", "-c", script], capture_output=True, text=True, timeout=400)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("REPORT ")]
    assert proc.returncode == 0 and lines, proc.stderr[-3000:]
    return json.loads(lines[-1][len("REPORT ") :])


def test_sessions_are_spread_over_the_workers_and_each_is_answered(report):
    assert "2 workers" in report["banner"]
    assert report["offers"] == [200, 200]
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
    assert report["exit_code"] == 0, report["stderr_tail"]
