import pytest

from vagus.config import EndOfTurnConfig as SemanticWaits
from vagus.config import TurnConfig
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
    ep = SilenceEndpointer(TurnConfig(silence_ms=500, min_utterance_ms=150))
    ep.speech_started(1.0)
    ep.speech_stopped(2.0)
    assert ep.check(2.48) is None
    decision = ep.check(2.50)
    assert decision is not None
    assert (decision.speech_start, decision.speech_end, decision.decided, decision.reason) == (1.0, 2.0, 2.5, "silence")
    assert not ep.in_turn


def test_speech_resuming_inside_the_window_continues_the_turn():
    ep = SilenceEndpointer(TurnConfig(silence_ms=500))
    ep.speech_started(0.0)
    ep.speech_stopped(1.0)
    assert ep.check(1.3) is None
    ep.speech_started(1.4)
    assert ep.check(2.0) is None  # still speaking
    ep.speech_stopped(2.2)
    decision = ep.check(2.7)
    assert decision is not None and decision.speech_start == 0.0 and decision.speech_end == 2.2


def test_too_short_speech_is_dropped_as_noise():
    ep = SilenceEndpointer(TurnConfig(silence_ms=300, min_utterance_ms=150))
    ep.speech_started(1.0)
    ep.speech_stopped(1.1)
    assert run(ep, 3.0) is None
    assert not ep.in_turn


def test_overlong_speech_is_cut_at_max_length():
    ep = SilenceEndpointer(TurnConfig(silence_ms=500, max_utterance_s=5))
    ep.speech_started(0.0)
    decision = run(ep, 10.0)
    assert decision is not None and decision.reason == "max_length" and decision.decided == pytest.approx(5.0)


def test_rejects_nonpositive_silence():
    with pytest.raises(ValueError):
        SilenceEndpointer(TurnConfig(silence_ms=0))


def semantic_endpointer(**waits):
    return SilenceEndpointer(
        TurnConfig(silence_ms=500, min_utterance_ms=150, end_of_turn=SemanticWaits(**waits)), semantic=True
    )


def test_a_complete_utterance_ends_after_the_short_wait():
    ep = semantic_endpointer(complete_silence_ms=200, incomplete_silence_ms=1500)
    ep.speech_started(0.0)
    assert ep.prediction_due(0.5) is None  # still speaking
    ep.speech_stopped(1.0)
    assert ep.prediction_due(1.16) == 1.0
    assert ep.prediction_due(1.18) is None  # once per silence
    assert ep.check(1.25) is None  # no answer yet: the long wait applies
    ep.set_probability(1.0, 0.9)
    decision = ep.check(1.25)
    assert decision is not None and decision.reason == "model_complete" and decision.probability == 0.9


def test_an_unfinished_utterance_waits_long_and_resumed_speech_continues_the_turn():
    ep = semantic_endpointer(complete_silence_ms=200, incomplete_silence_ms=1500)
    ep.speech_started(0.0)
    ep.speech_stopped(1.0)
    assert ep.prediction_due(1.16) == 1.0
    ep.set_probability(1.0, 0.1)
    assert ep.check(2.0) is None
    ep.speech_started(2.2)  # "…um, book a table"
    ep.set_probability(1.0, 0.99)  # a stale answer for the old silence is ignored
    ep.speech_stopped(3.0)
    assert ep.probability is None and ep.prediction_due(3.16) == 3.0
    ep.set_probability(3.0, 0.8)
    decision = ep.check(3.2)
    assert decision is not None and decision.speech_start == 0.0 and decision.speech_end == 3.0


def test_the_model_is_asked_before_the_vad_is_sure_and_its_answer_waits_for_the_stop():
    ep = semantic_endpointer(complete_silence_ms=200, incomplete_silence_ms=1500, predict_after_ms=96)
    ep.speech_started(0.0)
    assert ep.prediction_due(1.05, silent_since=1.0) is None  # quiet for 50 ms only
    assert ep.prediction_due(1.1, silent_since=1.0) == 1.0
    assert ep.prediction_due(1.12, silent_since=1.0) is None  # once per silence
    ep.set_probability(1.0, 0.9)
    assert ep.probability is None and ep.check(1.12) is None  # the VAD still says speaking
    ep.speech_stopped(1.0)  # the VAD confirms the same silence: the answer is already there
    assert ep.probability == 0.9 and ep.prediction_due(1.16) is None
    decision = ep.check(1.21)
    assert decision is not None and decision.reason == "model_complete" and decision.decided == 1.21


