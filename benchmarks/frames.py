"""Per-frame cost of the audio path and how many real-time sessions one core carries.

Measures, on one thread:
  - a 10-stage pass-through ProcessorChain per 20 ms frame (the peers' figure: Pipecat 236 µs);
  - a session's per-frame path (push_audio: front end + VAD + endpointer + utterance capture;
    pull_audio) on speech and on silence, with the shared Silero model called once per 32 ms chunk
    per session: the light path (no echo canceller) and the default one (AEC3 + double talk);
  - Silero run batched across sessions (one call for B sessions' chunks) vs one call per session;
  - memory per session beyond the shared models.
Sessions per core = 20 ms / cost of one session's frame, i.e. the count whose audio path alone fills
one core (transport and codec cost come on top).

    .venv/bin/python benchmarks/frames.py
"""

from __future__ import annotations

import gc
import logging
import os
import time
import tracemalloc
from pathlib import Path

import numpy as np

from vagus.agent.services import Services
from vagus.agent.session import VoiceSession
from vagus.audio.wav import read_audio
from vagus.config import load_config
from vagus.core.clock import ManualClock
from vagus.core.frames import AudioFrame
from vagus.core.processor import ProcessorChain
from vagus.senses.silero import CHUNK, SileroModel, SileroState

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures"
FRAME = 320  # 20 ms at 16 kHz


class PassThrough:
    def process(self, frame: AudioFrame) -> AudioFrame:
        return frame


def per_call_us(fn, n: int) -> float:  # type: ignore[no-untyped-def]
    fn()
    start = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - start) / n * 1e6


def chain_cost() -> float:
    chain = ProcessorChain([PassThrough() for _ in range(10)])
    frame = AudioFrame(np.zeros(FRAME, np.float32), 16000, 0.0)
    return per_call_us(lambda: chain.process(frame), 100_000)


def session_frame_cost(model: SileroModel, audio: np.ndarray, config) -> float:  # type: ignore[no-untyped-def]
    services = Services(vad=model, stt=None, llm=None, tts=None)  # type: ignore[arg-type]
    config = config.model_copy(
        update={
            "turns": config.turns.model_copy(
                update={
                    "silence_ms": 1e4,
                    "max_utterance_s": 300,
                    # the frame path alone: no task is started (no event loop runs here)
                    "speculation": config.turns.speculation.model_copy(update={"stt": False}),
                }
            )
        }
    )
    clock = ManualClock()
    session = VoiceSession(services, config, output_rate=48000, clock=clock)
    logging.disable(logging.CRITICAL)
    frames = [audio[i : i + FRAME] for i in range(0, len(audio) - FRAME, FRAME)]
    start = time.perf_counter()
    t = 0.0
    for frame in frames:
        session.push_audio(frame, t)
        session.pull_audio(960)
        t += 0.02
    return (time.perf_counter() - start) / len(frames) * 1e6


def batch_costs(model: SileroModel, sizes: list[int]) -> dict[int, tuple[float, float]]:
    rng = np.random.default_rng(0)
    out = {}
    for b in sizes:
        chunks = (rng.standard_normal((b, CHUNK)) * 0.1).astype(np.float32)
        states = [SileroState() for _ in range(b)]
        batched = per_call_us(lambda: model.infer_batch(chunks, states), 200)  # noqa: B023
        single = per_call_us(lambda: [model.infer(chunks[i], states[i]) for i in range(b)], 50)  # noqa: B023
        out[b] = (batched / b, single / b)
    return out


def memory_per_session(model: SileroModel, audio: np.ndarray, config, n: int = 100) -> float:  # type: ignore[no-untyped-def]
    services = Services(vad=model, stt=None, llm=None, tts=None)  # type: ignore[arg-type]
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    sessions = []
    for _ in range(n):
        s = VoiceSession(services, config, output_rate=48000, clock=ManualClock())
        for i in range(50):  # one second of silence: steady-state buffers
            s.push_audio(audio[i * FRAME : (i + 1) * FRAME] * 0, i * 0.02)
            s.pull_audio(960)
        sessions.append(s)
    gc.collect()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    return (after - before) / n / 1024


def main() -> None:
    logging.disable(logging.CRITICAL)
    default = load_config(None, env={})
    light = default.model_validate({"senses": {"echo": {"enabled": False}}})
    model = SileroModel()
    speech, _ = read_audio(FIXTURES / "two_questions.wav")
    silence = np.zeros(16000 * 8, np.float32)

    print(f"10-stage pass-through chain, per 20 ms frame:    {chain_cost():8.2f} µs   (Pipecat: 236 µs)")
    print("\nsession frame path per 20 ms frame (push_audio + pull_audio, Silero called per session; the")
    print("end-of-turn model and providers are not called here: see benchmarks/capacity.py for everything)")
    rest = {}
    for name, config in (
        ("light: VAD + endpointer + capture + playout", light),
        ("default: + AEC3 (agent silent: the rest of the echo stage rests)", default),
    ):
        speech_us = session_frame_cost(model, speech, config)
        silence_us = session_frame_cost(model, silence, config)
        rest[name] = silence_us
        print(f"  {name:66s} speech {speech_us:7.1f} µs  silence {silence_us:7.1f} µs")
    print("\nSilero VAD per session per 32 ms chunk:")
    costs = batch_costs(model, [1, 8, 32, 128])
    for b, (batched, single) in costs.items():
        print(f"  {b:4d} sessions: batched {batched:7.1f} µs/session   one call each {single:7.1f} µs/session")
    best = min(batched for batched, _ in costs.values())
    print("\nreal-time sessions per core, from the frame path alone (estimate; capacity.py measures it):")
    for name, silence_us in rest.items():
        per_frame = best * 20 / 32 + max(0.0, silence_us - costs[1][1] * 20 / 32)
        print(f"  {name:66s} per session {20_000 / silence_us:6.0f}   batched VAD {20_000 / per_frame:6.0f}")
    kib = memory_per_session(model, speech, light)
    print(f"\nmemory per session, light path (beyond the shared models): {kib:7.1f} KiB")
    rss_kib = rss_per_session(model, speech, no_tasks(default))
    print(f"memory per session, default ear (RSS, native echo engines included):  {rss_kib:7.1f} KiB")


def no_tasks(config):  # type: ignore[no-untyped-def]
    """The frame path alone: no speculative task is started (no event loop runs here)."""
    data = config.model_dump()
    data["turns"]["speculation"]["stt"] = False
    return type(config).model_validate(data)


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def rss_per_session(model: SileroModel, audio: np.ndarray, config, n: int = 50) -> float:  # type: ignore[no-untyped-def]
    """Resident memory added per session (AEC3 and Speex allocate natively: tracemalloc misses them),
    after 2 s of the user's speech and the agent's reference each."""
    services = Services(vad=model, stt=None, llm=None, tts=None, end_of_turn=None)  # type: ignore[arg-type]

    def run(count: int) -> list[VoiceSession]:
        sessions = [VoiceSession(services, config, output_rate=48000, clock=ManualClock()) for _ in range(count)]
        for i in range(100):
            for s in sessions:
                s.push_audio(audio[i * FRAME : (i + 1) * FRAME], i * 0.02)
                s.pull_audio(960)
        return sessions

    warm = run(2)
    gc.collect()
    before = rss_mb()
    more = run(n)
    gc.collect()
    added = (rss_mb() - before) * 1024 / n
    del warm, more
    return added


if __name__ == "__main__":
    main()
