"""The double-talk detector on block powers, and AEC3 with its linear path on real speech."""

import numpy as np
import pytest

from vagus.audio.room import EchoPath
from vagus.audio.wav import read_audio
from vagus.senses.double_talk import DoubleTalkDetector
from vagus.senses.echo import Aec3Echo, SpeexEcho

R = 16000


def db_to_power(dbfs: float) -> float:
    return 10.0 ** (dbfs / 10.0)


def echo_only(detector: DoubleTalkDetector, blocks: int, erle_db: float = 20.0, mic_dbfs: float = -20.0) -> list[bool]:
    """Blocks of echo alone: the linear filter removes `erle_db`, AEC3 nearly all of it."""
    mic = db_to_power(mic_dbfs)
    return [detector.process(mic, mic / 10 ** (erle_db / 10), mic * 1e-5, 1e-3) for _ in range(blocks)]


def test_learns_the_linear_filter_and_stays_off_on_echo_alone():
    detector = DoubleTalkDetector()
    assert not any(echo_only(detector, 300))
    assert detector.erle_db == pytest.approx(20.0, abs=0.5) and detector.converged


def test_a_user_over_the_echo_is_double_talk_within_two_blocks():
    detector = DoubleTalkDetector()
    echo_only(detector, 300)
    mic_echo, user = db_to_power(-20.0), db_to_power(-26.0)  # the user 6 dB under the echo
    linear = mic_echo / 100 + user  # the linear output keeps the user
    # AEC3 removes the user with the echo (the case this exists for): its output stays tiny
    states = [detector.process(mic_echo + user, linear, 1e-9, 1e-3) for _ in range(10)]
    assert states[:2] == [False, True] or states[:1] == [True]
    assert all(states[2:])
    assert detector.erle_db > 19.0  # double talk barely moved the learned ERLE
    # the user stops: double talk ends after the hold
    after = echo_only(detector, 5)
    assert after[-1] is False


def test_nothing_is_declared_before_the_filter_has_converged_or_while_the_agent_is_silent():
    detector = DoubleTalkDetector()
    loud = db_to_power(-20.0)
    assert not any(detector.process(loud, loud, 1e-9, 1e-3) for _ in range(20))  # nothing learned yet
    echo_only(detector, 300)
    silent = [detector.process(loud, loud, 1e-9, 0.0) for _ in range(100)]  # the agent stopped talking
    assert not any(silent[60:])  # once its echo can no longer be in the microphone (600 ms)


def test_quiet_blocks_are_never_double_talk():
    detector = DoubleTalkDetector(min_level_dbfs=-40.0)
    echo_only(detector, 300)
    quiet = db_to_power(-50.0)
    assert not any(detector.process(quiet, quiet, 1e-12, 1e-3) for _ in range(20))


def test_a_linear_filter_out_of_tune_is_never_double_talk_and_is_relearned():
    detector = DoubleTalkDetector()
    echo_only(detector, 300)
    mic = db_to_power(-20.0)
    # the echo path changed: the linear filter removes nothing, AEC3 (still converged) everything
    states = [detector.process(mic, mic, mic * 1e-5, 1e-3) for _ in range(250)]
    assert not any(states)
    assert not detector.converged  # its ERLE is learned anew
    # half out of tune (6 dB removed instead of 20): excess, but AEC3 hears echo only — vetoed
    detector = DoubleTalkDetector()
    echo_only(detector, 300)
    states = [detector.process(mic, mic / 4, mic * 1e-5, 1e-3) for _ in range(100)]
    assert sum(states) <= 25


def test_bad_margins_are_refused():
    with pytest.raises(ValueError, match="stay_margin_db"):
        DoubleTalkDetector(enter_margin_db=4.0, stay_margin_db=6.0)


def test_speex_keeps_its_alignment_while_the_delay_estimate_jitters():
    engine = SpeexEcho(200)
    estimator = engine.estimator
    estimator.delay_samples = 60 * 16
    assert engine._aligned_shift() == 0  # 60 ms lies inside the filter's span: no pre-delay
    estimator.delay_samples = 300 * 16
    shift = engine._aligned_shift()
    assert shift == 280 * 16
    for jitter in (-3, 2, 40):
        estimator.delay_samples = 300 * 16 + jitter
        assert engine._aligned_shift() == shift


def _user_retained_db(out: np.ndarray, user: np.ndarray, at: slice) -> float:
    """How loud the user's part of `out` is relative to the user (projection on the user's signal)."""
    u, o = user[at].astype(np.float64), out[at].astype(np.float64)
    gain = float(np.dot(o, u) / np.dot(u, u))
    return 20 * np.log10(max(abs(gain), 1e-6))


def _speech_only(fixtures_dir) -> np.ndarray:
    """The fixtures' speech without their silences: an agent that talks on and on."""
    parts = {"long_question": [(0.6, 3.13)], "two_questions": [(0.8, 2.33), (6.33, 7.68)], "barge_in": [(0.6, 2.96)]}
    pieces = []
    for name, spans in parts.items():
        audio, _ = read_audio(fixtures_dir / f"{name}.wav")
        pieces += [audio[int(a * R) : int(b * R)] for a, b in spans]
    return np.concatenate(pieces * 2)


def test_aec3_with_the_linear_path_keeps_the_user_over_a_loud_echo(fixtures_dir):
    far = _speech_only(fixtures_dir)
    words, _ = read_audio(fixtures_dir / "barge_in.wav")
    user = np.zeros_like(far)
    user[10 * R : 10 * R + int(1.5 * R)] = words[int(6.9 * R) : int(8.4 * R)] * 0.7  # "Wait, stop please."
    path = EchoPath(R, 60, 0.0)
    path.feed(far)
    mic = path.take(len(far)) + user
    n = len(far) - len(far) % 160
    plain, linear = Aec3Echo(double_talk=False), Aec3Echo(double_talk=True)
    out_plain = np.concatenate([plain.process(mic[i : i + 160], far[i : i + 160]) for i in range(0, n, 160)])
    out_dt = np.concatenate([linear.process(mic[i : i + 160], far[i : i + 160]) for i in range(0, n, 160)])
    words_at = slice(10 * R, 10 * R + int(1.5 * R))
    kept_dt, kept_plain = _user_retained_db(out_dt, user, words_at), _user_retained_db(out_plain, user, words_at)
    assert kept_dt > kept_plain + 3, (kept_dt, kept_plain)
    assert linear.double_talk is not None and linear.double_talk.double_talk_blocks > 20
    # echo alone: the same cancellation as AEC3 alone
    alone = slice(4 * R, 10 * R)
    talk = np.abs(far[alone]) > 0.01
    erle = 10 * np.log10(np.mean(mic[alone][talk] ** 2) / (np.mean(out_dt[alone][talk] ** 2) + 1e-12))
    assert erle > 25


def test_double_talk_that_aec3_hears_as_echo_alone_for_250_ms_is_ended():
    detector = DoubleTalkDetector()
    echo_only(detector, 300)
    mic = db_to_power(-20.0)
    linear = mic / 100 * 20  # 13 dB more than the learned ERLE leaves: looks like double talk…
    states = [detector.process(mic, linear, mic * 1e-5, 1e-3) for _ in range(60)]  # …AEC3: echo only
    assert states[1] and all(states[1:24])
    assert not any(states[26:])  # vetoed at 250 ms, and no re-entry for the next 500 ms
    # where AEC3 passes some of it (a real user), the same excess stays double talk
    detector = DoubleTalkDetector()
    echo_only(detector, 300)
    states = [detector.process(mic, linear, mic * 1e-2, 1e-3) for _ in range(60)]
    assert all(states[2:])
