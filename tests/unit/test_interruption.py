import pytest

from vagus.turns.interruption import BackchannelMatcher, normalise


@pytest.mark.parametrize(
    "text",
    ["Mm-hmm.", "Mhm", "Uh-huh.", "Yeah.", "Yeah, yeah.", "Okay.", "Oh, I see.", "Right, got it.", "Hmm", "嗯", "嗯嗯",
     "对对对", "好的。", "是的", "Emm.", "M-H-M.", "MMM.",
     "And mm-hmm.", "And then?", "Um-hmm.", "Umm-hmm"],
)  # fmt: skip
def test_backchannels_and_fillers_in_english_and_chinese(text):
    assert BackchannelMatcher().classify(text) == "backchannel"


@pytest.mark.parametrize(
    "text", ["Stop.", "Wait, stop please.", "Yeah, but why?", "No, that's wrong.", "等一下", "不对"]
)
def test_anything_else_is_speech(text):
    assert BackchannelMatcher().classify(text) == "speech"


def test_nothing_transcribed_is_nothing():
    assert BackchannelMatcher().classify("") == "nothing"
    assert BackchannelMatcher().classify(" ... ") == "nothing"


def test_our_own_words_coming_back_are_echo_but_a_single_shared_word_is_not():
    agent = "Rome was founded, the legend says, in seven hundred fifty three before Christ."
    matcher = BackchannelMatcher()
    assert matcher.classify("the legend says Rome was founded", agent) == "echo"
    assert matcher.classify("Rome?", agent) == "speech"
    assert matcher.classify("tell me about Paris instead", agent) == "speech"


def test_extra_phrases_from_the_config():
    matcher = BackchannelMatcher(["carry on", "继续"])
    assert matcher.classify("Carry on.") == "backchannel"
    assert matcher.classify("继续") == "backchannel"
    assert BackchannelMatcher().classify("Carry on.") == "speech"


def test_normalise_joins_hyphenated_sounds_and_drops_punctuation():
    assert normalise("Mm-hm, OKAY!") == ["mmhm", "okay"]
