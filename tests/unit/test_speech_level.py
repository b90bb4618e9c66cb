import numpy as np
import pytest

from vagus.turns.speech_level import SpeechLevelGate

R = 16000
FRAME = 320  # 20 ms


def tone(level_db: float, n: int = FRAME) -> np.ndarray:
    """A sine whose mean power is `level_db` dBFS."""
    amplitude = np.sqrt(2 * 10 ** (level_db / 10))
    return (amplitude * np.sin(2 * np.pi * 220 * np.arange(n) / R)).astype(np.float32)


def learned(gate: SpeechLevelGate, levels_db: list[float]) -> SpeechLevelGate:
    for i, level in enumerate(levels_db):
        gate.observe(tone(level), i * 0.02, R, learn=True)
    return gate


def test_unknown_until_enough_of_the_users_speech_was_heard():
    gate = learned(SpeechLevelGate(learn_after_s=0.5), [-20.0] * 20)  # 0.4 s
    assert gate.level_db is None and gate.loud_seconds(0.0) is None
    gate.observe(tone(-20.0, FRAME * 5), 0.4, R, learn=True)
    assert gate.level_db == pytest.approx(-20.0, abs=0.1)


def test_the_level_is_that_of_the_voiced_frames_not_the_pauses_between_words():
    gate = learned(SpeechLevelGate(), [-18.0] * 70 + [-60.0] * 30)
    assert gate.level_db == pytest.approx(-18.0, abs=0.1)


def test_frames_heard_without_learning_do_not_move_the_level():
    gate = learned(SpeechLevelGate(), [-20.0] * 50)
    for i in range(200):
        gate.observe(tone(-45.0), 1.0 + i * 0.02, R, learn=False)  # the agent's echo
    assert gate.level_db == pytest.approx(-20.0, abs=0.1)


def test_only_frames_within_the_margin_count_and_only_since_the_onset():
    gate = learned(SpeechLevelGate(margin_db=15.0), [-20.0] * 50)
    t = 2.0
    for level in (-20.0, -20.0, -40.0, -36.0, -34.0, -22.0):  # -36 is beyond the 15 dB margin, -34 within
        gate.observe(tone(level), t, R, learn=False)
        t += 0.02
    assert gate.loud_seconds(2.0) == pytest.approx(0.08)
    assert gate.loud_seconds(2.04) == pytest.approx(0.04)
    assert gate.loud_seconds(2.03) == pytest.approx(0.05)  # a frame counts only for its part after the onset
    assert gate.loud_seconds(2.01) == pytest.approx(0.07)


def test_the_level_follows_the_user_over_time():
    gate = learned(SpeechLevelGate(memory_s=2.0), [-30.0] * 100)
    assert gate.level_db == pytest.approx(-30.0, abs=0.1)
    learned(gate, [-15.0] * 200)  # they moved closer; the oldest frames are forgotten
    assert gate.level_db == pytest.approx(-15.0, abs=0.1)


def test_old_frames_leave_the_recent_history():
    gate = learned(SpeechLevelGate(history_s=1.0), [-20.0] * 50)
    assert gate.loud_seconds(0.0) == pytest.approx(1.02, abs=0.03)


def test_a_non_positive_margin_is_refused():
    with pytest.raises(ValueError, match="margin_db"):
        SpeechLevelGate(margin_db=0)
