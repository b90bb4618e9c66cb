"""The ear's front end, measured: echo cancellation, noise suppression, VAD false triggers, cost.

Builds its audio: the agent's speech (Piper) played through a simulated room (synthetic impulse
response, RT60 0.25 s, delay) into the microphone; the user's speech (real human recordings with
--real DIR from benchmarks/fetch_real_speech.sh, else the committed fixtures); synthetic white, pink
and brown ("fan") noise at several SNRs.

    .venv/bin/python benchmarks/senses.py [--real DIR]
"""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

import numpy as np

from vagus.audio.resample import resample
from vagus.audio.room import EchoPath
from vagus.audio.wav import read_audio
from vagus.config import VadConfig
from vagus.senses.apm import BLOCK
from vagus.senses.denoise import make_denoiser
from vagus.senses.echo import make_echo_engine
from vagus.senses.front_end import build_front_end
from vagus.senses.silero import CHUNK, SileroModel, SileroState
from vagus.senses.vad import VoiceActivityDetector
from vagus.services.tts.piper_local import PiperTTS

R = 16000
FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures"
AGENT_LINES = [
    "I heard you say something about the history of Rome.",
    "That is a long story, and I only know a little of it.",
    "Connect me to a language model and I can tell you more about emperors and their roads.",
]


def db(x: np.ndarray) -> float:
    return 10 * np.log10(np.mean(np.square(x, dtype=np.float64)) + 1e-12)


