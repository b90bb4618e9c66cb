from datetime import datetime

import pytest

from vagus.brain.context import Conversation
from vagus.brain.sentences import SentenceSplitter, stream_sentences
from vagus.brain.speech_text import speakable
from vagus.services.llm.offline import OfflineBrain


def split(deltas, **kw):
    splitter = SentenceSplitter(**kw)
    out = []
    for d in deltas:
        out += splitter.push(d)
    return out + splitter.flush()


def test_sentences_are_released_as_soon_as_they_end():
    splitter = SentenceSplitter()
    assert splitter.push("Hello there") == []
    assert splitter.push(".") == ["Hello there."]  # on its terminator token: no wait for the next one
    assert splitter.push(" It is 3") == []
    assert splitter.push(".") == []  # 3.5 or the end? the next character decides
    assert splitter.push("5 now, e.g") == []
    assert splitter.push(".") == []
    assert splitter.push(" later") == []
    assert splitter.push("?") == ["It is 3.5 now, e.g. later?"]
    assert splitter.push("!") == []  # the rest of "?!" is nothing to say
    assert splitter.push(" Fine") == []
    assert splitter.flush() == ["Fine"]


def test_abbreviations_decimals_and_initials_do_not_split():
    text = "Dr. Smith paid 3.50 dollars at 5 p.m. on Main St. yesterday. Then J. R. left! Done"
    assert split(list(text)) == [
        "Dr. Smith paid 3.50 dollars at 5 p.m. on Main St. yesterday.",
        "Then J. R. left!",
        "Done",
    ]


def test_long_first_sentence_is_cut_at_a_clause_but_later_ones_are_not():
    text = (
        "Well, that depends on a great many things, most of all the weather, really. And later, on other things, too."
    )
    out = split([text[i : i + 5] for i in range(0, len(text), 5)])
    assert out[0] == "Well, that depends on a great many things,"
    assert out[-1] == "And later, on other things, too."


def test_newlines_and_cjk_terminators_split():
    assert split(["One\nTwo\n", "你好。再见"]) == ["One", "Two", "你好。", "再见"]


async def test_stream_sentences():
    async def deltas():
        for d in ["It is ", "fine. ", "Really."]:
            yield d

    assert [s async for s in stream_sentences(deltas())] == ["It is fine.", "Really."]


def test_speakable_strips_markdown_and_links():
    text = "## Tips\n- **Drink** water\n1. Read [the docs](https://x.io/a) or https://example.com/page\n`code`"
    assert speakable(text) == "Tips Drink water Read the docs or a link code"


def test_a_perception_tag_the_model_writes_back_is_never_said():
    assert speakable("If you need help, ask me. [sounds: upset, fast: how their voice sounded]") == (
        "If you need help, ask me."
    )
    assert speakable("Sure. [Sounds: calm") == "Sure."  # cut off at the end of a sentence
    assert speakable("The [sound] of music.") == "The [sound] of music."
    assert speakable("2 + 2 = [broken; they heard only this]") == "2 + 2 ="


def test_context_keeps_newest_within_budget_and_marks_interruptions():
    conv = Conversation("sys", max_tokens=60)
    for i in range(20):
        conv.add_user(f"question number {i} " * 2)
        conv.add_assistant(f"answer {i}")
    conv.add_assistant("I was saying", interrupted=True)
    messages = conv.messages()
    assert messages[0] == {"role": "system", "content": "sys"}
    assert 2 < len(messages) < 20
    assert messages[-1]["content"].startswith("I was saying [interrupted")
    with pytest.raises(ValueError):
        Conversation("sys", max_tokens=10)


def brain_reply(*users):
    brain = OfflineBrain(now=lambda: datetime(2026, 11, 24, 15, 7))
    messages = []
    for u in users:
        messages.append({"role": "user", "content": u})
        reply = brain.reply(messages)
        messages.append({"role": "assistant", "content": reply})
    return reply


@pytest.mark.parametrize(
    ("said", "expected"),
    [
        ("What is 7 times 6?", "7 times 6 is 42."),
        ("what's twelve plus five", "12 plus 5 is 17."),
        ("10 divided by 4", "10 divided by 4 is 2.5."),
        ("What's the square root of eighty-one?", "The square root of 81 is 9."),
        ("what is twenty one times two", "21 times 2 is 42."),
        ("square root of 2", "The square root of 2 is 1.414."),
        ("What time is it?", "It's 3:07 PM."),
        ("What's the date today?", "Today is Tuesday, November 24, 2026."),
        ("Repeat after me the sky is blue.", "the sky is blue."),
    ],
)
def test_offline_brain_skills(said, expected):
    assert brain_reply(said) == expected


def test_offline_brain_remembers_across_turns_and_is_honest_otherwise():
    assert brain_reply("My name is Alice.", "Thanks!", "What is my name?") == "Your name is Alice."
    fallback = brain_reply("Explain quantum chromodynamics")
    assert "Explain quantum chromodynamics" in fallback and "language model" in fallback
    assert "rules, not a language model" in brain_reply("Who are you?")


async def test_offline_brain_streams_the_same_reply():
    brain = OfflineBrain()
    messages = [{"role": "user", "content": "What is 2 plus 2?"}]
    assert "".join([d async for d in brain.stream(messages)]) == "2 plus 2 is 4."


def test_a_long_conversation_keeps_a_bounded_history():
    from vagus.brain.context import Conversation

    conversation = Conversation("Be brief.", max_tokens=100)
    for i in range(1000):
        conversation.add_user(f"question number {i} about something")
        conversation.add_assistant(f"answer number {i} about that thing")
    assert len(conversation.entries) < 60
    messages = conversation.messages()
    assert messages[-1]["content"] == "answer number 999 about that thing"


@pytest.mark.parametrize(
    ("written", "said"),
    [
        ("Paris is the capital [1]. See [^2] 😀 great!", "Paris is the capital. See great!"),
        ("Ja【1】, das ist 🚀 gut.", "Ja, das ist gut."),
        ("Proven [1, 2] and [3-5].", "Proven and."),
        ("It works [source: the manual].", "It works."),
        ("I ❤️ it", "I it"),
    ],
)
def test_citation_marks_and_emoji_are_not_read_aloud(written, said):
    from vagus.brain.speech_text import speakable

    assert speakable(written) == said
