"""Turn-taking, measured on conversations built with the TTS (plus silence and noise edits).

Classes: complete questions; questions with a mid-sentence pause and fillers; backchannels while the
agent talks; real interruptions; noise bursts (coughs, clatter) while the agent talks; rapid
follow-ups. Prints per class: end-of-turn latency after the true speech end (median, p90), premature
cut-in rate, missed / late interruptions, false interruptions, and whether the context kept only what
was heard.

    .venv/bin/python benchmarks/turns.py
"""

from __future__ import annotations

import asyncio
import logging
import statistics

import numpy as np

from vagus.agent.services import build_services
from vagus.audio.resample import resample
from vagus.config import load_config
from vagus.transports.file import run_conversation
from vagus.turns.interruption import normalise

R = 16000
COMPLETE = [
    "What is seven times six?",
    "My name is Alice.",
    "Can you tell me a joke about computers, please?",
    "What's the weather like in Paris today?",
    "I would like to book a table for two.",
    "How far away is the moon?",
]
PAUSED = [  # (before the pause, after it)
    ("I want to, um,", "book a table for two."),
    ("So the thing is,", "I forgot my password."),
    ("Could you tell me", "how far away the moon is?"),
    ("My name is, uh,", "Alice."),
    ("I was thinking that maybe", "we could go to the park."),
    ("I need, uh,", "a taxi to the airport."),
    ("What about", "the weather tomorrow?"),
    ("Let me think,", "two coffees, please."),
    ("Tell me about", "the history of Rome."),
    ("And then we", "went home."),
]
BACKCHANNELS = ["Yeah.", "Okay.", "Mm-hmm.", "Uh-huh.", "Right.", "I see."]
INTERRUPTIONS = [
    "Stop.",
    "Wait, stop please.",
    "No, that's wrong.",
    "Tell me about Paris instead.",
    "Hold on a second.",
]
QUESTION = "Can you tell me a joke about computers, please?"


def speech_bounds(x: np.ndarray) -> tuple[float, float]:
    loud = np.flatnonzero(np.abs(x) > 0.02 * np.max(np.abs(x)))
    return loud[0] / R, (loud[-1] + 1) / R


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


