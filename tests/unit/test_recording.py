"""Session recordings (`recording:`): both sides' audio placed on the session clock, every event,
owner-only files; listing, reading, deleting and pruning; off by default; a folder that cannot be
written leaves the conversation unrecorded but working."""

from __future__ import annotations

import json
import stat

import numpy as np
import pytest
import soundfile as sf

from tests.fakes import Step, make_rig, offline_config, silence, tone
from vagus.agent.recording import RECORDING_ID, recording_name
from vagus.agent.recordings import NoRecording, Recordings


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x)))) if len(x) else 0.0


async def recorded_turn(tmp_path, **recording):  # type: ignore[no-untyped-def]
    config = offline_config(recording={"enabled": True, "path": str(tmp_path / "rec"), **recording})
    rig = make_rig(config, turns=[Step("What time is it?", delay=0.2)], answers=[Step("It is noon.", delay=0.3)])
    await rig.play(silence(0.5))
    await rig.play(tone(1.0), tail_s=2.0)
    await rig.host.close_session(rig.session.id, "hung up")
    return rig, Recordings(tmp_path / "rec")


async def test_a_session_is_recorded_with_both_sides_on_the_session_clock(tmp_path):
    rig, store = await recorded_turn(tmp_path)
    (meta,) = store.all()
    assert RECORDING_ID.match(meta["id"]) and meta["session_id"] == rig.session.id
    assert meta["reason"] == "hung up" and meta["turns"] == 1 and meta["first_words"] == "What time is it?"
    assert meta["ended"] >= meta["started"] and meta["providers"]["tts"]
    got = store.get(meta["id"])
    kinds = [e["type"] for e in got["events"]]
    assert kinds[0] == "session_started" and kinds[-1] == "session_ended"
    assert "turn_latency" in kinds and "agent_text_delta" not in kinds
    assert got["events"][1:] == [e for e in rig.events if e["type"] != "agent_text_delta"]

    audio, rate = sf.read(store.audio(meta["id"]), dtype="float32")
    assert rate == 16000 and audio.shape[1] == 2
    assert len(audio) / rate == pytest.approx(rig.clock.now(), abs=0.05)
    user, agent = audio[:, 0], audio[:, 1]
    at = lambda t: round(t * rate)  # noqa: E731
    assert rms(user[at(0.55) : at(1.45)]) == pytest.approx(0.3 / np.sqrt(2), rel=0.05)
    assert rms(user[: at(0.45)]) == 0 and rms(user[at(1.55) :]) == 0
    (started,) = rig.of("agent_speech_started")
    (stopped,) = rig.of("agent_speech_stopped")
    assert rms(agent[: at(started["t"]) - 400]) == 0  # nothing before the agent spoke (20 ms slack)
    assert rms(agent[at(started["t"]) + 400 : at(stopped["t"]) - 400]) == pytest.approx(0.01 / np.sqrt(2), rel=0.1)
    assert rms(agent[at(stopped["t"]) + 400 :]) < 1e-4


async def test_recordings_are_readable_by_the_server_user_only(tmp_path):
    _, store = await recorded_turn(tmp_path)
    (meta,) = store.all()
    folder = store.root / meta["id"]
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    for name in ("session.json", "events.jsonl", "audio.wav"):
        assert stat.S_IMODE((folder / name).stat().st_mode) == 0o600


async def test_timeline_only_when_audio_is_off(tmp_path):
    _, store = await recorded_turn(tmp_path, audio=False)
    (meta,) = store.all()
    assert meta["audio"] is None and not store.get(meta["id"])["recording"]["has_audio"]
    with pytest.raises(NoRecording, match="no audio"):
        store.audio(meta["id"])


