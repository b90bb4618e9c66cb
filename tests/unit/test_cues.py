import numpy as np

from vagus.turns.cues import BackchannelTiming, CueVoice


def test_a_backchannel_needs_an_unfinished_pause_long_enough_in_a_long_enough_turn():
    timing = BackchannelTiming(after_silence_ms=700, min_turn_s=3.0, min_interval_s=8.0)
    assert not timing.due(4.6, 0.0, 4.0, unfinished=True)  # quiet for 600 ms only
    assert not timing.due(4.8, 0.0, 4.0, unfinished=False)  # judged complete: the turn is ending
    assert not timing.due(2.8, 0.0, 2.0, unfinished=True)  # a 2 s turn is too short
    assert not timing.due(4.8, None, 4.0, unfinished=True)  # no turn
    assert timing.due(4.8, 0.0, 4.0, unfinished=True)
    timing.played(4.8, 4.0)
    assert not timing.due(5.5, 0.0, 4.0, unfinished=True)  # once per silence
    assert not timing.due(10.0, 0.0, 9.2, unfinished=True)  # at most one per 8 s
    assert timing.due(13.0, 0.0, 12.2, unfinished=True)


class _FakeTts:
    name = "fake"
    sample_rate = 8000

    def __init__(self, fail: str = "") -> None:
        self.fail = fail

    async def stream(self, text):
        if text == self.fail:
            raise RuntimeError("synthesis failed")
        yield np.full(800, 0.25, np.float32)


async def test_cue_voice_says_its_phrases_in_turn_at_the_output_rate():
    voice = CueVoice(["Mm-hmm.", "", "Okay."], _FakeTts(), output_rate=16000)
    assert voice.next() is None and not voice.ready  # nothing before it is prepared
    await voice.prepare()
    first, second, third = voice.next(), voice.next(), voice.next()
    assert [first[0], second[0], third[0]] == ["Mm-hmm.", "Okay.", "Mm-hmm."]
    assert len(first[1]) == 1600 and first[1].dtype == np.float32  # 0.1 s resampled 8 → 16 kHz


async def test_a_phrase_that_cannot_be_synthesised_is_left_out():
    voice = CueVoice(["Mm-hmm.", "Okay."], _FakeTts(fail="Mm-hmm."), output_rate=8000)
    await voice.prepare()
    assert voice.next()[0] == "Okay." and voice.next()[0] == "Okay."
