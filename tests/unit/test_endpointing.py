import pytest

from vagus.turns.endpointing import SilenceEndpointer


def run(endpointer, until, step=0.02):
    t = 0.0
    while t <= until + 1e-9:
        decision = endpointer.check(t)
        if decision is not None:
            return decision
        t = round(t + step, 6)
    return None


def test_turn_ends_exactly_after_the_silence_window():
    ep = SilenceEndpointer(silence_ms=500, min_utterance_ms=150)
    ep.speech_started(1.0)
    ep.speech_stopped(2.0)
    assert ep.check(2.48) is None
    decision = ep.check(2.50)
    assert decision is not None
    assert (decision.speech_start, decision.speech_end, decision.decided, decision.reason) == (1.0, 2.0, 2.5, "silence")
    assert not ep.in_turn


def test_speech_resuming_inside_the_window_continues_the_turn():
    ep = SilenceEndpointer(silence_ms=500)
    ep.speech_started(0.0)
    ep.speech_stopped(1.0)
    assert ep.check(1.3) is None
    ep.speech_started(1.4)
    assert ep.check(2.0) is None  # still speaking
    ep.speech_stopped(2.2)
    decision = ep.check(2.7)
    assert decision is not None and decision.speech_start == 0.0 and decision.speech_end == 2.2


def test_too_short_speech_is_dropped_as_noise():
    ep = SilenceEndpointer(silence_ms=300, min_utterance_ms=150)
    ep.speech_started(1.0)
    ep.speech_stopped(1.1)
    assert run(ep, 3.0) is None
    assert not ep.in_turn


def test_overlong_speech_is_cut_at_max_length():
    ep = SilenceEndpointer(silence_ms=500, max_utterance_s=5)
    ep.speech_started(0.0)
    decision = run(ep, 10.0)
    assert decision is not None and decision.reason == "max_length" and decision.decided == pytest.approx(5.0)


def test_rejects_nonpositive_silence():
    with pytest.raises(ValueError):
        SilenceEndpointer(silence_ms=0)
