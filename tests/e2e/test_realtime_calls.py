"""End to end: the Realtime API over WebRTC with an aiortc client and with a page written as OpenAI's
WebRTC guide shows, in headless Chromium, in a loopback-only netns."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from tests.e2e.netns import run_report

pytestmark = [pytest.mark.browser, pytest.mark.slow]

HERE = Path(__file__).parent


@pytest.fixture(scope="module")
def report(tmp_path_factory, fixtures_dir) -> dict:
    audio, rate = sf.read(fixtures_dir / "hello.wav", dtype="int16")
    padded = np.concatenate([np.zeros(rate, np.int16), audio, np.zeros(4 * rate, np.int16)])
    mic = tmp_path_factory.mktemp("mic") / "mic.wav"
    sf.write(mic, padded, rate, subtype="PCM_16")
    return run_report(HERE / "realtime_calls_session.py", str(mic), browser=True, timeout=300)


def test_an_aiortc_caller_gets_answer_events_and_voice(report):
    call = report["aiortc"]
    assert call["bad_offer"][0] == 400 and "m=audio" in call["bad_offer"][1]
    assert call["status"] == 201 and call["content_type"] == "application/sdp"
    assert call["location"].startswith("/v1/realtime/calls/rtc_")
    kinds = call["events"]
    assert kinds[0] == "session.created", kinds
    for kind in ("input_audio_buffer.speech_started", "input_audio_buffer.committed", "response.created",
                 "output_audio_buffer.started", "response.output_audio_transcript.done", "output_audio_buffer.stopped",
                 "response.done"):  # fmt: skip
        assert kind in kinds, (kind, kinds)
    assert "response.output_audio.delta" not in kinds  # the voice is media on WebRTC
    assert kinds.index("output_audio_buffer.started") < kinds.index("output_audio_buffer.stopped")
    assert call["transcripts"] and call["transcripts"][0]
    assert call["frames"]["loud"] > 25  # at least half a second of the agent's voice arrived as RTP
    assert call["hangup"] == 200 and call["hangup_again"] == 404


def test_openais_browser_example_works_by_changing_the_url(report):
    page = report["browser"]
    assert page["state"] == "connected" and page["status"] == 201, page
    assert not page["errors"] and not page["console"], page
    kinds = page["events"]
    assert kinds[:2] == ["session.created", "session.updated"], kinds
    assert "output_audio_buffer.stopped" in kinds and "response.done" in kinds, kinds
    assert page["heard"] and "hello" in page["heard"][0].lower(), page["heard"]
    assert page["energy"] > 0  # the page heard the agent
    assert report["sessions_after"] == 0


def test_the_talk_page_says_what_is_wrong_on_an_insecure_address(report):
    page = report["browser"]["insecure"]
    assert page["secure"] is False
    assert "secure pages" in page["shown"] and "--tls-self-signed" in page["shown"]
    assert page["status"].startswith("error: The browser gives the microphone only to secure pages")