def noise(kind: str, n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    white = rng.standard_normal(n)
    if kind == "white":
        x = white
    else:
        spectrum = np.fft.rfft(white)
        f = np.maximum(np.fft.rfftfreq(n, 1 / R), 20.0)
        spectrum /= np.sqrt(f) if kind == "pink" else f
        x = np.fft.irfft(spectrum, n)
    return (x / np.sqrt(np.mean(x**2))).astype(np.float32)


def si_sdr(estimate: np.ndarray, reference: np.ndarray) -> float:
    alpha = np.dot(estimate, reference) / (np.dot(reference, reference) + 1e-12)
    target = alpha * reference
    return 10 * np.log10(np.sum(target**2) / (np.sum((estimate - target) ** 2) + 1e-12))


def align(out: np.ndarray, ref: np.ndarray, max_lag: int = 1600) -> np.ndarray:
    """Undo the processing delay (resampling, framing) before comparing sample by sample."""
    n = min(len(out), len(ref)) - max_lag
    corr = [np.dot(out[lag : lag + n], ref[:n]) for lag in range(0, max_lag, 8)]
    coarse = int(np.argmax(corr)) * 8
    fine = [np.dot(out[lag : lag + n], ref[:n]) for lag in range(max(0, coarse - 8), coarse + 9)]
    lag = max(0, coarse - 8) + int(np.argmax(fine))
    return out[lag : lag + n]


def run_blocks(fn, mic: np.ndarray, ref: np.ndarray | None = None) -> tuple[np.ndarray, float]:  # type: ignore[no-untyped-def]
    out = np.zeros_like(mic)
    start = time.perf_counter()
    blocks = 0
    for i in range(0, len(mic) - BLOCK + 1, BLOCK):
        block = mic[i : i + BLOCK]
        out[i : i + BLOCK] = fn(block) if ref is None else fn(block, ref[i : i + BLOCK])
        blocks += 1
    return out, (time.perf_counter() - start) / blocks * 1e6


def vad_stats(model: SileroModel, x: np.ndarray) -> tuple[float, float]:
    """(fraction of 32 ms chunks at p >= 0.5, speech starts per minute) with the default VAD settings."""
    state = SileroState()
    vad = VoiceActivityDetector(model, VadConfig())
    probs, starts = [], 0
    for i in range(0, len(x) - CHUNK + 1, CHUNK):
        p = model.infer(x[i : i + CHUNK], state)
        probs.append(p)
        tr = vad.feed_probability(p, i / R)
        starts += int(tr is not None and tr.speaking)
    return float(np.mean(np.array(probs) >= 0.5)), starts / (len(x) / R / 60)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--real", type=Path)
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    tts = PiperTTS()
    far = np.concatenate([resample(np.concatenate(tts._synthesise(t)), tts.sample_rate, R) for t in AGENT_LINES]) * 0.5
    if args.real:
        near = np.concatenate([read_audio(p)[0] for p in sorted(args.real.glob("librivox_*.wav"))[:2]])
        source = "real human speech (LibriVox)"
    else:
        near = np.concatenate([read_audio(FIXTURES / f"{n}.wav")[0] for n in ("long_question", "two_questions")])
        source = "Piper fixtures"
    near = near / (np.sqrt(np.mean(near[np.abs(near) > 0.01] ** 2)) + 1e-9) * 0.1  # about -20 dBFS while talking
    model = SileroModel()
    print(f"near-end speech: {source}; agent speech: Piper, {len(far) / R:.1f} s")

    print("\n== Echo cancellation (agent speech through the room; user joins at 3 s for double talk)")
    header = ("engine", "echo", "delay", "ERLE single", "VAD on echo", "VAD on user (DT)", "µs/10ms")
    print("  " + " | ".join(header))
    engines_aec = {
        "aec3 + double talk": lambda: make_echo_engine("aec3"),
        "aec3 alone": lambda: make_echo_engine("aec3", double_talk=False),
        "speex": lambda: make_echo_engine("speex"),
    }
    for engine, make_echo in engines_aec.items():
        for gain_db in (0.0, -6.0):
            for delay in (60, 200):
                path = EchoPath(R, delay, gain_db)
                path.feed(far)
                echo = path.take(len(far) + R)
                ref = np.concatenate([far, np.zeros(R, np.float32)])
                out, cost = run_blocks(make_echo().process, echo, ref)
                settle = 2 * R
                erle = db(echo[settle : len(far)]) - db(out[settle : len(far)])
                echo_vad, echo_starts = vad_stats(model, out[settle:])
                user = np.zeros_like(echo)
                talk = near[: len(echo) - 3 * R]
                user[3 * R : 3 * R + len(talk)] = talk
                out_dt, _ = run_blocks(make_echo().process, echo + user, ref)
                active = np.array(
                    [np.sqrt(np.mean(user[i : i + CHUNK] ** 2)) > 0.02 for i in range(0, len(user) - CHUNK + 1, CHUNK)]
                )
                state = SileroState()
                probs = np.array(
                    [model.infer(out_dt[i : i + CHUNK], state) for i in range(0, len(out_dt) - CHUNK + 1, CHUNK)]
                )
                user_vad = float(np.mean(probs[active] >= 0.5))
                cells = [engine, f"{gain_db:.0f} dB", f"{delay} ms", f"{erle:.1f} dB"]
                cells += [f"{echo_vad:.0%} ({echo_starts:.0f}/min)", f"{user_vad:.0%}", f"{cost:.1f}"]
                print("  " + " | ".join(cells))
    raw_vad, raw_starts = vad_stats(model, far)
    print(f"  (no canceller: VAD fires on {raw_vad:.0%} of echo chunks, {raw_starts:.0f} speech starts/min)")

    print("\n== Noise suppression: SI-SDR (dB) of the user's speech, input → output")
    engines = ("gtcrn", "rnnoise", "dfn3", "apm")
    # RNNoise and DFN3 blend towards the input as the running SNR rises (their default clean_snr_db
    # 25); "… full" is the engine with the blend off. GTCRN runs unblended by default.
    variants = {e: (lambda e=e: make_denoiser(e)) for e in engines}
    variants["rnnoise full"] = lambda: make_denoiser("rnnoise", clean_snr_db=0)
    variants["dfn3 full"] = lambda: make_denoiser("dfn3", clean_snr_db=0)
    print(f"  {'noise':6s} {'SNR':>5s} {'input':>6s} " + " ".join(f"{e:>12s}" for e in variants))
    clean = near[: 8 * R]
    for kind in ("clean", "white", "pink", "brown"):
        for snr in (None,) if kind == "clean" else (0, 5, 10, 20):
            noisy = clean.copy()
            if snr is not None:
                noisy += noise(kind, len(clean), seed=snr) * np.sqrt(np.mean(clean**2)) * 10 ** (-snr / 20)
            row = []
            for make in variants.values():
                out, _ = run_blocks(make().process, noisy)
                row.append(si_sdr(align(out, clean), clean[: len(align(out, clean))]))
            level = "  —  " if snr is None else f"{snr:3d}dB"
            print(f"  {kind:6s} {level} {min(si_sdr(noisy, clean), 99):6.1f} " + " ".join(f"{v:12.1f}" for v in row))

    print("\n== VAD false triggers on noise alone (chunks at p >= 0.5; speech starts per minute)")
    print(f"  {'noise':6s} {'level':>8s} {'raw':>14s} " + " ".join(f"{e:>14s}" for e in engines))
    for kind in ("white", "pink", "brown"):
        for level_db in (-40, -25):
            x = noise(kind, 30 * R, seed=7) * 10 ** (level_db / 20)
            cells = [vad_stats(model, x)] + [
                vad_stats(model, run_blocks(make_denoiser(e).process, x)[0]) for e in engines
            ]
            print(f"  {kind:6s} {level_db:5d}dBFS " + " ".join(f"{f:5.0%} {s:5.1f}/min" for f, s in cells))

    print_costs(near)


def print_costs(speech: np.ndarray, rounds: int = 40, blocks_per_round: int = 50) -> None:
    """Cost per 10 ms block of each engine and of whole front ends, on speech in pink noise at 10 dB
    with the agent talking (echo and reference). This 2-core VM's speed drifts by ±30 % from minute to
    minute, so the candidates run interleaved, round by round, and each gets the median (and p90) of
    its rounds: a comparison within one run is fair even when the absolute numbers move."""
    from vagus.core.frames import AudioFrame

    mic = (speech + noise("pink", len(speech), seed=9) * np.sqrt(np.mean(speech**2)) * 10 ** (-10 / 20)).astype(
        np.float32
    )
    ref = np.roll(speech, R // 3) * 0.5
    candidates: dict[str, object] = {f"denoise {e}": make_denoiser(e) for e in ("gtcrn", "rnnoise", "dfn3", "apm")}
    candidates["echo aec3 + double talk"] = make_echo_engine("aec3")
    candidates["echo aec3 alone"] = make_echo_engine("aec3", double_talk=False)
    candidates["echo speex"] = make_echo_engine("speex")
    front_ends = {
        "front end: aec3 (default)": build_front_end("aec3", None, False),
        "front end: aec3 + gtcrn + agc": build_front_end("aec3", "gtcrn", True),
        "front end: aec3 + rnnoise + agc": build_front_end("aec3", "rnnoise", True),
        "front end: aec3 + dfn3 + agc": build_front_end("aec3", "dfn3", True),
        "front end: aec3 + apm ns + agc": build_front_end("aec3", "apm", True),
    }
    candidates.update(front_ends)
    times: dict[str, list[float]] = {name: [] for name in candidates}
    span = blocks_per_round * BLOCK
    for r in range(rounds):
        start = (r * span) % (len(mic) - span)
        block_mic = [mic[start + i : start + i + BLOCK] for i in range(0, span, BLOCK)]
        block_ref = [ref[start + i : start + i + BLOCK] for i in range(0, span, BLOCK)]
        for name, engine in candidates.items():
            began = time.perf_counter()
            if name.startswith("front end"):
                for i in range(0, blocks_per_round, 2):  # 20 ms frames, as a session sends them
                    engine.push_reference(np.concatenate(block_ref[i : i + 2]))  # type: ignore[attr-defined]
                    engine.process(AudioFrame(np.concatenate(block_mic[i : i + 2]), R, 0.0))  # type: ignore[attr-defined]
            elif name.startswith("echo"):
                for m, f in zip(block_mic, block_ref, strict=True):
                    engine.process(m, f)  # type: ignore[attr-defined]
            else:
                for m in block_mic:
                    engine.process(m)  # type: ignore[attr-defined]
            times[name].append((time.perf_counter() - began) / blocks_per_round * 1e6)
    print(f"\n== Cost per 10 ms block and session (µs; median and p90 of {rounds} interleaved rounds)")
    for name, values in times.items():
        split = ""
        if name in front_ends:
            stages = front_ends[name].stats.cost_us_per_block()  # type: ignore[union-attr]
            split = "  stages (mean): " + ", ".join(f"{k} {v:.0f}" for k, v in stages.items())
        print(f"  {name:34s} {np.median(values):7.0f} {np.percentile(values, 90):7.0f}{split}")


if __name__ == "__main__":
    main()
