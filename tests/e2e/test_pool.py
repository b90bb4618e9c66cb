"""End to end: `vagus pool` (Ray Serve) batching speech to text across requests, and a conversation
that uses it, inside a loopback-only namespace. Skipped without the `pool` extra."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from tests.e2e.netns import run_report

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(importlib.util.find_spec("ray") is None, reason="the pool extra (Ray Serve) is not installed"),
]

HERE = Path(__file__).parent


@pytest.fixture(scope="module")
def report() -> dict:
    return run_report(HERE / "pool_session.py", timeout=600)


def test_requests_arriving_together_are_decoded_in_batches_as_the_node_would(report):
    assert "speech to text on cpu" in report["banner"], report["stderr_tail"]
    assert report["codes"] == [200]
    for name, text in report["texts"].items():
        assert text == report["local_texts"][name], (name, text)
    stats = report["stats"]
    # eight sent at once meet in batches (how many in each depends on when they arrive: a busy machine)
    assert stats["requests"] == 8 and stats["max_batch"] >= 2 and stats["batches"] < 8, stats
    code, body = report["not_audio"]
    assert code == 400 and "not audio" in body["error"]["message"]
    assert report["no_form"][0] == 400


def test_a_conversation_uses_the_pool_for_its_speech_to_text(report):
    assert report["talk_code"] == 0, report["talk_stderr"]
    assert any("7 times 6" in (t or "") for t in report["talk_turns"]), report["talk_turns"]
    assert report["requests_after_talk"] > 8
    assert report["exit_code"] == 0, report["stderr_tail"]