async def main() -> None:
    logging.disable(logging.WARNING)
    config = load_config(None, env={})
    services = build_services(config)
    tts = services.tts

    def say(text: str) -> np.ndarray:
        return resample(np.concatenate(list(tts._synthesise(text))), tts.sample_rate, R)

    async def run(audio: np.ndarray, sessions: list | None = None):  # type: ignore[no-untyped-def]
        return await run_conversation(
            audio, R, services, config, on_session=None if sessions is None else sessions.append
        )

    rows: list[tuple[str, str]] = []

    # complete questions: end-of-turn latency after the true end of speech
    latencies = []
    for text in COMPLETE:
        speech = say(text)
        audio = np.concatenate([np.zeros(R // 2, np.float32), speech, np.zeros(4 * R, np.float32)])
        end = 0.5 + speech_bounds(speech)[1]
        result = await run(audio)
        if result.turns:
            latencies.append((result.turns[0]["turn_decided"] - end) * 1000)
    rows.append(
        (
            "complete questions",
            f"end-of-turn {statistics.median(latencies):.0f} ms median, {pct(latencies, 90):.0f} ms p90 "
            f"after speech end (n={len(latencies)})",
        )
    )

    # pauses and fillers: the agent cuts in when it starts to answer inside the pause, or answers the
    # words before the pause as a turn of their own; a turn decided inside the pause that is withdrawn
    # silently when the user goes on (turn_continued) is counted apart
    cut_ins, withdrawn, paused_latency = 0, 0, []
    for before, after in PAUSED:
        a, b = say(before), say(after)
        gap = np.zeros(int(0.7 * R), np.float32)
        audio = np.concatenate([np.zeros(R // 2, np.float32), a, gap, b, np.zeros(4 * R, np.float32)])
        resume_at = 0.5 + len(a) / R + 0.7 + speech_bounds(b)[0]
        result = await run(audio)
        answered = [t for t in result.turns if t.get("agent_text")]
        spoke_early = any(t.get("agent_audio_start", 1e9) < resume_at for t in answered)
        last_words = normalise(after)[-1]
        whole = len(answered) == 1 and last_words in normalise(answered[0].get("user_text", ""))
        if spoke_early or not whole:
            cut_ins += 1
        else:
            withdrawn += any(t["turn_decided"] < resume_at for t in result.turns)
            final_end = resume_at - speech_bounds(b)[0] + speech_bounds(b)[1]
            paused_latency.append((answered[0]["turn_decided"] - final_end) * 1000)
    rows.append(
        (
            "mid-sentence pause 0.7 s + fillers",
            f"premature cut-in {cut_ins}/{len(PAUSED)} ({100 * cut_ins / len(PAUSED):.0f}%); turn decided in the "
            f"pause and withdrawn unheard {withdrawn}; end-of-turn after the final words "
            f"{statistics.median(paused_latency) if paused_latency else float('nan'):.0f} ms median",
        )
    )

    question = say(QUESTION)
    at = 6.0  # the answer starts at ~3.9 s; the echo canceller has settled by 6 s

    def over_agent(sound: np.ndarray) -> np.ndarray:
        audio = np.zeros(int((at + 9) * R), np.float32)
        audio[int(0.5 * R) : int(0.5 * R) + len(question)] = question
        audio[int(at * R) : int(at * R) + len(sound)] += sound
        return audio

    # backchannels while the agent talks
    interrupted, pauses = 0, []
    for text in BACKCHANNELS:
        result = await run(over_agent(say(text) * 0.8))
        interrupted += bool([e for e in result.events if e["type"] == "interruption"])
        pauses += [e["paused_ms"] for e in result.events if e["type"] == "agent_resumed"]
    rows.append(
        (
            "backchannels over the agent",
            f"interrupted {interrupted}/{len(BACKCHANNELS)}; agent paused then resumed "
            f"{len(pauses)}× for {statistics.median(pauses) if pauses else 0:.0f} ms median",
        )
    )

    # real interruptions: decided (voice stopped) within 300 ms of onset; context keeps what was heard
    missed, late, stop_ms, context_ok = 0, 0, [], 0
    for text in INTERRUPTIONS:
        sound = say(text) * 0.8
        onset = at + speech_bounds(sound)[0]
        sessions: list = []
        result = await run(over_agent(sound), sessions)
        cuts = [e for e in result.events if e["type"] == "interruption"]
        if not cuts:
            missed += 1
            continue
        delay = (cuts[0]["stopped_at"] - onset) * 1000
        stop_ms.append(delay)
        late += delay > 300
        entries = sessions[0].conversation.entries
        heard = cuts[0]["heard_text"]
        answer = result.turns[0].get("agent_text", "")
        assistant = [e for e in entries if e.role == "assistant"]
        if assistant and assistant[0].interrupted and assistant[0].content == heard and answer.startswith(heard):
            context_ok += 1
    rows.append(
        (
            "real interruptions",
            f"missed {missed}/{len(INTERRUPTIONS)}, late (>300 ms) {late}; agent stopped "
            f"{statistics.median(stop_ms):.0f} ms median / {max(stop_ms):.0f} max after onset; context = heard words "
            f"{context_ok}/{len(INTERRUPTIONS) - missed}",
        )
    )

    # noise bursts and coughs while the agent talks
    rng = np.random.default_rng(7)
    false_cuts, trials = 0, 0
    for length_s, level in ((0.3, 0.3), (0.5, 0.3), (0.8, 0.2)):
        n = int(length_s * R)
        burst = (rng.standard_normal(n) * np.hanning(n) * level).astype(np.float32)
        result = await run(over_agent(burst))
        trials += 1
        false_cuts += bool([e for e in result.events if e["type"] == "interruption"])
    rows.append(("noise bursts over the agent", f"false interruptions {false_cuts}/{trials}"))

    # rapid follow-up: a second question 0.4 s after the first ends
    a, b = say("What is seven times six?"), say("And what is two plus two?")
    audio = np.concatenate(
        [np.zeros(R // 2, np.float32), a, np.zeros(int(0.4 * R), np.float32), b, np.zeros(5 * R, np.float32)]
    )
    result = await run(audio)
    texts = " | ".join(t.get("user_text", "") for t in result.turns)
    rows.append(("rapid follow-up (0.4 s gap)", f"{len(result.turns)} turn(s): {texts}"))

    width = max(len(name) for name, _ in rows)
    print("\n== Turn-taking (offline models, 2 cores)")
    for name, text in rows:
        print(f"  {name:{width}s}  {text}")


if __name__ == "__main__":
    asyncio.run(main())
