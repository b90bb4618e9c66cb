"""Voiceprints: reading the checkpoint without torch, the encoder on real voices, the encrypted vault,
the lock's decisions."""

from __future__ import annotations

import os
import pickle
import stat
from pathlib import Path

import numpy as np
import pytest

from vagus.audio.wav import read_audio
from vagus.config import SpeakerConfig
from vagus.perception.speaker import Decision, SpeakerLock, decide
from vagus.perception.torch_file import LEGACY_MAGIC, CheckpointError, load_checkpoint
from vagus.perception.vault import VaultError, VoiceprintVault, new_key, read_key
from vagus.perception.voiceprint import mel_filters, partial_slices, similarity

SPEAKERS = Path(__file__).resolve().parents[1] / "fixtures" / "speakers"


def speech(name: str) -> np.ndarray:
    audio, rate = read_audio(SPEAKERS / f"{name}.flac")
    assert rate == 16000
    return audio


@pytest.fixture(scope="module")
def encoder():
    from vagus.perception.voiceprint import VoiceEncoder

    return VoiceEncoder()


def test_a_checkpoint_cannot_run_code_on_load(tmp_path):
    evil = tmp_path / "evil.pt"
    with evil.open("wb") as f:
        for part in (LEGACY_MAGIC, 1001, {"little_endian": True}):
            pickle.dump(part, f)
        pickle.dump(os.system, f)  # a pickle that would call os.system
        pickle.dump([], f)
    with pytest.raises(CheckpointError, match=r"refusing to load posix\.system"):
        load_checkpoint(evil)
    with pytest.raises(CheckpointError, match="not a PyTorch checkpoint"):
        (tmp_path / "junk.pt").write_bytes(b"junk")
        load_checkpoint(tmp_path / "junk.pt")


def test_the_packaged_checkpoint_is_read_into_numpy_without_torch():
    from vagus.packaged import find_packaged_model
    from vagus.perception.voiceprint import INSTALL_HINT, PACKAGED

    state = load_checkpoint(find_packaged_model(*PACKAGED, INSTALL_HINT))["model_state"]
    assert state["lstm.weight_ih_l0"].shape == (1024, 40) and state["lstm.weight_ih_l0"].dtype == np.float32
    assert state["linear.weight"].shape == (256, 256) and np.isfinite(state["linear.weight"]).all()


def test_the_packaged_encoder_tells_two_real_voices_apart(encoder):
    reader = [encoder.embed(speech(n)) for n in ("reader_0870", "reader_0890")]
    cards = [encoder.embed(speech(n)) for n in ("cards_002", "cards_005")]
    same_reader, same_cards = similarity(*reader), similarity(*cards)
    across = [similarity(a, b) for a in reader for b in cards]
    assert min(same_reader, same_cards) > max(across) + 0.05, (same_reader, same_cards, across)
    assert all(abs(float(np.linalg.norm(e)) - 1) < 1e-4 for e in reader + cards)
    with pytest.raises(ValueError, match="too little speech"):
        encoder.embed(np.zeros(4000, np.float32))


def test_features_follow_the_encoders_training():
    filters = mel_filters()
    assert filters.shape == (40, 201) and (filters >= 0).all()
    assert len(partial_slices(16000)) == 1  # one 1.6 s window, padded
    assert [s.start for s in partial_slices(5 * 16000)] == [0, 77, 154, 231, 308]  # 385 covers < 75 %


