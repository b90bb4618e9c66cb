import numpy as np

from vagus.turns.playout import Playout


def make():
    events = []
    playout = Playout(
        1000, on_started=lambda t: events.append(("start", t)), on_finished=lambda t, i: events.append(("stop", t, i))
    )
    return playout, events


def test_silence_when_nothing_queued():
    playout, events = make()
    out = playout.pull(20)
    assert out.shape == (20,) and not out.any() and events == []


def test_plays_in_order_across_block_edges_and_reports_start_and_finish():
    playout, events = make()
    playout.begin(7)
    s0 = playout.add_sentence("one two")
    playout.enqueue(s0, np.full(30, 0.1, np.float32))
    playout.enqueue(s0, np.full(30, 0.2, np.float32))
    playout.sentence_done(s0)
    playout.close()
    a = playout.pull(40)
    assert events == [("start", 7)]
    assert np.allclose(a[:30], 0.1) and np.allclose(a[30:], 0.2)
    b = playout.pull(40)
    assert np.allclose(b[:20], 0.2) and not b[20:].any()
    assert events[-1] == ("stop", 7, False)
    assert playout.heard_text() == "one two"


def test_interrupt_silences_the_next_frame_and_reports_what_was_heard():
    playout, events = make()
    playout.begin(1)
    first = playout.add_sentence("The first sentence is here.")
    playout.enqueue(first, np.ones(100, np.float32))
    playout.sentence_done(first)
    second = playout.add_sentence("And then a second one with eight words.")
    playout.enqueue(second, np.ones(400, np.float32))
    playout.sentence_done(second)
    playout.pull(100)
    playout.pull(200)  # half of the second sentence
    heard = playout.interrupt()
    assert heard == "The first sentence is here. And then a second"
    assert not playout.pull(20).any()
    assert events[-1] == ("stop", 1, True)
    assert not playout.active and not playout.speaking


def test_enqueue_after_interrupt_is_ignored():
    playout, _ = make()
    playout.begin(1)
    s = playout.add_sentence("hello")
    playout.interrupt()
    playout.enqueue(s, np.ones(10, np.float32))
    assert not playout.pull(10).any()


def test_pause_holds_the_answer_and_resume_goes_on_where_it_stopped():
    playout, events = make()
    playout.begin(3)
    s = playout.add_sentence("one two three four")
    playout.enqueue(s, np.arange(1, 101, dtype=np.float32))
    playout.sentence_done(s)
    playout.close()
    first = playout.pull(40)
    playout.pause()
    assert playout.paused and playout.speaking
    assert not playout.pull(30).any()  # silent from the next frame, nothing consumed
    assert playout.heard_text() == "one"
    playout.resume()
    rest = playout.pull(60)
    assert first[-1] == 40 and rest[0] == 41 and rest[-1] == 100
    assert events[-1] == ("stop", 3, False)  # played to the end, not interrupted


def test_an_answer_that_ran_out_while_paused_finishes_on_resume():
    playout, events = make()
    playout.begin(4)
    s = playout.add_sentence("short")
    playout.enqueue(s, np.ones(10, np.float32))
    playout.pull(10)
    playout.pause()
    playout.close()  # the answer ended during the pause
    assert playout.speaking
    playout.resume()
    assert not playout.speaking and events[-1] == ("stop", 4, False)


def test_a_cue_plays_ahead_of_the_answer_and_is_not_part_of_it():
    playout, events = make()
    playout.cue(np.full(30, 0.5, np.float32))
    assert playout.cueing
    playout.begin(3)
    s0 = playout.add_sentence("the answer")
    playout.enqueue(s0, np.full(40, 0.1, np.float32))
    a = playout.pull(20)
    assert np.allclose(a, 0.5) and events == []  # the cue is no answer: no start callback
    b = playout.pull(20)
    assert np.allclose(b[:10], 0.5) and not b[10:].any() and not playout.cueing  # cue ends on its own frame
    c = playout.pull(20)
    assert np.allclose(c, 0.1) and events == [("start", 3)]
    assert playout.heard_text() == "the"  # half of the sentence: the cue counts for nothing
    playout.pull(20)
    playout.sentence_done(s0)
    playout.close()
    assert playout.heard_text() == "the answer"


def test_dropping_a_cue_silences_the_next_frame():
    playout, events = make()
    playout.cue(np.full(100, 0.5, np.float32))
    assert playout.pull(20).any()
    playout.drop_cue()
    assert not playout.pull(20).any() and not playout.cueing and events == []


def test_what_was_heard_at_a_clients_position():
    playout = Playout(1000)
    playout.begin(1)
    first = playout.add_sentence("One two three four.")
    playout.enqueue(first, np.ones(400, np.float32))
    playout.sentence_done(first)
    second = playout.add_sentence("Five six.")
    playout.enqueue(second, np.ones(200, np.float32))
    assert playout.heard_text_at(0) == ""
    assert playout.heard_text_at(200) == "One two"
    assert playout.heard_text_at(400) == "One two three four."
    assert playout.heard_text_at(500) == "One two three four. Five"  # the second is still being made
    assert playout.heard_text_at(10_000) == "One two three four. Five six."
