"""Voiceprints and the speaker lock on real human speech.

The speech: the test recordings inside Debian packages (`bash scripts/fetch_real_speech.sh DEST`:
a LibriVox reader, the PocketSphinx "cards" speaker, a CMU speaker, and codec2's examples: two
amateur-radio operators in 3 s pieces and seven single-utterance voices). Modem signals and the ALSA
channel-test voice are left out. Prints:

- equal error rate over all same/different pairs, full utterances and crops of 0.5–1.6 s from the
  start (a voice decision over the agent has only that much);
- the lock in a two-person scenario for each speaker with 3+ utterances: enrolled from one, then
  every other utterance of theirs must be answered and every utterance of anyone else ignored, at the
  shipped threshold (turns: whole utterances; over the agent: the decision at 0.8/1.2/1.6 s);
- the encoder's cost per second of audio;
- the pitch tracker (perception/prosody.py, YIN) against Praat's (`pip install 'vagus[bench]'`:
  praat-parselmouth, GPL-3.0, only for this comparison): frames both call voiced, the share with a
  gross error (> 20 % apart), the median difference in cents, and voicing agreement.

    .venv/bin/python benchmarks/perception.py DEST/wav16k
    .venv/bin/python benchmarks/perception.py --mandarin   # Whisper base (zh) on espeak-ng's Mandarin

`--mandarin` reads five Mandarin sentences with espeak-ng (the only offline Mandarin voice in a
package) and transcribes them with the multilingual Whisper base (`language: zh`, the Simplified
prompt): character error rate and time per utterance. No natural Mandarin speech ships in a package,
so this measures the pair as an offline user gets it, not Whisper's accuracy on people.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import statistics
import time
from pathlib import Path

import numpy as np
from _metrics import edit_distance  # benchmarks/ is the script's folder, first on sys.path

from vagus.audio.wav import read_audio
from vagus.config import SpeakerConfig
from vagus.perception.enrol import voiced
from vagus.perception.speaker import Decision, decide
from vagus.perception.voiceprint import VoiceEncoder, similarity
from vagus.senses.silero import SileroModel

PIECES_S = 3.0
LONG_RECORDINGS = {"ve9qrp", "vk5qi"}
"""Single long recordings of one speaker, cut into 3 s pieces."""


def load(folder: Path, vad: SileroModel) -> list[tuple[str, np.ndarray]]:
    rows = list(csv.DictReader((folder / "manifest.tsv").open(), delimiter="\t"))
    items = []
    for row in rows:
        name = row["file"]
        if name.startswith(("nonspeech", "alsa")):
            continue
        audio, rate = read_audio(folder / name)
        assert rate == 16000, name
        speaker = row["speaker_hint"]
        if speaker in LONG_RECORDINGS:
            n = int(PIECES_S * rate)
            items += [(speaker, voiced(audio[k : k + n], vad)) for k in range(0, len(audio) - n + 1, n)]
        else:
            items.append((speaker, voiced(audio, vad)))
    return [(s, a) for s, a in items if len(a) >= 8000]


def eer(same: list[float], diff: list[float]) -> tuple[float, float]:
    s, d = np.array(same), np.array(diff)
    best, at, rate = 2.0, 0.0, 1.0
    for threshold in np.linspace(0, 1, 1001):
        far, frr = float((d >= threshold).mean()), float((s < threshold).mean())
        if abs(far - frr) < best:
            best, at, rate = abs(far - frr), float(threshold), (far + frr) / 2
    return rate, at


ZH_SENTENCES = [
    "你好，今天天气很好。",
    "现在几点了？",
    "七乘以六等于多少？",
    "我的名字叫小明。",
    "附近有没有好吃的饭馆？",
]


def mandarin() -> None:
    import asyncio
    import re

    from vagus.audio.resample import resample
    from vagus.services.stt.whisper_local import WhisperSTT
    from vagus.services.tts.espeak import EspeakTTS

    stt, tts = WhisperSTT("base", "zh"), EspeakTTS()

    async def run() -> None:
        errors = chars = 0
        times = []
        for sentence in ZH_SENTENCES:
            audio = np.concatenate([b async for b in tts.stream(sentence)])
            start = time.perf_counter()
            heard = (await stt.transcribe(resample(audio, tts.sample_rate, 16000), 16000)).text
            times.append(time.perf_counter() - start)
            ref, hyp = re.sub(r"\W", "", sentence), re.sub(r"\W", "", heard)
            errors += edit_distance(ref, hyp)
            chars += len(ref)
            print(f"  {sentence} -> {heard!r}")
        print(f"Whisper base (zh) on espeak-ng Mandarin: CER {errors / chars * 100:.0f} % over {chars} characters, "
              f"{statistics.median(times):.2f} s per utterance (median)")  # fmt: skip

    asyncio.run(run())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("folder", type=Path, nargs="?", help="wav16k folder made by scripts/fetch_real_speech.sh")
    parser.add_argument("--mandarin", action="store_true", help="only the Mandarin STT/TTS measurement")
    parser.add_argument("--threshold", type=float, default=SpeakerConfig().threshold, help="the lock's threshold")
    args = parser.parse_args()
    if args.mandarin:
        mandarin()
        return
    if args.folder is None:
        parser.error("give the wav16k folder (bash scripts/fetch_real_speech.sh DEST), or --mandarin")
    vad, encoder = SileroModel(), VoiceEncoder()
    items = load(args.folder, vad)
    speakers = sorted({s for s, _ in items})
    counts = {s: sum(1 for t, _ in items if t == s) for s in speakers}
    print(f"{len(items)} utterances, {len(speakers)} voices: " + ", ".join(f"{s} ×{counts[s]}" for s in speakers))
    start = time.perf_counter()
    full = [encoder.embed(a) for _, a in items]
    seconds = sum(len(a) for _, a in items) / 16000
    print(f"encoder: {(time.perf_counter() - start) / seconds * 1000:.1f} ms per second of speech")
    pairs = list(itertools.combinations(range(len(items)), 2))
    same = [similarity(full[i], full[j]) for i, j in pairs if items[i][0] == items[j][0]]
    diff = [similarity(full[i], full[j]) for i, j in pairs if items[i][0] != items[j][0]]
    rate, at = eer(same, diff)
    print(f"whole utterances: {len(same)} same / {len(diff)} different pairs, EER {rate * 100:.1f} % at {at:.3f}")
    crops: dict[float, list[np.ndarray | None]] = {}
    for crop in (0.5, 0.8, 1.2, 1.6):
        n = int(crop * 16000)
        crops[crop] = [encoder.embed(a[:n]) if len(a) >= n else None for _, a in items]
        same_c = [similarity(crops[crop][i], full[j]) for i in range(len(items)) for j in range(len(items))
                  if i != j and crops[crop][i] is not None and items[i][0] == items[j][0]]  # fmt: skip
        diff_c = [similarity(crops[crop][i], full[j]) for i in range(len(items)) for j in range(len(items))
                  if i != j and crops[crop][i] is not None and items[i][0] != items[j][0]]  # fmt: skip
        rate, at = eer(same_c, diff_c)
        print(f"first {crop:.1f} s against whole utterances: EER {rate * 100:.1f} % at {at:.3f}")

    threshold = args.threshold
    answered = lost = ignored = let_in = 0
    early = {"same_paused_ok": 0, "same_total": 0, "other_resumed": 0, "other_total": 0, "decided_s": []}
    for primary in [s for s in speakers if counts[s] >= 3]:
        mine = [i for i, (s, _) in enumerate(items) if s == primary]
        enrolled = full[mine[0]]  # enrolled from their first utterance
        for i, (speaker, audio) in enumerate(items):
            if i == mine[0]:
                continue
            score = similarity(full[i], enrolled)
            verdict = decide(score, len(audio) / 16000, threshold)
            if speaker == primary:
                answered += verdict is not Decision.OTHER
                lost += verdict is Decision.OTHER
            else:
                ignored += verdict is Decision.OTHER
                let_in += verdict is not Decision.OTHER
            # over the agent: the checks at 0.8, 1.2, 1.6 s (or the utterance's end)
            final = Decision.UNSURE
            for crop in (0.8, 1.2, 1.6):
                emb = crops[crop][i]
                length = crop if emb is not None else len(audio) / 16000
                emb = emb if emb is not None else full[i]
                final = decide(similarity(emb, enrolled), length, threshold - SpeakerConfig().barge_in_margin)
                if final is not Decision.UNSURE:
                    early["decided_s"].append(length)  # type: ignore[attr-defined]
                    break
            if speaker == primary:
                early["same_total"] += 1  # type: ignore[operator]
                early["same_paused_ok"] += final is not Decision.OTHER  # type: ignore[operator]
            else:
                early["other_total"] += 1  # type: ignore[operator]
                early["other_resumed"] += final is Decision.OTHER  # type: ignore[operator]
    print(
        f"\nlock at threshold {threshold} (each voice with 3+ utterances as the primary, enrolled from one):\n"
        f"  turns: primary answered {answered}/{answered + lost} ({lost / max(1, answered + lost) * 100:.1f} % lost), "
        f"others ignored {ignored}/{ignored + let_in} ({ignored / max(1, ignored + let_in) * 100:.1f} %)"
    )
    decided = early["decided_s"]
    print(
        f"  over the agent (threshold lowered by {SpeakerConfig().barge_in_margin}): "
        f"the primary still interrupts {early['same_paused_ok']}/{early['same_total']}, "
        f"others' speech resumes the agent {early['other_resumed']}/{early['other_total']}; decided after "
        f"{statistics.median(decided):.1f} s median of speech (the agent pauses at once either way)"  # type: ignore[arg-type]
    )
    compare_pitch(items)
    from vagus.perception.prosody import acoustics

    start = time.perf_counter()
    for _, audio in items:
        acoustics(audio)
    print(f"prosody measurement: {(time.perf_counter() - start) / seconds * 1000:.1f} ms per second of speech")


def compare_pitch(items: list[tuple[str, np.ndarray]]) -> None:
    try:
        import parselmouth  # type: ignore[import-untyped]
    except ImportError:
        print("\npitch: install praat-parselmouth (pip install 'vagus[bench]') to compare with Praat")
        return
    from vagus.perception.prosody import HOP, pitch_track

    both = gross = agree = total = 0
    cents: list[float] = []
    start = time.perf_counter()
    seconds = 0.0
    for _, audio in items:
        ours = pitch_track(audio)
        seconds += len(audio) / 16000
        sound = parselmouth.Sound(audio.astype(np.float64), 16000)
        ref = sound.to_pitch(time_step=HOP / 16000, pitch_floor=60, pitch_ceiling=400)
        # our frame i covers [i*HOP, i*HOP + 640): its centre
        centres = (np.arange(len(ours)) * HOP + 320) / 16000
        theirs = np.array([ref.get_value_at_time(t) for t in centres])
        theirs = np.nan_to_num(theirs, nan=0.0)
        voiced_ours, voiced_theirs = ours > 0, theirs > 0
        agree += int((voiced_ours == voiced_theirs).sum())
        total += len(ours)
        mask = voiced_ours & voiced_theirs
        both += int(mask.sum())
        ratio = ours[mask] / theirs[mask]
        gross += int((np.abs(ratio - 1) > 0.2).sum())
        cents += list(np.abs(1200 * np.log2(ratio[np.abs(ratio - 1) <= 0.2])))
    took = time.perf_counter() - start
    print(
        f"\npitch against Praat on {seconds:.0f} s of real speech: {both} frames voiced in both, gross errors "
        f"{gross / max(1, both) * 100:.1f} %, median difference otherwise {statistics.median(cents):.0f} cents, "
        f"voicing agreement {agree / max(1, total) * 100:.1f} % (both trackers: {took / seconds * 1000:.0f} ms per s)"
    )


if __name__ == "__main__":
    main()