def test_voiceprints_are_encrypted_consented_listed_deleted_and_expire(tmp_path):
    key = read_key(env={"VAGUS_VOICEPRINT_KEY": new_key()})
    vault = VoiceprintVault(tmp_path / "vault", key)
    print_ = np.linspace(-1, 1, 256, dtype=np.float32)
    with pytest.raises(VaultError, match="consent"):
        vault.enroll("Anna", print_, "m", consent=False)
    vault.enroll("Anna", print_, "m", consent=True)
    vault.enroll("Bob", -print_, "m", consent=True)
    files = list((tmp_path / "vault").iterdir())
    assert len(files) == 2 and all(stat.S_IMODE(f.stat().st_mode) == 0o600 for f in files)
    raw = b"".join(f.read_bytes() for f in files)
    assert print_.tobytes()[:64] not in raw and b"Anna" not in raw and all("Anna" not in f.name for f in files)
    assert [p.name for p in vault.all()] == ["Anna", "Bob"]
    assert np.array_equal(vault.get("Anna").embedding, print_)
    other = VoiceprintVault(tmp_path / "vault", read_key(env={"VAGUS_VOICEPRINT_KEY": new_key()}))
    with pytest.raises(VaultError, match="does not open it"):
        other.all()
    assert vault.delete("Anna") and not vault.delete("Anna")
    assert [p.name for p in vault.all()] == ["Bob"]
    short = VoiceprintVault(tmp_path / "vault", key, retention_days=1e-9)  # everything is too old
    assert short.all() == [] and not list((tmp_path / "vault").iterdir())
    with pytest.raises(VaultError, match="no voiceprint key"):
        read_key(env={})
    with pytest.raises(VaultError, match="32 bytes"):
        read_key(env={"VAGUS_VOICEPRINT_KEY": "c2hvcnQ="})


def test_short_speech_is_decided_only_when_it_is_clear():
    assert decide(0.9, 0.3, 0.7) is Decision.UNSURE
    assert decide(0.8, 0.9, 0.7) is Decision.SAME
    assert decide(0.5, 0.9, 0.7) is Decision.OTHER
    assert decide(0.65, 0.9, 0.7) is Decision.UNSURE
    assert decide(0.69, 2.0, 0.7) is Decision.OTHER and decide(0.71, 2.0, 0.7) is Decision.SAME


async def test_the_first_voice_heard_long_enough_becomes_the_primary():
    a, b = np.eye(256, dtype=np.float32)[0], np.eye(256, dtype=np.float32)[1]

    async def encode(audio):  # type: ignore[no-untyped-def]
        return a if audio.max() > 0.25 else b

    lock = SpeakerLock(SpeakerConfig(lock="primary", implicit_after_s=3.0), encode, [])
    loud, quiet = np.full(32000, 0.3, np.float32), np.full(32000, 0.1, np.float32)
    identity, emb = await lock.identify(loud)
    assert identity.decision is Decision.UNSURE and not lock.active  # nobody to compare with yet
    assert not lock.learn(emb, 2.0)
    _, other = await lock.identify(quiet)
    assert not lock.learn(other, 2.0)  # another voice does not count towards the first one's lock
    assert lock.learn(emb, 2.0) and lock.active
    assert (await lock.identify(quiet))[0].decision is Decision.OTHER
    assert (await lock.identify(loud))[0].decision is Decision.SAME


def test_the_enroll_and_voiceprints_commands(tmp_path, capsys, monkeypatch):
    from vagus.cli import main

    monkeypatch.setenv("VAGUS_VOICEPRINT_KEY", new_key())
    config = tmp_path / "agent.yaml"
    config.write_text(f"perception: {{vault: {{path: {tmp_path / 'vault'}}}}}\n")
    reader = str(SPEAKERS / "reader_0870.flac")
    assert main(["enroll", "Reader", reader, "--config", str(config)]) == 2  # no consent: nothing stored
    assert "consent" in capsys.readouterr().err
    assert main(["enroll", "Cards", str(SPEAKERS / "cards_001.flac"), "--consent", "--config", str(config)]) == 2
    assert "needs at least 3 s" in capsys.readouterr().err  # too little speech
    assert main(["enroll", "Reader", reader, "--consent", "--config", str(config)]) == 0
    assert "enrolled Reader from" in capsys.readouterr().out
    assert main(["voiceprints", "list", "--config", str(config)]) == 0
    assert capsys.readouterr().out.startswith("Reader\tenrolled ")
    assert main(["voiceprints", "delete", "Reader", "--config", str(config)]) == 0
    assert main(["voiceprints", "delete", "Reader", "--config", str(config)]) == 2
    assert main(["voiceprints", "list", "--config", str(config)]) == 0
    assert "no voiceprints enrolled" in capsys.readouterr().out
    monkeypatch.setenv("VAGUS_VOICEPRINT_KEY", "bm90IGEga2V5")
    assert main(["voiceprints", "list", "--config", str(config)]) == 2
    assert "32 bytes" in capsys.readouterr().err
