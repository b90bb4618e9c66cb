"""Barge-in over a loudspeaker, swept deterministically across the agent's answer.

Whole-session runs (`barge_in_echo.py`) depend on how fast this CPU computes the answer, so where the
user's words land in the agent's speech changes from run to run, and a rare miss is hard to see. Here
the session is real (front end, VAD, level gate, pause and judging logic of `VoiceSession`), but its
answer is a fixed recording queued the moment the turn ends, and every transcription the session asks
for is awaited before the next frame: the run takes no media time to compute, so it is repeatable.

For each echo path the user's cut-in ("Wait, stop please.") is moved through the answer in steps of
`--step` seconds. The recorded answer also answers the user's cut-in, so each session goes on with
echo alone after it. Printed per path: pauses and interruptions on echo alone (before the cut-in,
after the user's words, and in one session without a cut-in per answer), cut-ins decided within
300 ms of the onset, latency median / p90 / max, cut-ins missed (none within 1 s); with `--verbose`,
each late or missed cut-in.

    .venv/bin/python benchmarks/barge_in_sweep.py [--step 0.25] [--answers 3] [--no-double-talk] [--verbose]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from vagus.agent.services import Services, build_services
from vagus.agent.session import VoiceSession
from vagus.audio.resample import resample
from vagus.audio.room import EchoPath
from vagus.brain.sentences import SentenceSplitter
from vagus.config import AgentConfig, load_config
from vagus.core.clock import ManualClock
from vagus.core.events import Event

sys.path.insert(0, str(Path(__file__).resolve().parent))

from barge_in_echo import ECHO_PATHS, R, user_tracks  # the same echo paths and user words

FRAME = 320
ANSWER = (
    "Rome began as a small town on the Tiber, and grew into a republic that ruled all of Italy. "
    "Its armies then conquered the lands around the Mediterranean, from Spain to Egypt. "
    "Julius Caesar's rise ended the republic, and his heir Augustus became the first emperor."
)


async def synthesise(services: Services, text: str) -> list[tuple[str, np.ndarray]]:
    splitter = SentenceSplitter()
    sentences = [*splitter.push(text), *splitter.flush()]
    out = []
    for sentence in sentences:
        chunks = [chunk async for chunk in services.tts.stream(sentence)]
        pcm = np.concatenate(chunks).astype(np.float32)
        rate = getattr(services.tts, "sample_rate", R)
        if rate != R:
            pcm = resample(pcm, rate, R)
        out.append((sentence, pcm))
    return out


def scripted_answer(session: VoiceSession, sentences: list[tuple[str, np.ndarray]]):
    async def respond(turn, audio, words, committed, draft=None) -> None:  # replaces STT → LLM → TTS
        if draft is not None:
            draft.cancel()  # the words are not needed: the answer is a recording
        committed()
        session.playout.begin(turn.number)
        for text, pcm in sentences:
            index = session.playout.add_sentence(text)
            session.playout.enqueue(index, pcm)
            session.playout.sentence_done(index)
        session.playout.close()

    return respond


async def one_run(
    services: Services,
    config: AgentConfig,
    sentences: list[tuple[str, np.ndarray]],
    question: np.ndarray,
    words: np.ndarray,
    lead: float,
    echo: tuple[float, float],
    cut_in_after: float | None,
) -> tuple[list[float], int, float | None, str]:
    """Times of pauses on echo alone (before the cut-in, or once the user's words are over and the
    agent answers them), the number of interruptions on echo alone, the cut-in's latency (None:
    missed) and the timeline."""
    clock = ManualClock()
    session = VoiceSession(services, config, output_rate=R, clock=clock)
    session.answers.respond = scripted_answer(session, sentences)  # type: ignore[method-assign]
    events: list[dict] = []
    session.bus.subscribe(lambda e: events.append(e.to_dict()) if isinstance(e, Event) else None)
    path = EchoPath(R, *echo)
    answer_s = sum(len(p) for _, p in sentences) / R
    total = int((len(question) / R + 2.0 + answer_s + 2.0) * R)
    mic = np.zeros(total + len(words), np.float32)
    mic[: len(question)] = question
    onset: float | None = None
    try:
        for i in range(total // FRAME):
            t = i * FRAME / R
            clock.set(t)
            if onset is None and cut_in_after is not None:
                started = [e for e in events if e["type"] == "agent_speech_started"]
                if started:
                    onset = started[0]["t"] + cut_in_after
                    start = int((onset - lead) * R)
                    mic[start : start + len(words)] += words
            block = mic[i * FRAME : (i + 1) * FRAME] + path.take(FRAME)
            session.push_audio(block, t)
            played = session.pull_audio(FRAME).copy()
            path.feed(played)
            await asyncio.sleep(0)
            judging = [task for task in session._tasks if "judge" in task.get_name()]
            if judging:
                await asyncio.gather(*judging, return_exceptions=True)
    finally:
        await session.close("done")
    limit = onset if onset is not None else float("inf")
    words_end = limit + len(words) / R - lead + 0.3
    pauses = [e["t"] for e in events if e["type"] == "agent_paused" and not limit - 0.02 <= e["t"] <= words_end]
    cuts = [e for e in events if e["type"] == "interruption" and limit - 0.05 <= e["stopped_at"] <= words_end]
    wrong = sum(e["type"] == "interruption" for e in events) - len(cuts)
    latency = None if onset is None or not cuts else cuts[0]["stopped_at"] - onset
    timeline = " ".join(
        f"{e['type']}@{e['t']:.2f}" + (f"({e.get('reason')}:{e.get('user_text', '')})" if "reason" in e else "")
        for e in events
        if e["type"] in ("agent_paused", "agent_resumed", "interruption", "user_speech_started")
    )
    return pauses, wrong, latency, timeline


async def main(
    step: float, answers: int, verbose: bool, engine: str, double_talk: bool, cache: Path | None = None
) -> None:
    logging.basicConfig(level=logging.WARNING)
    config = load_config(None, env={})
    config.senses.echo.enabled = True
    config.senses.echo.engine = engine  # type: ignore[assignment]
    config.senses.echo.double_talk = double_talk
    services = build_services(config)
    # Piper's voice is sampled anew each time (its noise inputs), so each synthesis is another answer
    if cache is not None and cache.is_file():  # the same answers again: an A/B comparison is paired
        try:
            with np.load(cache) as saved:
                sentences_text = [str(t) for t in saved["text"]]
                variants = [
                    [(text, saved[f"{k}_{i}"]) for i, text in enumerate(sentences_text)] for k in range(int(saved["n"]))
                ]
        except (OSError, ValueError, KeyError) as exc:
            raise SystemExit(
                f"{cache}: not a cache this benchmark wrote ({exc}); remove it or pick another path"
            ) from None
    else:
        variants = [await synthesise(services, ANSWER) for _ in range(answers)]
        if cache is not None:
            arrays = {f"{k}_{i}": pcm for k, v in enumerate(variants) for i, (_, pcm) in enumerate(v)}
            np.savez(cache, text=np.array([t for t, _ in variants[0]]), n=len(variants), **arrays)
    question, words, lead = user_tracks()
    plans = []
    for sentences in variants:
        answer_s = sum(len(p) for _, p in sentences) / R
        plans.append((sentences, np.arange(0.3, answer_s - 1.2, step)))
    per_path = sum(len(offsets) for _, offsets in plans)
    print(
        f"echo {engine}{' + double talk' if double_talk and engine == 'aec3' else ''}; {answers} syntheses of a "
        f"{sum(len(p) for _, p in variants[0]) / R:.0f} s answer; cut-ins from 0.3 s every {step:g} s "
        f"({per_path} per path)\n"
    )
    print("| echo path | pauses on echo | interruptions on echo | within 300 ms | median / p90 / max (ms) | missed |")
    print("|---|---|---|---|---|---|")
    began = time.perf_counter()
    all_latencies: list[float] = []
    all_missed = all_pauses = 0
    for echo in ECHO_PATHS:
        false_pauses = false_cuts = missed = 0
        latencies: list[float] = []
        for sentences, offsets in plans:
            echo_pauses, wrong, _, timeline = await one_run(
                services, config, sentences, question, words, lead, echo, None
            )
            false_pauses += len(echo_pauses)
            false_cuts += wrong
            if verbose and echo_pauses:
                print(f"  echo only {echo}: {timeline}")
            for after in offsets:
                pauses, wrong, latency, timeline = await one_run(
                    services, config, sentences, question, words, lead, echo, float(after)
                )
                false_pauses += len(pauses)
                false_cuts += wrong
                if latency is None or latency > 1.0:
                    missed += 1
                else:
                    latencies.append(latency * 1000)
                if verbose and (latency is None or latency > 0.3):
                    late = "missed" if latency is None else f"{latency * 1000:.0f} ms"
                    print(f"  {echo} cut-in {after:.2f} s: {late}; {timeline}")
        within = sum(x <= 300 for x in latencies)
        q = np.percentile(latencies, [50, 90, 100]) if latencies else [float("nan")] * 3
        print(
            f"| {echo[0]} ms, {echo[1]:g} dB | {false_pauses} | {false_cuts} | {within}/{per_path} | "
            f"{q[0]:.0f} / {q[1]:.0f} / {q[2]:.0f} | {missed} |"
        )
        all_latencies += latencies
        all_missed += missed
        all_pauses += false_pauses
    n = len(ECHO_PATHS) * per_path
    within = sum(x <= 300 for x in all_latencies)
    median = statistics.median(all_latencies) if all_latencies else float("nan")
    print(
        f"\nall: {within}/{n} within 300 ms, median {median:.0f} ms, {all_missed} missed, "
        f"{all_pauses} pauses on echo alone in {len(ECHO_PATHS) * (per_path + len(plans))} sessions "
        f"({time.perf_counter() - began:.0f} s)"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--step", type=float, default=0.25, help="seconds between cut-in positions")
    parser.add_argument("--answers", type=int, default=3, help="syntheses of the answer (each sounds a bit different)")
    parser.add_argument("--verbose", action="store_true", help="print each late or missed cut-in")
    parser.add_argument("--engine", default="aec3", choices=["aec3", "speex"], help="senses.echo.engine")
    parser.add_argument("--no-double-talk", action="store_true", help="aec3 alone (senses.echo.double_talk false)")
    parser.add_argument(
        "--cache", type=Path, help="keep the syntheses in this .npz (or reuse them): paired comparisons of settings"
    )
    args = parser.parse_args()
    if args.step <= 0 or args.answers < 1:
        parser.error("--step must be positive and --answers at least 1")
    asyncio.run(main(args.step, args.answers, args.verbose, args.engine, not args.no_double_talk, args.cache))
