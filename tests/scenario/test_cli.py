"""`vagus talk` as a user runs it: real files in, files and a clear exit status out."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import urllib.request

import numpy as np
import pytest
import soundfile as sf

from tests.fake_openai import free_port

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


@pytest.mark.parametrize(
    ("output", "message"),
    [
        (".", "is a folder"),
        ("out.xyz", "cannot write .xyz"),
        ("in.wav", "is the input recording"),
    ],
)
def test_talk_refuses_an_output_it_cannot_write_before_any_work(tmp_path, fixtures_dir, output, message):
    src = tmp_path / "in.wav"
    src.write_bytes((fixtures_dir / "hello.wav").read_bytes())
    before = src.read_bytes()
    proc = vagus("talk", str(src), str(tmp_path / output))
    assert proc.returncode == 2 and message in proc.stderr and "Traceback" not in proc.stderr
    assert "loading" not in proc.stderr and src.read_bytes() == before


def test_talk_writes_the_format_its_suffix_names(tmp_path, fixtures_dir):
    proc = vagus("talk", str(fixtures_dir / "hello.wav"), str(tmp_path / "out.flac"))
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert sf.info(tmp_path / "out.flac").format == "FLAC"


def test_talk_fails_with_the_reason_when_every_turn_failed(tmp_path, fixtures_dir):
    env = {**os.environ, "VAGUS_LLM_BASE_URL": "http://127.0.0.1:9/v1"}
    proc = subprocess.run(
        [sys.executable, "-m", "vagus", "talk", str(fixtures_dir / "hello.wav"), str(tmp_path / "o.wav")],
        capture_output=True,
        text=True,
        timeout=180,
        env=env,
    )
    assert proc.returncode == 1
    assert "every turn failed (llm connection" in proc.stderr
    assert "Unclosed" not in proc.stderr and "Traceback" not in proc.stderr


def test_serve_on_a_port_in_use_fails_at_once_in_one_line():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = vagus("serve", "--port", str(port))
    assert proc.returncode == 2
    assert proc.stderr.strip().startswith("vagus: error: cannot listen on 127.0.0.1")
    assert len(proc.stderr.strip().splitlines()) == 1 and "loading" not in proc.stderr


def test_serve_answers_health_and_status_and_drains_on_sigterm():
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "vagus", "serve", "--port", str(port), "--drain-s", "5", "--workers", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert "listening" in (proc.stdout.readline() if proc.stdout else "")
        base = f"http://127.0.0.1:{port}"
        with urllib.request.urlopen(base + "/healthz", timeout=10) as response:
            assert json.loads(response.read()) == {"status": "ok"}
        with urllib.request.urlopen(base + "/status", timeout=10) as response:
            status = json.loads(response.read())
        assert status["sessions"] == 0 and status["ticks"] > 0
        assert {"p50", "p99"} <= set(status["tick_lateness_ms"]) and "cpu_percent_per_session" in status
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_serve_refuses_a_worker_count_below_one():
    proc = vagus("serve", "--workers", "0")
    assert proc.returncode == 2 and "--workers: must be at least 1" in proc.stderr


def test_the_default_worker_count_is_one_per_usable_core():
    import os

    from vagus.cli import worker_count

    assert worker_count(None) == len(os.sched_getaffinity(0))
    assert worker_count(3) == 3


def test_serve_over_https_with_a_self_signed_certificate():
    import ssl

    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "vagus", "serve", "--port", str(port), "--workers", "1", "--tls-self-signed"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline() if proc.stdout else ""
        assert f"https://127.0.0.1:{port}/" in line, line
        unverified = ssl._create_unverified_context()  # the printed fingerprint is the check
        with urllib.request.urlopen(f"https://127.0.0.1:{port}/healthz", timeout=10, context=unverified) as response:
            assert json.loads(response.read()) == {"status": "ok"}
        served = ssl.get_server_certificate(("127.0.0.1", port))
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
        stderr = proc.stderr.read() if proc.stderr else ""
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    import hashlib

    digest = hashlib.sha256(ssl.PEM_cert_to_DER_cert(served)).hexdigest().upper()
    assert ":".join(digest[i : i + 2] for i in range(0, 64, 2)) in stderr


def test_serve_refuses_half_a_tls_setup():
    proc = vagus("serve", "--tls-cert", "cert.pem")
    assert proc.returncode == 2 and "--tls-cert and --tls-key go together" in proc.stderr


def test_eval_without_its_extra_says_what_to_install(monkeypatch, capsys):
    import importlib.util

    from vagus import cli

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "jiwer" else real(name, *a))
    assert cli.main(["eval", "--builtin", "--out", "unused"]) == 2
    assert "vagus eval needs jiwer: pip install 'vagus[eval]'" in capsys.readouterr().err
