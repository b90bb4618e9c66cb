"""Per-stage latency of a scripted multi-turn conversation through the file transport.

Prints, per stage, the median and p95 over all turns, and the framework's own overhead per turn: the
time between the turn decision and the first audio being ready that was not spent inside the STT,
LLM or TTS calls (and not in VAD hangover, which comes before the decision).

Two runs: with the real offline models (what a user gets), and with fixed-delay providers (the peers'
benchmark shape), where the ideal path is known and the overhead is all that is left.

    .venv/bin/python benchmarks/latency.py [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _mock_providers import FixedDelayLLM, FixedDelaySTT, FixedDelayTTS

from vagus.agent.services import Services, build_services
from vagus.audio.wav import read_audio
from vagus.config import load_config
from vagus.transports.file import run_conversation

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures"
SCRIPT = ["two_questions", "long_question", "hello", "two_questions"]


def conversation() -> tuple[np.ndarray, int]:
    parts = []
    for name in SCRIPT:
        audio, rate = read_audio(FIXTURES / f"{name}.wav")
        assert rate == 16000
        parts += [audio, np.zeros(int(4.5 * rate), dtype=np.float32)]  # room for the answer
    return np.concatenate(parts), 16000


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def measure(services: Services, config, rounds: int) -> list[dict]:  # type: ignore[no-untyped-def]
    audio, rate = conversation()
    rows = []
    for _ in range(rounds):
        result = await run_conversation(audio, rate, services, config)
        for turn in result.turns:
            if "latency" not in turn:
                continue
            lat = turn["latency"]
            m, s = lat["marks"], lat["stages_ms"]
            rows.append(
                {
                    "endpointing (VAD hangover)": (m["turn_decided"] - m["speech_end"]) * 1000,
                    "STT": s.get("stt", 0.0),
                    "LLM first token": s.get("llm_first_token", 0.0),
                    "LLM first sentence": s.get("llm_first_sentence", 0.0),
                    "TTS first audio": s.get("tts_first_audio", 0.0),
                    "wait for next frame": (m["first_audio_sent"] - m["tts_first_audio"]) * 1000,
                    "end of speech -> first audio": lat["response_ms"],
                    "framework overhead": lat["overhead_ms"],
                }
            )
    return rows


def report(title: str, rows: list[dict]) -> None:
    print(f"\n{title}  ({len(rows)} turns)")
    print(f"  {'stage':32s} {'median ms':>10s} {'p95 ms':>10s}")
    for key in rows[0]:
        values = [r[key] for r in rows]
        print(f"  {key:32s} {statistics.median(values):10.2f} {pct(values, 0.95):10.2f}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    config = load_config(None, env={})
    real = build_services(config)
    report("Offline models (Whisper tiny.en, rule brain, Piper joe)", asyncio.run(measure(real, config, args.rounds)))
    fixed = Services(vad=real.vad, stt=FixedDelaySTT(), llm=FixedDelayLLM(), tts=FixedDelayTTS())
    rows = asyncio.run(measure(fixed, config, args.rounds))
    report("Fixed-delay providers (STT 50 ms, LLM 100 ms + 10 ms/token, TTS 50 ms)", rows)
    overheads = [r["framework overhead"] for r in rows]
    print(
        f"\nframework's own share per turn: median {statistics.median(overheads):.2f} ms, "
        f"p95 {pct(overheads, 0.95):.2f} ms (target < 5 ms)"
    )


if __name__ == "__main__":
    main()
