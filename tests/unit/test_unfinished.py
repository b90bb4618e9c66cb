import pytest

from vagus.turns.unfinished import UnfinishedText


@pytest.mark.parametrize(
    "text",
    [
        "So the thing is...",  # Whisper's ellipsis for a voice that trails off
        "My name is…",
        "Wait,",
        "I want to",  # no final punctuation
        "I was thinking that maybe.",
        "Could you tell me?",
        "I'd like a table for two and",
        "Book it for the.",
        "My name is.",
        "Tell me about.",
        "What about?",
        "Let me think.",
        "我想问一下那个。",
        "因为，",
    ],
)
def test_words_that_stop_mid_sentence_are_unfinished(text):
    assert UnfinishedText().unfinished(text)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "Thank you.",
        "Maybe.",
        "What is 7 times 6?",
        "Where are you from?",
        "Do you know where the station is?",
        "Could you tell me how far away the moon is?",
        "I would like to book a table for two.",
        "Stop, please!",
        "What are you talking about?",
        "Who are you with?",
        "今天天气怎么样？",
        'He said "yes."',
    ],
)
def test_finished_sentences_are_not(text):
    assert not UnfinishedText().unfinished(text)


def test_extra_endings_and_unpunctuated_transcripts():
    assert UnfinishedText(["as well as"]).unfinished("I like tea as well as.")
    assert UnfinishedText(["然后呢"]).unfinished("我们去公园然后呢。")
    relaxed = UnfinishedText(require_final_punctuation=False)
    assert not relaxed.unfinished("what time is it")
    assert relaxed.unfinished("what time is it and")
