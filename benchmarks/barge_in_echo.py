"""Barge-in through a loudspeaker: whole sessions with the agent's voice coming back into the microphone.

For each simulated echo path (delay, gain; `audio/room.py`) the user asks a question, the agent
answers through the loudspeaker, and the user cuts in ("Wait, stop please.") at several points of the
answer; one more run per path has no cut-in at all. Each run is made with and without the check of the
user's own speaking level (`turns.barge_in_level_margin_db`; null is the behaviour before it). Prints
per setting: pauses on the agent's echo alone, cut-ins decided within 300 ms of their onset, the
decision latency (median, max) and cut-ins missed.

    .venv/bin/python benchmarks/barge_in_echo.py [--runs N]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
from pathlib import Path

import numpy as np

from vagus.agent.services import Services, build_services
from vagus.audio.room import EchoPath
from vagus.audio.wav import read_audio
from vagus.config import AgentConfig, load_config
from vagus.transports.file import run_conversation

R = 16000
FIXTURE = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "barge_in.wav"
ECHO_PATHS = [(60, -6.0), (200, -10.0), (300, -3.0), (120, -3.0), (60, 0.0)]  # (delay ms, gain dB)
CUT_IN_AFTER_S = [1.0, 2.0, 3.5]  # after the question's end + the usual answer latency
ANSWER_STARTS_S = 3.9  # where the agent's answer usually starts in these sessions
MARGINS = [None, 15.0]


def user_tracks() -> tuple[np.ndarray, np.ndarray, float]:
    """The question alone, and the cut-in words with the offset of their onset within them."""
    audio, rate = read_audio(FIXTURE)
    if rate != R:
        raise SystemExit(f"{FIXTURE}: expected {R} Hz")
    question = audio[: int(3.3 * R)]
    words = audio[int(6.9 * R) : int(8.45 * R)]  # "Wait, stop please." starts 57 ms in
    return question, words, 0.057


async def one_run(
    services: Services,
    config: AgentConfig,
    question: np.ndarray,
    words: np.ndarray,
    lead: float,
    echo: tuple[float, float],
    cut_in_at: float | None,
) -> tuple[int, float | None]:
    """One session: the number of pauses before the cut-in (or in all of it), and the cut-in's latency."""
    audio = np.zeros(int((ANSWER_STARTS_S + 14) * R), np.float32)
    audio[: len(question)] = question
    onset = None
    if cut_in_at is not None:
        start = int((cut_in_at - lead) * R)
        audio[start : start + len(words)] += words
        onset = cut_in_at
    result = await run_conversation(audio, R, services, config, echo_path=EchoPath(R, *echo))
    events = result.events
    limit = onset if onset is not None else float("inf")
    false_pauses = [e for e in events if e["type"] == "agent_paused" and e["t"] < limit - 0.02]
    cuts = [e for e in events if e["type"] == "interruption" and (e.get("stopped_at") or e["t"]) >= limit - 0.05]
    latency = None
    if onset is not None and cuts:
        latency = (cuts[0].get("stopped_at") or cuts[0]["t"]) - onset
    return len(false_pauses), latency


async def main(runs: int) -> None:
    logging.basicConfig(level=logging.WARNING)
    base = load_config(None, env={})
    base.senses.echo.enabled = True
    services = build_services(base)
    question, words, lead = user_tracks()
    print(f"{len(ECHO_PATHS)} echo paths x ({len(CUT_IN_AFTER_S)} cut-ins + 1 echo-only run) x {runs} runs\n")
    print("| level check | pauses on echo alone | cut-ins within 300 ms | latency median / max (ms) | missed |")
    print("|---|---|---|---|---|")
    for margin in MARGINS:
        config = base.model_copy(deep=True)
        config.turns.barge_in_level_margin_db = margin
        false_pauses, latencies, missed, sessions = 0, [], 0, 0
        for _ in range(runs):
            for echo in ECHO_PATHS:
                for after in [None, *CUT_IN_AFTER_S]:
                    at = None if after is None else ANSWER_STARTS_S + after
                    pauses, latency = await one_run(services, config, question, words, lead, echo, at)
                    false_pauses += pauses
                    sessions += 1
                    if after is None:
                        continue
                    if latency is None or latency > 1.0:
                        missed += 1
                    else:
                        latencies.append(latency * 1000)
        within = sum(x <= 300 for x in latencies)
        total = len(latencies) + missed
        label = "off (before)" if margin is None else f"{margin:g} dB"
        median = statistics.median(latencies) if latencies else float("nan")
        print(
            f"| {label} | {false_pauses} in {sessions} sessions | {within}/{total} | "
            f"{median:.0f} / {max(latencies, default=float('nan')):.0f} | {missed} |"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1, help="repeat every setting this many times")
    args = parser.parse_args()
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    asyncio.run(main(args.runs))
