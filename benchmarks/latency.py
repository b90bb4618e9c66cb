"""Per-stage latency of a scripted multi-turn conversation through the file transport.

Prints, per stage, the median and p95 over all turns, and the framework's own overhead per turn: the
time between the turn decision and the first audio being ready that was not spent inside the STT,
LLM or TTS calls (and not in VAD hangover, which comes before the decision).

Two runs: with the real offline models (what a user gets), and with fixed-delay providers (the peers'
benchmark shape), where the ideal path is known and the overhead is all that is left.

    .venv/bin/python benchmarks/latency.py [--rounds 3] [--llamacpp]

`--llamacpp` adds a run with the packaged local model (SmolLM2-135M, in-process, one thread) as the
brain instead of the rule brain, and prints how late the 20 ms frames were done while it decoded.
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


async def measure(services: Services, config, rounds: int, late: list[float] | None = None) -> list[dict]:  # type: ignore[no-untyped-def]
    audio, rate = conversation()
    rows = []
    for _ in range(rounds):
        result = await run_conversation(audio, rate, services, config)
        if late is not None:
            late.extend(result.frame_late_ms)
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
    parser.add_argument("--llamacpp", action="store_true", help="also with the packaged local LLM as the brain")
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    config = load_config(None, env={})
    real = build_services(config)
    late: list[float] = []
    report(
        "Offline models (Whisper tiny.en, rule brain, Piper joe)", asyncio.run(measure(real, config, args.rounds, late))
    )
    print(f"  frames late while the models worked: p50 {pct(late, 0.5):.1f} ms, p99 {pct(late, 0.99):.1f} ms")
    if args.llamacpp:
        from vagus.services.llm.llamacpp import LlamaCppLLM

        local = LlamaCppLLM()
        local.warmup()
        with_llm = Services(vad=real.vad, stt=real.stt, llm=local, tts=real.tts, end_of_turn=real.end_of_turn)
        late = []
        rows = asyncio.run(measure(with_llm, config, args.rounds, late))
        report(f"Offline models with the local LLM ({local.model}, 1 thread) as the brain", rows)
        print(f"  frames late while the models worked: p50 {pct(late, 0.5):.1f} ms, p99 {pct(late, 0.99):.1f} ms")
    fixed = Services(vad=real.vad, stt=FixedDelaySTT(), llm=FixedDelayLLM(), tts=FixedDelayTTS())
    rows = asyncio.run(measure(fixed, config, args.rounds))
    report("Fixed-delay providers (STT 50 ms, LLM 100 ms + 10 ms/token, TTS 50 ms)", rows)
    plain_first_sentence = statistics.median(r["LLM first sentence"] for r in rows)
    overheads = [r["framework overhead"] for r in rows]
    print(
        f"\nframework's own share per turn: median {statistics.median(overheads):.2f} ms, "
        f"p95 {pct(overheads, 0.95):.2f} ms (target < 5 ms)"
    )
    # One tool round per answer: the model calls `calculate` after 100 ms, then answers (100 ms + tokens).
    tooled = Services(vad=real.vad, stt=FixedDelaySTT(), llm=FixedDelayLLM(tool_round=True), tts=FixedDelayTTS())
    with_tools = config.model_copy(deep=True)
    with_tools.tools.builtin = ["calculate"]
    rows = asyncio.run(measure(tooled, with_tools, args.rounds))
    report("Fixed-delay providers, one tool round per answer (calculate)", rows)
    # the same stage without the tool round, plus the one extra 100 ms model call: what is left is the
    # round itself (parse the call, run the tool on a thread, record it, build the second request)
    beyond = [r["LLM first sentence"] - plain_first_sentence - 100 for r in rows]
    print(
        f"\ntool round-trip beyond the model calls: median {statistics.median(beyond):.2f} ms, "
        f"p95 {pct(beyond, 0.95):.2f} ms"
    )


if __name__ == "__main__":
    main()
