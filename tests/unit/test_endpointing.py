import pytest

from vagus.turns.endpointing import SemanticWaits, SilenceEndpointer


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


def semantic_endpointer(**waits):
    return SilenceEndpointer(silence_ms=500, min_utterance_ms=150, semantic=SemanticWaits(**waits))


def test_a_complete_utterance_ends_after_the_short_wait():
    ep = semantic_endpointer(complete_silence_ms=200, incomplete_silence_ms=1500)
    ep.speech_started(0.0)
    assert ep.prediction_due() is None  # still speaking
    ep.speech_stopped(1.0)
    assert ep.prediction_due() == 1.0
    assert ep.prediction_due() is None  # once per silence
    assert ep.check(1.25) is None  # no answer yet: the long wait applies
    ep.set_probability(1.0, 0.9)
    decision = ep.check(1.25)
    assert decision is not None and decision.reason == "model_complete" and decision.probability == 0.9


def test_an_unfinished_utterance_waits_long_and_resumed_speech_continues_the_turn():
    ep = semantic_endpointer(complete_silence_ms=200, incomplete_silence_ms=1500)
    ep.speech_started(0.0)
    ep.speech_stopped(1.0)
    assert ep.prediction_due() == 1.0
    ep.set_probability(1.0, 0.1)
    assert ep.check(2.0) is None
    ep.speech_started(2.2)  # "…um, book a table"
    ep.set_probability(1.0, 0.99)  # a stale answer for the old silence is ignored
    ep.speech_stopped(3.0)
    assert ep.probability is None and ep.prediction_due() == 3.0
    ep.set_probability(3.0, 0.8)
    decision = ep.check(3.2)
    assert decision is not None and decision.speech_start == 0.0 and decision.speech_end == 3.0


def test_without_an_answer_the_turn_still_ends_after_the_long_wait():
    ep = semantic_endpointer(complete_silence_ms=200, incomplete_silence_ms=1500)
    ep.speech_started(0.0)
    ep.speech_stopped(1.0)
    ep.prediction_due()
    decision = ep.check(2.5)
    assert decision is not None and decision.reason == "silence" and decision.probability is None


def test_too_short_speech_is_not_judged_and_waits_are_validated():
    ep = semantic_endpointer()
    ep.speech_started(0.0)
    ep.speech_stopped(0.05)
    assert ep.prediction_due() is None
    with pytest.raises(ValueError):
        SemanticWaits(complete_silence_ms=2000, incomplete_silence_ms=1000)
    with pytest.raises(ValueError):
        SemanticWaits(threshold=1.5)
