"""What one conversation says about a combination, turn by turn: latency (end of the user's speech →
the agent's first audio, and the stages by Agora's names), what was heard (WER against the script),
what was answered (keywords, tools, length, markup that should never be spoken), and turn-taking
(interruptions stopped, and how fast; interruptions nobody made; answers that cut into the user)."""

from __future__ import annotations

import re
from typing import Any

import jiwer
from num2words import num2words

from vagus.evals.caller import Spoken

STAGE_NAMES = {"stt": "asr_ttlw", "llm_first_token": "llm_ttfb", "llm_first_sentence": "llm_ttfs",
               "tts_first_audio": "tts_ttfb"}  # fmt: skip
"""Vagus's stage names → the names Agora's evaluation reports them under."""
MARKUP = re.compile(r"[*#`_]{1,3}\S|\[\d+\]|https?://|^\s*(?:[-•]|\d+\.)\s", re.MULTILINE)
"""What a voice must never read out: emphasis marks, headings, code, citations, links, list bullets."""
MATCH_SLACK_S = 0.6


def normalise(text: str) -> str:
    """Lower case, numbers as words, no punctuation: the form WER compares."""
    text = re.sub(r"\d+", lambda m: " " + num2words(int(m.group())) + " ", text.lower())
    text = re.sub(r"[^\w\s']", " ", text.replace("-", " "))
    return " ".join(text.split())


def word_error_rate(reference: str, hypothesis: str) -> float:
    ref, hyp = normalise(reference), normalise(hypothesis)
    if not ref:
        return 0.0 if not hyp else 1.0
    return float(jiwer.wer(ref, hyp))


def keyword_found(keyword: str, text: str) -> bool:
    said = normalise(text)
    return any(f" {normalise(k)} " in f" {said} " for k in keyword.split("|") if normalise(k))


def match(spoken: list[Spoken], records: list[dict[str, Any]]) -> dict[int, list[dict[str, Any]]]:
    """Each user turn → the session turns whose speech lies within it (a turn the session split in
    two maps to both; one it never heard maps to none)."""
    out: dict[int, list[dict[str, Any]]] = {s.index: [] for s in spoken}
    for record in records:
        start = record.get("speech_start")
        if start is None:
            continue
        for s in spoken:
            if s.start - MATCH_SLACK_S <= start <= s.end + MATCH_SLACK_S:
                out[s.index].append(record)
                break
    return out


def backchannel_row(s: Spoken, records: list[dict[str, Any]]) -> dict[str, Any]:
    """A backchannel over the answer ('mm-hm'): it passes when no answer stopped for it (it need not
    be a turn of its own, and usually is not)."""
    stopped = [
        r["turn"]
        for r in records
        if r.get("interrupted")
        and (r.get("interruption") or {}).get("speech_start") is not None
        and s.start - MATCH_SLACK_S <= r["interruption"]["speech_start"] <= s.end
    ]
    paused = [
        round((p["resumed_at"] - p["at"]) * 1000, 1)
        for r in records
        for p in r.get("pauses", [])
        if "resumed_at" in p and s.start - MATCH_SLACK_S <= p.get("speech_start", -1.0) <= s.end
    ]
    failures = ["the answer stopped for a backchannel"] if stopped else []
    row: dict[str, Any] = {"turn": s.index, "script": s.script, "heard": True, "backchannel": True,
                           "failures": failures, "passed": not failures}  # fmt: skip
    if paused:
        row["paused_ms"] = paused[0]  # how long the agent held its breath before going on
    return row


def ignored_row(s: Spoken, matched: list[dict[str, Any]]) -> dict[str, Any]:
    """Speech not meant for the agent (a TV, a bystander): it passes when nothing was answered to it."""
    answered = [r for r in matched if r.get("agent_text") and not r.get("skipped")]
    row: dict[str, Any] = {"turn": s.index, "script": s.script, "speaker": s.speaker, "heard": True,
                           "ignored": not answered}  # fmt: skip
    if answered:
        row.update(user_text=answered[-1].get("user_text", ""), answer=answered[-1]["agent_text"])
    skipped = [r["skipped"] for r in matched if r.get("skipped")]
    if skipped:
        row["skipped"] = skipped[0]  # why the agent let it pass (another voice, not addressed …)
    row["failures"] = [f"the agent answered the {s.speaker}"] if answered else []
    row["passed"] = not answered
    return row


def turn_metrics(
    s: Spoken, matched: list[dict[str, Any]], tools: dict[int, list[str]], next_start: float | None
) -> dict[str, Any]:
    """The measures and checks of one user turn."""
    row: dict[str, Any] = {"turn": s.index, "script": s.script, "heard": bool(matched)}
    if not matched:
        row.update(passed=False, failures=["not heard as a turn"])
        return row
    last = matched[-1]
    heard_text = " ".join(r.get("user_text", "") for r in matched).strip()
    answer = last.get("agent_text", "")
    row.update(
        user_text=heard_text,
        answer=answer,
        wer=round(word_error_rate(s.script, heard_text), 3),
        words=len(answer.split()),
        markup_leaks=len(MARKUP.findall(answer)),
        split_turns=len(matched) - 1,
    )
    start = last.get("agent_audio_start")
    if start is not None and last.get("speech_end") is not None:
        row["latency_ms"] = round((start - last["speech_end"]) * 1000, 1)
        if start < s.end - 0.05:
            row["cut_in"] = True  # the answer began before the user had finished
    stages = (last.get("latency") or {}).get("stages_ms") or {}
    for ours, theirs in STAGE_NAMES.items():
        if ours in stages:
            row[theirs] = round(stages[ours], 1)
    if last.get("interrupted") and last.get("interruption"):
        cut = last["interruption"]
        if cut.get("stopped_at") is not None and cut.get("speech_start") is not None:
            row["interrupted_by_next"] = next_start is not None and cut["speech_start"] >= next_start - MATCH_SLACK_S
    failures: list[str] = []
    for keyword in s.expect.keywords:
        if not keyword_found(keyword, answer):
            failures.append(f"no {keyword!r} in the answer")
    called = [name for r in matched for name in tools.get(r["turn"], [])]
    row["tools"] = called
    if s.expect.tool is not None and s.expect.tool not in called:
        failures.append(f"tool {s.expect.tool} not called")
    if s.expect.max_words is not None and row["words"] > s.expect.max_words:
        failures.append(f"{row['words']} words (at most {s.expect.max_words})")
    if row["markup_leaks"]:
        failures.append("markup in the spoken answer")
    row["failures"] = failures
    row["passed"] = not failures
    return row


def interruption_rows(spoken: list[Spoken], records: list[dict[str, Any]]) -> tuple[list[float], int]:
    """Stop times (ms from the interrupting speech's start to silence) of answers cut by a turn that
    meant to interrupt, and the number of interruptions no such turn made (false barge-ins)."""
    meant = [s for s in spoken if s.expect.interrupts]
    stops: list[float] = []
    false = 0
    for record in records:
        cut = record.get("interruption")
        if not record.get("interrupted") or not cut or cut.get("speech_start") is None:
            continue
        at = cut["speech_start"]
        if any(s.start - MATCH_SLACK_S <= at <= s.end for s in meant):
            if cut.get("stopped_at") is not None:
                stops.append(round((cut["stopped_at"] - at) * 1000, 1))
        else:
            false += 1
    return stops, false


def tools_by_turn(events: list[dict[str, Any]]) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {}
    for e in events:
        if e.get("type") == "tool_called":
            out.setdefault(e["turn"], []).append(e["name"])
    return out
