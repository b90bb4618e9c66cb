"""The evaluation's measures on constructed timelines: WER's normal form, keywords, which session turn
answers which scripted turn, latency and cut-ins, interruption stop times and false barge-ins, the
score and the Pareto front, and the suite's checks."""

from __future__ import annotations

import pytest

from vagus.config import ConfigError
from vagus.evals.caller import Spoken
from vagus.evals.metrics import (
    interruption_rows,
    keyword_found,
    match,
    normalise,
    turn_metrics,
    word_error_rate,
)
from vagus.evals.report import pareto, summarise
from vagus.evals.suite import Expect, Suite, combined, load_suite


def test_wer_compares_words_not_spelling():
    assert normalise("What is 7 times 6?") == "what is seven times six"
    assert word_error_rate("What is seven times six?", "what is 7 times 6") == 0.0
    assert word_error_rate("Wait, stop please.", "Great.") == 1.0
    assert word_error_rate("a b c d", "a x c d") == pytest.approx(0.25)
    assert keyword_found("42|forty two", "Seven times six is forty-two.")
    assert keyword_found("42|forty two", "It is 42.") and not keyword_found("42", "It is 420.")


def spoken(index: int, start: float, end: float, **expect) -> Spoken:  # type: ignore[no-untyped-def]
    return Spoken(index, f"turn {index}", start, end, Expect(**expect))


def test_turns_are_matched_by_where_their_speech_lies():
    script = [spoken(0, 0.5, 2.0), spoken(1, 8.0, 9.0)]
    records = [
        {"turn": 1, "speech_start": 0.45, "speech_end": 1.1},  # the session split the first turn in two
        {"turn": 2, "speech_start": 1.4, "speech_end": 2.0},
        {"turn": 3, "speech_start": 20.0, "speech_end": 21.0},  # something nobody scripted
    ]
    matched = match(script, records)
    assert [r["turn"] for r in matched[0]] == [1, 2] and matched[1] == []


def test_latency_cut_ins_and_expectations():
    s = spoken(0, 0.5, 2.0, keywords=["42|forty two"], max_words=5, tool="calculate")
    record = {"turn": 1, "speech_start": 0.5, "speech_end": 2.0, "user_text": "What is 7 times 6?",
              "agent_text": "**Seven** times six is forty-two, as you know.", "agent_audio_start": 2.61,
              "latency": {"stages_ms": {"stt": 300.0, "llm_first_token": 20.0, "tts_first_audio": 90.0}}}  # fmt: skip
    row = turn_metrics(s, [record], {1: ["calculate"]}, None)
    assert row["latency_ms"] == pytest.approx(610.0) and row["asr_ttlw"] == 300.0 and row["tts_ttfb"] == 90.0
    assert row["markup_leaks"] >= 1 and not row.get("cut_in")
    assert row["failures"] == ["8 words (at most 5)", "markup in the spoken answer"] and not row["passed"]
    early = dict(record, speech_end=1.0, agent_audio_start=1.5, agent_text="Sure.")
    assert turn_metrics(spoken(0, 0.5, 2.0), [early], {}, None)["cut_in"]  # answered inside the user's pause
    missing = turn_metrics(s, [], {}, None)
    assert not missing["passed"] and missing["failures"] == ["not heard as a turn"]


def test_interruptions_meant_and_not():
    script = [spoken(0, 0.5, 3.0), spoken(1, 6.5, 7.5, interrupts=True)]
    records = [
        {"turn": 1, "interrupted": True, "interruption": {"speech_start": 6.5, "stopped_at": 6.62}},
        {"turn": 2, "interrupted": True, "interruption": {"speech_start": 12.0, "stopped_at": 12.3}},
    ]
    stops, false = interruption_rows(script, records)
    assert stops == [pytest.approx(120.0)] and false == 1


def test_the_score_and_the_pareto_front():
    suite = Suite.model_validate({"scenarios": [{"name": "x", "turns": [{"say": "hi"}]}]})

    def run(name: str, latency: float, passed: bool) -> dict:
        row = {"turn": 0, "heard": True, "passed": passed, "latency_ms": latency, "wer": 0.0, "words": 3}
        return {"combination": name, "scenario": "x", "rows": [row], "stop_ms": [], "false_barge_ins": 0,
                "wall_seconds": 1.0}  # fmt: skip

    summary = summarise(
        suite, [run("fast_wrong", 300, False), run("slow_right", 1500, True), run("worse", 1600, False)]
    )
    assert [s["combination"] for s in summary] == ["slow_right", "fast_wrong", "worse"]
    assert pareto(summary) == {"fast_wrong", "slow_right"}
    assert summary[0]["score"] == pytest.approx(0.7 + 0.3 * (1 - 1500 / 2000))


