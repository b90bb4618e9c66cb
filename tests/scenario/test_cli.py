"""`vagus talk` as a user runs it: real files in, files and a clear exit status out."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

pytestmark = pytest.mark.slow


def vagus(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "vagus", *args], capture_output=True, text=True, timeout=180)


def test_talk_writes_an_aligned_track_and_a_timeline(tmp_path, fixtures_dir):
    # a 44.1 kHz stereo input: any rate and channel count is accepted
    audio, rate = sf.read(fixtures_dir / "hello.wav", dtype="float32")
    stereo = np.stack([audio, audio], axis=1)
    src = tmp_path / "in.wav"
    sf.write(src, stereo, rate, subtype="PCM_16")
    proc = vagus("talk", str(src), str(tmp_path / "out.wav"), "--transcript", str(tmp_path / "t.json"))
    assert proc.returncode == 0, proc.stderr[-2000:]
    line = json.loads(proc.stdout.splitlines()[0])
    assert "hello" in line["user"].lower() and line["response_ms"] > 0
    out, out_rate = sf.read(tmp_path / "out.wav")
    assert out_rate == rate and len(out) >= len(audio)
    timeline = json.loads((tmp_path / "t.json").read_text())
    assert timeline["turns"][0]["latency"]["stages_ms"]["stt"] > 0
    kinds = {e["type"] for e in timeline["events"]}
    assert {"user_speech_started", "turn_ended", "transcript_final", "agent_speech_started", "turn_latency"} <= kinds
    # events are logged as JSON lines too
    logged = [json.loads(x) for x in proc.stderr.splitlines() if x.startswith("{")]
    assert any(entry.get("event", {}).get("type") == "transcript_final" for entry in logged)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p.write_text("not audio"), "not a readable audio file"),
        (lambda p: sf.write(p, np.zeros(0, dtype=np.float32), 16000), "contains no audio"),
        (lambda p: None, "no such file"),
    ],
)
def test_talk_rejects_bad_input_clearly(tmp_path, make, message):
    src = tmp_path / "in.wav"
    make(src)
    proc = vagus("talk", str(src), str(tmp_path / "out.wav"))
    assert proc.returncode == 2
    assert message in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "out.wav").exists()


def test_bad_config_is_reported(tmp_path, fixtures_dir):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("turns:\n  silence_ms: nope\n")
    proc = vagus("talk", str(fixtures_dir / "hello.wav"), str(tmp_path / "o.wav"), "--config", str(cfg))
    assert proc.returncode == 2 and "silence_ms" in proc.stderr


@pytest.mark.parametrize(("content", "message"), [(None, "model file not found"), (b"not onnx", "not a usable ONNX")])
def test_a_missing_or_broken_end_of_turn_model_is_reported(tmp_path, fixtures_dir, content, message):
    model = tmp_path / "turn.onnx"
    if content is not None:
        model.write_bytes(content)
    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"turns:\n  end_of_turn:\n    model_path: {model}\n")
    proc = vagus("talk", str(fixtures_dir / "hello.wav"), str(tmp_path / "o.wav"), "--config", str(cfg))
    assert proc.returncode == 2 and message in proc.stderr and "Traceback" not in proc.stderr
