"""The speech-style layer: numbers and friends as words, Chinese too, and the answer's length budget."""

from __future__ import annotations

import pytest

from tests.fakes import Step, make_rig, offline_config, tone
from vagus.brain.numbers import spoken_numbers
from vagus.brain.sentences import SentenceSplitter
from vagus.brain.speaker import spoken_words


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("It costs $5.50.", "It costs five dollars fifty cents."),
        ("$1 or £1,200", "one dollar or one thousand two hundred pounds"),
        ("Up by $2 million.", "Up by two million dollars."),
        ("at 3:30 pm, 8 pm or 9:05", "at three thirty p m, eight p m or nine oh five"),
        ("On 2026-12-01 it was 21°C.", "On December first, twenty twenty-six it was twenty-one degrees Celsius."),
        ("5 km at 30 km/h, 1 kg", "five kilometres at thirty kilometres per hour, one kilogram"),
        ("250 ml", "two hundred and fifty millilitres"),
        ("She came 1st, he 22nd.", "She came first, he twenty-second."),
        (
            "Built in 1999 with 1,234 rooms",
            "Built in nineteen ninety-nine with one thousand two hundred and thirty-four rooms",
        ),
        ("It fell 20% to -5.", "It fell twenty percent to minus five."),
        ("Call 0123456789.", "Call zero one two three four five six seven eight nine."),
        ("3.14", "three point one four"),
        ("No digits here.", "No digits here."),
        ("2026-13-45", "two thousand and twenty-six-thirteen-forty-five"),  # not a date: numbers only
        ("我有3个苹果，花了12.5元。", "我有三个苹果，花了十二点五元。"),
        ("占20%，日期2024-05-01，时间8:30。", "占百分之二十，日期二零二四年五月一日，时间八点三十分。"),
    ],
)
def test_numbers_dates_times_units_and_money_are_read_as_words(text, said):
    assert spoken_numbers(text) == said


def test_chinese_sentences_end_without_spaces_and_a_long_first_one_breaks_at_a_comma():
    splitter = SentenceSplitter()
    assert splitter.push("你好。今天天气很好！") == ["你好。", "今天天气很好！"]
    long_first = SentenceSplitter(first_clause_min_chars=10)
    assert long_first.push("这是一个很长的句子，它还在继续") == ["这是一个很长的句子，"]
    assert spoken_words(["你好世界", "two words"]) == 4


async def test_a_long_answer_stops_at_a_sentence_end_and_offers_more():
    long = " ".join(f"This is sentence number {i} of a long story." for i in range(12))
    rig = make_rig(
        config=offline_config(speech={"max_words": 20}),
        turns=[Step("Tell me a story.")],
        answers=[Step(long)],
    )
    await rig.play(tone(0.6), tail_s=12.0)
    said = rig.tts.spoken
    assert said[-1] == "Want to hear more?"
    assert len(said) == 4  # three sentences of eight words reach the budget of 20, then the offer
    remembered = [m["content"] for m in rig.session.conversation.messages() if m["role"] == "assistant"]
    assert remembered[-1].endswith("Want to hear more?") and "number three" not in remembered[-1]


async def test_an_answer_within_budget_and_a_say_are_never_cut():
    rig = make_rig(
        config=offline_config(speech={"max_words": 10, "numbers": False}),
        turns=[Step("Hi.")],
        answers=[Step("It is 42. That is all.")],
    )
    rig.session.say("This greeting is longer than ten words but a say is never cut short.")
    await rig.play(tone(0.0), tail_s=8.0)
    await rig.play(tone(0.6), tail_s=4.0)
    assert "Want to hear more?" not in rig.tts.spoken
    assert "It is 42." in rig.tts.spoken  # numbers: false leaves digits to the voice
