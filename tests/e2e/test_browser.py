"""End to end: a real headless Chromium talks to the server over WebRTC, in a loopback-only netns."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from tests.e2e.netns import run_report

pytestmark = [pytest.mark.browser, pytest.mark.slow]

HERE = Path(__file__).parent


def run_browser(mic: Path, query: str, mode: str) -> dict:
    return run_report(HERE / "browser_session.py", str(mic), query, "60", mode, browser=True, timeout=240)


@pytest.fixture(scope="module")
def mic_wav(tmp_path_factory, fixtures_dir) -> Path:
    """The user's question with a second of lead-in (the fake mic starts at getUserMedia), 16-bit PCM."""
    audio, rate = sf.read(fixtures_dir / "two_questions.wav", dtype="int16")
    padded = np.concatenate([np.zeros(rate, np.int16), audio[: int(4.0 * rate)], np.zeros(2 * rate, np.int16)])
    path = tmp_path_factory.mktemp("mic") / "mic.wav"
    sf.write(path, padded, rate, subtype="PCM_16")
    return path


def test_browser_speech_is_transcribed_and_answered_with_audio(mic_wav):
    report = run_browser(mic_wav, "autostart=1&aec=off", "full")
    assert report["error"] is None and report["state"] == "connected", report
    events = report["events"]
    finals = [e["text"] for e in events if e["type"] == "transcript_final"]
    assert finals and ("7" in finals[0] or "seven" in finals[0].lower()), finals
    assert any("42" in e["text"] for e in events if e["type"] == "agent_sentence")
    latency = [e for e in events if e["type"] == "turn_latency"]
    assert latency and latency[0]["response_ms"] > 0
    assert report["audio"]["totalAudioEnergy"] > 0.01  # the agent's voice reached the browser
    assert "42" in report["transcript"]  # and the page shows the conversation
    assert "brain offline-rules" in report["brain"] and "ears whisper-local" in report["brain"], report["brain"]
    assert "speech to text" in report["legend"] and "language model" in report["legend"]  # the waterfall's key
    assert report["thinking_hidden"]  # the answer came: no longer "thinking…"
    assert report["heard_split"] == ["One two", "three four five."]  # what was not heard is struck through
    assert report["sessions_after_close"] == 0  # the server noticed the peers leaving
    # two browsers at once: two sessions, each heard and answered
    assert report["concurrent_sessions_seen"] == 2
    assert len({page["session_id"] for page in report["pages"]}) == 2
    for page in report["pages"]:
        assert any("42" in e.get("text", "") for e in page["events"] if e["type"] == "agent_sentence")
        assert page["audio"]["totalAudioEnergy"] > 0.01


def test_server_side_echo_cancellation_path(mic_wav):
    report = run_browser(mic_wav, "autostart=1&aec=server", "single")
    events = report["events"]
    senses = [e for e in events if e["type"] == "senses"]
    assert senses and senses[-1]["stages"] == ["aec3"] and senses[-1]["cost_us"]["aec3"] > 0
    finals = [e["text"] for e in events if e["type"] == "transcript_final"]
    assert finals and ("7" in finals[0] or "seven" in finals[0].lower()), finals
    assert report["audio"]["totalAudioEnergy"] > 0.01


def test_client_vanishing_mid_answer_leaves_the_server_healthy(mic_wav):
    report = run_browser(mic_wav, "autostart=1&aec=off", "vanish")
    assert any(e["type"] == "agent_speech_started" for e in report["events"]), report["events"]
    assert report["sessions_after_close"] == 0
    assert report["health_after"] == 0
