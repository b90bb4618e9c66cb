"""Build the committed test fixtures: user speech made with the offline Piper voice, laid out with
silences, as 16 kHz mono 16-bit WAV, plus a manifest of what is said when.

Run: .venv/bin/python scripts/make_fixtures.py  (needs the `local` extra)
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from vagus.audio.resample import resample
from vagus.audio.wav import write_wav
from vagus.services.tts.piper_local import PiperTTS

RATE = 16000
OUT = Path(__file__).resolve().parent.parent / "tests" / "fixtures"

# name → list of (lead-in silence seconds, text); a trailing silence closes each file.
SCRIPTS: dict[str, list[tuple[float, str]]] = {
    "hello": [(0.6, "Hello there.")],
    "two_questions": [(0.8, "What is seven times six?"), (4.0, "My name is Alice.")],
    "long_question": [(0.6, "Can you tell me a joke about computers please?")],
    # a question with a long answer, then the user cuts in 4 s after finishing the question
    "barge_in": [(0.6, "Tell me everything about the history of Rome."), (4.0, "Wait, stop please.")],
}
TRAIL = 1.2


def synthesise(tts: PiperTTS, text: str) -> np.ndarray:
    blocks = list(tts._synthesise(text))
    audio = np.concatenate(blocks)
    return resample(audio, tts.sample_rate, RATE) * 0.8


def main() -> None:
    tts = PiperTTS(length_scale=1.05)
    OUT.mkdir(parents=True, exist_ok=True)
    manifest: dict[str, list[dict[str, float | str]]] = {}
    for name, parts in SCRIPTS.items():
        pieces: list[np.ndarray] = []
        cursor = 0.0
        entries = []
        for lead, text in parts:
            pieces.append(np.zeros(int(lead * RATE), dtype=np.float32))
            cursor += lead
            speech = synthesise(tts, text)
            entries.append({"text": text, "start": round(cursor, 3), "end": round(cursor + len(speech) / RATE, 3)})
            pieces.append(speech)
            cursor += len(speech) / RATE
        pieces.append(np.zeros(int(TRAIL * RATE), dtype=np.float32))
        write_wav(OUT / f"{name}.wav", np.concatenate(pieces), RATE)
        manifest[name] = entries
    (OUT / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    print(json.dumps(manifest, indent=2))


if __name__ == "__main__":
    main()
