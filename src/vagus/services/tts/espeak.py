"""espeak-ng as a voice: the offline fallback for languages no packaged neural voice speaks.

No Mandarin voice with a clear licence ships in a wheel (Piper's catalogue has none packaged; the
neural one found on PyPI was trained on non-commercial data and needs TensorFlow), so offline
Chinese speech is espeak-ng's formant synthesis from the Debian package: instant and tiny, but
robotic — measured, Whisper base understood little of its Mandarin. Any OpenAI-compatible TTS
endpoint replaces it by config. The `cmn-latn-pinyin` voice is the default because espeak-ng
1.51's `cmn` voice reads tone numbers in English.
"""

from __future__ import annotations

import asyncio
import io
import shutil
from collections.abc import AsyncIterator

import numpy as np
import soundfile as sf

from vagus.config import EspeakTtsConfig
from vagus.services.errors import ProviderError

MAX_CHARS = 2000


class EspeakTTS:
    name = "espeak-ng"
    sample_rate = 22050

    def __init__(self, voice: str = "cmn-latn-pinyin", words_per_minute: int = 160, binary: str = "espeak-ng") -> None:
        found = shutil.which(binary)
        if found is None:
            raise ProviderError(self.name, "model", f"{binary} is not installed (Debian: apt-get install espeak-ng)")
        self.binary, self.voice, self.wpm = found, voice, words_per_minute

    async def stream(self, text: str, speed: float = 1.0) -> AsyncIterator[np.ndarray]:
        text = text.strip()[:MAX_CHARS]
        if not text:
            return
        rate = str(round(self.wpm * speed))
        proc = await asyncio.create_subprocess_exec(
            self.binary, "-v", self.voice, "-s", rate, "--stdout", "--", text,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        try:
            out, err = await proc.communicate()
        except asyncio.CancelledError:
            if proc.returncode is None:
                proc.kill()
            raise
        if proc.returncode != 0 or not out:
            reason = err.decode(errors="replace").strip()[:200] or f"exit {proc.returncode}"
            raise ProviderError(self.name, "server", f"espeak-ng failed: {reason}")
        try:
            audio, rate_hz = sf.read(io.BytesIO(out), dtype="float32")
        except (RuntimeError, sf.LibsndfileError) as exc:
            raise ProviderError(self.name, "server", f"espeak-ng wrote no readable audio: {exc}") from None
        if audio.ndim > 1:
            audio = audio.mean(axis=1)
        self.sample_rate = int(rate_hz)
        yield audio.astype(np.float32, copy=False)

    def check_voice(self) -> None:
        """Fail at load, not at the first answer, when the voice does not exist."""
        import subprocess

        done = subprocess.run([self.binary, "-v", self.voice, "-q", "x"], capture_output=True, text=True, timeout=10)
        if done.returncode != 0 or "not found" in (done.stderr or "").lower():
            raise ProviderError(self.name, "model", f"espeak-ng has no voice {self.voice!r} (espeak-ng --voices)")


def from_config(section: EspeakTtsConfig, agent: object) -> EspeakTTS:
    tts = EspeakTTS(section.voice, section.words_per_minute, section.binary)
    tts.check_voice()
    return tts