def test_an_answer_for_a_gap_between_words_is_not_used_for_the_real_stop():
    ep = semantic_endpointer(complete_silence_ms=200, incomplete_silence_ms=1500, predict_after_ms=96)
    ep.speech_started(0.0)
    assert ep.prediction_due(0.6, silent_since=0.5) == 0.5
    ep.set_probability(0.5, 0.95)  # the gap between two words sounded final
    assert ep.prediction_due(1.1, silent_since=1.0) == 1.0  # a new quiet run: asked again
    ep.speech_stopped(1.0)
    assert ep.probability is None  # the answer for 1.0 has not come: the long wait applies
    assert ep.check(1.3) is None
    ep.set_probability(1.0, 0.2)
    assert ep.check(1.6) is None and ep.check(2.5) is not None


def test_an_early_unfinished_is_asked_again_once_the_vad_is_sure():
    ep = semantic_endpointer(complete_silence_ms=150, incomplete_silence_ms=1500, predict_after_ms=64)
    ep.speech_started(0.0)
    assert ep.prediction_due(1.07, silent_since=1.0) == 1.0
    ep.speech_stopped(1.0)
    assert ep.prediction_due(1.13) is None  # the early answer is not in yet
    ep.set_probability(1.0, 0.2)
    assert ep.prediction_due(1.14) == 1.0  # unfinished on 64 ms of silence: ask again
    assert ep.prediction_due(1.15) is None  # only once
    ep.set_probability(1.0, 0.9)
    assert ep.check(1.22).reason == "model_complete"


def test_a_finished_transcript_ends_a_turn_the_model_called_unfinished():
    ep = semantic_endpointer(complete_silence_ms=150, incomplete_silence_ms=1500, text_silence_ms=600)
    ep.speech_started(0.0)
    ep.speech_stopped(2.0)
    assert ep.text_due() is None  # no model answer yet
    assert ep.prediction_due(2.13) == 2.0
    ep.set_probability(2.0, 0.1)
    assert ep.text_due() == 2.0 and ep.text_due() is None  # once per silence
    assert ep.check(2.55) is None
    ep.set_text_finished(2.0)  # "I was thinking that maybe we could go to the park."
    assert ep.check(2.59) is None
    decision = ep.check(2.61)
    assert decision is not None and decision.reason == "text_complete" and decision.probability == 0.1


def test_a_transcript_for_an_earlier_silence_does_not_count():
    ep = semantic_endpointer(complete_silence_ms=150, incomplete_silence_ms=1500, text_silence_ms=600)
    ep.speech_started(0.0)
    ep.speech_stopped(1.0)
    ep.prediction_due(1.13)
    ep.set_probability(1.0, 0.1)
    assert ep.text_due() == 1.0
    ep.speech_started(1.3)  # the user goes on before the transcript is back
    ep.set_text_finished(1.0)
    ep.speech_stopped(2.0)
    assert ep.check(2.7) is None  # 600 ms would have ended it; the long wait applies
    assert ep.check(3.5).reason == "silence"


def test_a_complete_answer_needs_no_transcript():
    ep = semantic_endpointer()
    ep.speech_started(0.0)
    ep.speech_stopped(1.0)
    ep.prediction_due(1.13)
    ep.set_probability(1.0, 0.9)
    assert ep.text_due() is None


def test_without_an_answer_the_turn_still_ends_after_the_long_wait():
    ep = semantic_endpointer(complete_silence_ms=200, incomplete_silence_ms=1500)
    ep.speech_started(0.0)
    ep.speech_stopped(1.0)
    ep.prediction_due(1.16)
    decision = ep.check(2.5)
    assert decision is not None and decision.reason == "silence" and decision.probability is None


def test_too_short_speech_is_not_judged_and_waits_are_validated():
    ep = semantic_endpointer()
    ep.speech_started(0.0)
    ep.speech_stopped(0.05)
    assert ep.prediction_due(0.2) is None
    with pytest.raises(ValueError):
        SemanticWaits(complete_silence_ms=2000, incomplete_silence_ms=1000)
    with pytest.raises(ValueError):
        SemanticWaits(threshold=1.5)
    with pytest.raises(ValueError):
        SemanticWaits(predict_after_ms=-1)


def test_a_turn_can_be_held_for_a_longer_silence_once():
    ep = semantic_endpointer()
    ep.speech_started(0.0)
    ep.speech_stopped(1.0)
    ep.set_probability(1.0, 0.95)  # complete: 150 ms would do
    ep.hold_at_least(0.6)
    assert ep.check(1.5) is None
    decision = ep.check(1.6)
    assert decision is not None and decision.reason == "model_complete"
    ep.speech_started(2.0)  # the next turn is not held
    ep.speech_stopped(3.0)
    ep.set_probability(3.0, 0.95)
    assert ep.check(3.16) is not None
