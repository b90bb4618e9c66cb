import numpy as np

from vagus.turns.utterance import UtteranceRecorder

R = 1000


def feed(recorder, start_s, seconds, value):
    for i in range(int(seconds * 100)):
        recorder.push(np.full(R // 100, value, np.float32), start_s + i / 100)


def test_pre_roll_then_peek_without_stopping_then_take():
    recorder = UtteranceRecorder(R, preroll_ms=100)
    feed(recorder, 0.0, 1.0, 0.1)  # before the speech: only the last 100 ms (+ margin) are kept
    recorder.start(1.0)
    feed(recorder, 1.0, 0.5, 0.5)
    peeked = recorder.peek()
    assert recorder.recording and np.isclose(peeked[-1], 0.5)
    assert 0.55 * R <= len(peeked) <= 0.65 * R  # pre-roll + speech so far
    assert len(recorder.peek(last_s=0.2)) == 0.2 * R
    feed(recorder, 1.5, 0.1, 0.7)
    taken = recorder.take()
    assert len(taken) == len(peeked) + 0.1 * R and not recorder.recording
    assert len(recorder.peek()) == 0