def test_suites_and_combinations_are_checked(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("scenarios:\n  - name: x\n    turns:\n      - say: hi\n        audio: hi.wav\n")
    with pytest.raises(ConfigError, match="one of them"):
        load_suite(bad)
    bad.write_text("scenarios:\n  - name: x\n    turns:\n      - say: hi\n        expect: {keyword: [a]}\n")
    with pytest.raises(ConfigError, match="keyword"):
        load_suite(bad)
    with pytest.raises(ConfigError, match=r"turns\.silence_ms"):
        combined({}, {"turns": {"silence_ms": -5}})
    assert combined({"turns": {"silence_ms": 700}}, {"turns": {"barge_in": False}}).turns.silence_ms == 700
    assert len(load_suite(None).scenarios) >= 5  # the built-in suite loads


def test_compare_flags_what_got_worse():
    from vagus.evals.report import compare

    old = [{"combination": "a", "pass_rate": 1.0, "latency_p50_ms": 600.0, "wer": 0.02, "false_barge_ins": 0},
           {"combination": "gone", "pass_rate": 1.0}]  # fmt: skip
    new = [{"combination": "a", "pass_rate": 0.875, "latency_p50_ms": 640.0, "wer": 0.05, "false_barge_ins": 1},
           {"combination": "new", "pass_rate": 1.0}]  # fmt: skip
    (only,) = compare(old, new)
    assert only["combination"] == "a"
    assert only["regressions"] == ["pass_rate 1.0 → 0.875", "wer 0.02 → 0.05", "false_barge_ins 0 → 1"]
    assert only["changes"]["latency_p50_ms"] == {"before": 600.0, "after": 640.0}  # within the 50 ms margin


def test_the_judges_reply_is_read_strictly():
    from vagus.evals.judge import parse_grade

    assert parse_grade('{"score": 4, "reason": "fine"}') == (4, "fine")
    assert parse_grade('Here: {"score": 4.6, "reason": "x"} thanks') == (5, "x")
    assert parse_grade("four out of five")[0] is None
    assert parse_grade('{"score": 9}')[0] is None and parse_grade('{"score": true}')[0] is None
    with pytest.raises(ValueError, match="no `judge:` section"):
        Suite.model_validate({"scenarios": [{"name": "x", "turns": [{"say": "hi", "expect": {"judge": "greets"}}]}]})


def test_a_backchannel_passes_when_the_answer_goes_on():
    from vagus.evals.metrics import backchannel_row

    mm = spoken(1, 6.5, 7.0, keeps_talking=True)
    went_on = [{"turn": 1, "interrupted": False,
                "pauses": [{"at": 6.6, "speech_start": 6.5, "resumed_at": 7.44, "reason": "backchannel"}]}]  # fmt: skip
    row = backchannel_row(mm, went_on)
    assert row["passed"] and row["paused_ms"] == pytest.approx(840.0)
    stopped = [{"turn": 1, "interrupted": True, "interruption": {"speech_start": 6.5, "stopped_at": 6.6}}]
    assert backchannel_row(mm, stopped)["failures"] == ["the answer stopped for a backchannel"]
    with pytest.raises(ValueError, match="not both"):
        Expect(interrupts=True, keeps_talking=True)


def test_cost_per_turn_from_a_price_table():
    from vagus.evals.suite import Matrix, Prices

    prices = Prices(stt_per_minute=0.006, llm_per_request=0.001, llm_per_1k_output_tokens=0.6, tts_per_1k_chars=0.015)
    answer = "x" * 400  # 100 tokens, 400 characters
    assert prices.turn_cost(30.0, answer) == pytest.approx(0.003 + 0.001 + 0.06 + 0.006)
    assert prices.turn_cost(30.0, "") == pytest.approx(0.003)  # nothing said: only the transcription
    with pytest.raises(ValueError, match="not a combination"):
        Matrix.model_validate({"combinations": {"a": {}}, "prices": {"b": {"stt_per_minute": 1}}})


def test_scenario_kinds_voices_callers_and_settings_are_checked(tmp_path):
    def load(text: str) -> Suite:
        path = tmp_path / "suite.yaml"
        path.write_text(text)
        return load_suite(path)

    with pytest.raises(ConfigError, match="voice 'festival'"):
        load("scenarios:\n  - name: x\n    turns:\n      - say: hi\n        voice: festival\n")
    with pytest.raises(ConfigError, match="turns` or a simulated `caller"):
        load("scenarios:\n  - name: x\n")
    caller = ("scenarios:\n  - name: x\n    caller:\n      persona: p\n      goal: g\n"
              "      success: {keywords: [a]}\n      llm: {provider: offline}\n")  # fmt: skip
    with pytest.raises(ConfigError, match="needs a language model"):
        load(caller)
    with pytest.raises(ConfigError, match="at least one check"):
        load(caller.replace("{keywords: [a]}", "{}").replace("offline", "openai"))
    with pytest.raises(ConfigError, match=r"turns\.silence_ms"):  # a scenario's own settings are checked too
        load("scenarios:\n  - name: x\n    config: {turns: {silence_ms: -1}}\n    turns:\n      - say: hi\n")
    with pytest.raises(ConfigError, match="does not exist"):
        load("agent: missing.yaml\nscenarios:\n  - name: x\n    turns:\n      - say: hi\n")
    (tmp_path / "agent.yaml").write_text("name: Luigi\nturns: {silence_ms: 900}\n")
    suite = load("agent: agent.yaml\nbase: {turns: {barge_in: false}}\n"
                 "scenarios:\n  - name: x\n    turns:\n      - say: hi\n      - say: the news\n        speaker: tv\n")  # fmt: skip
    config = combined(suite.base, {})
    assert config.name == "Luigi" and config.turns.silence_ms == 900 and config.turns.barge_in is False
    tv = suite.scenarios[0].turns[1]
    assert tv.expect.ignored and not suite.scenarios[0].turns[0].expect.ignored  # others' speech: no answer
    with pytest.raises(ValueError, match="cannot also expect"):
        Expect(ignored=True, keywords=["x"])
    kinds = {s.name for s in load_suite(None).scenarios}
    assert {"tv_in_the_room", "bystander", "far_field", "tool_call", "another_voice", "barge_in"} <= kinds


def test_speech_not_meant_for_the_agent_passes_only_unanswered():
    from vagus.evals.metrics import ignored_row

    tv = Spoken(1, "the news", 5.0, 8.0, Expect(ignored=True), "tv")
    skipped = ignored_row(tv, [{"turn": 2, "speech_start": 5.0, "agent_text": "", "skipped": "not addressed"}])
    assert skipped["passed"] and skipped["skipped"] == "not addressed"
    answered = ignored_row(tv, [{"turn": 2, "speech_start": 5.0, "user_text": "news", "agent_text": "Sure."}])
    assert not answered["passed"] and answered["failures"] == ["the agent answered the tv"]
    assert ignored_row(tv, [])["passed"]  # not even taken for a turn


def test_far_field_speech_and_a_television():
    import numpy as np

    from vagus.audio.room import critical_distance, far_field, television

    rng = np.random.default_rng(0)
    speech = (rng.standard_normal(16000) * 0.05).astype(np.float32)
    near, far = far_field(speech, 0.5, 0.5), far_field(speech, 4.0, 0.5)
    assert len(near) == len(far) == len(speech)
    direct_near = float(np.dot(near, speech) / np.dot(speech, speech))
    direct_far = float(np.dot(far, speech) / np.dot(speech, speech))
    assert direct_near == pytest.approx(1.0, abs=0.05) and direct_far == pytest.approx(0.125, abs=0.05)
    assert 0.6 < critical_distance(0.5) < 0.9  # a living room
    tv = television(speech)
    spectrum = np.abs(np.fft.rfft(tv))
    freqs = np.fft.rfftfreq(len(tv), 1 / 16000)
    assert spectrum[freqs < 120].mean() < 0.3 * spectrum[(freqs > 500) & (freqs < 4000)].mean()


def test_a_simulated_callers_line_is_what_would_be_said_aloud():
    from vagus.evals.simulated import clean_line

    assert clean_line("Caller: Hi, *table* for two (smiles) please.") == ("Hi, table for two please.", False)
    assert clean_line("Thanks, bye! [END]") == ("Thanks, bye!", True)
    assert clean_line("[END]") == ("", True)