async def test_nothing_is_recorded_by_default(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    rig = make_rig(turns=[Step("Hi.")], answers=[Step("Hello.")])
    await rig.play(tone(0.6), tail_s=1.5)
    assert rig.hosted.recording is None and not (tmp_path / "recordings").exists()


async def test_a_folder_that_cannot_be_written_leaves_the_session_unrecorded(tmp_path):
    blocker = tmp_path / "rec"
    blocker.write_text("a file, not a folder")
    config = offline_config(recording={"enabled": True, "path": str(blocker)})
    rig = make_rig(config, turns=[Step("Hi.")], answers=[Step("Hello there.")])
    await rig.play(tone(0.6), tail_s=2.0)
    assert rig.hosted.recording is None and rig.tts.spoken == ["Hello there."]


async def test_a_recording_deleted_while_live_is_not_written_again(tmp_path):
    config = offline_config(recording={"enabled": True, "path": str(tmp_path / "rec")})
    rig = make_rig(config, turns=[Step("Hi.")], answers=[Step("Hello there.")])
    await rig.play(tone(0.6), tail_s=0.5)
    store = Recordings(tmp_path / "rec")
    (meta,) = store.all()
    assert meta["ended"] is None  # live
    assert not store.get(meta["id"])["recording"]["has_audio"]
    with pytest.raises(NoRecording, match="still live"):
        store.audio(meta["id"])
    store.delete(meta["id"])
    await rig.play(silence(2.0))
    await rig.host.close_session(rig.session.id, "hung up")
    assert store.all() == [] and list(store.root.iterdir()) == []


def _fake(store: Recordings, session_id: str, started: float) -> str:
    name = recording_name(session_id, started)
    (store.root / name).mkdir(parents=True)
    (store.root / name / "session.json").write_text(json.dumps({"started": started, "ended": started + 5}))
    return name


def test_prune_keeps_the_newest_within_the_age_limit(tmp_path):
    store = Recordings(tmp_path)
    day = 86400.0
    names = [_fake(store, f"s{i}", 1_000 * day + i * day) for i in range(5)]  # s4 newest
    assert sorted(store.prune(keep_days=2.5, keep=100, now=1_004 * day)) == sorted(names[:2])
    assert store.prune(keep_days=30, keep=2, now=1_004 * day) == [names[2]]
    assert [m["id"] for m in store.all()] == [names[4], names[3]]


def test_names_outside_the_folder_are_refused(tmp_path):
    store = Recordings(tmp_path / "rec")
    (tmp_path / "secret").mkdir()
    (tmp_path / "secret" / "session.json").write_text("{}")
    for bad in ("../secret", "..", "20260101-000000-../x", "secret", ""):
        with pytest.raises(NoRecording):
            store.get(bad)
        with pytest.raises(NoRecording):
            store.delete(bad)
    assert (tmp_path / "secret").is_dir()
    assert recording_name("../../etc/passwd", 0.0) == "19700101-000000-_.._etc_passwd"
    assert RECORDING_ID.match(recording_name("sess_ä/…", 0.0))


def test_evaluations_do_not_add_to_the_recorded_conversations():
    from vagus.evals.runner import unrecorded

    config = offline_config(recording={"enabled": True, "path": "/somewhere"})
    assert unrecorded(config).recording.enabled is False and unrecorded(config).recording.path == "/somewhere"
    assert config.recording.enabled  # the agent's own config is left as it is


async def test_the_command_line_lists_shows_and_deletes(tmp_path, capsys):
    from vagus.cli import main

    _, store = await recorded_turn(tmp_path)
    agent = tmp_path / "agent.yaml"
    agent.write_text(f"recording:\n  enabled: true\n  path: {store.root}\n")
    (meta,) = store.all()
    assert main(["recordings", "list", "--config", str(agent)]) == 0
    assert meta["id"] in capsys.readouterr().out
    assert main(["recordings", "show", meta["id"], "--config", str(agent)]) == 0
    assert json.loads(capsys.readouterr().out)["recording"]["turns"] == 1
    assert main(["recordings", "delete", "nothing-like-this", "--config", str(agent)]) == 2
    assert "not a recording's name" in capsys.readouterr().err
    assert main(["recordings", "delete", "--all", "--config", str(agent)]) == 0
    assert "deleted 1 recording" in capsys.readouterr().out and store.all() == []
    assert main(["recordings", "list", "--config", str(agent)]) == 0
    assert "no recordings in" in capsys.readouterr().out
