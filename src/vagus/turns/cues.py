"""The agent's short sounds outside its answers, both off by default (`turns.agent_backchannels`,
`turns.acknowledgement`):

- a backchannel ("mm-hm") while the user pauses mid-turn: only in a silence the end-of-turn model
  judged unfinished and that has lasted `after_silence_ms` (by then the transcript's check has had
  its say, so a finished sentence has already ended the turn), in a turn that has gone on for
  `min_turn_s`, at most once per silence and per `min_interval_s`;
- an acknowledgement ("Let me think.") when no answer audio has started `after_ms` after the turn
  ended (a slow language model, a tool call).

Neither talks over the user: a cue is only started while the user is silent, and the session drops
it on the next frame when they start talking (`Playout.drop_cue`). Cues are not part of the answer,
so they never enter the conversation's context.
"""

from __future__ import annotations

import logging

import numpy as np

from vagus.audio.resample import resample
from vagus.services.tts.base import TTS

log = logging.getLogger("vagus.turns")


class CueVoice:
    """Phrases synthesised once (`prepare`, in the background) at the output rate, said in turn."""

    def __init__(self, phrases: list[str], tts: TTS, output_rate: int) -> None:
        self.phrases = [p for p in phrases if p.strip()]
        self._tts = tts
        self._output_rate = output_rate
        self._audio: list[tuple[str, np.ndarray]] = []
        self._next = 0

    async def prepare(self) -> None:
        for phrase in self.phrases:
            try:
                blocks = [block async for block in self._tts.stream(phrase)]
            except Exception:  # a cue is a nicety: without its audio the agent simply stays quiet
                log.exception("could not synthesise the cue %r", phrase)
                continue
            if blocks:
                audio = resample(np.concatenate(blocks), self._tts.sample_rate, self._output_rate)
                self._audio.append((phrase, audio.astype(np.float32)))

    @property
    def ready(self) -> bool:
        return bool(self._audio)

    def next(self) -> tuple[str, np.ndarray] | None:
        if not self._audio:
            return None
        cue = self._audio[self._next % len(self._audio)]
        self._next += 1
        return cue


class BackchannelTiming:
    """When the agent may say "mm-hm": pure timing on session-clock seconds, unit-tested."""

    def __init__(self, after_silence_ms: float, min_turn_s: float, min_interval_s: float) -> None:
        self.after_silence_s = after_silence_ms / 1000.0
        self.min_turn_s = min_turn_s
        self.min_interval_s = min_interval_s
        self._last_at: float | None = None
        self._last_silence: float | None = None

    def due(self, now: float, turn_start: float | None, speech_end: float, unfinished: bool) -> bool:
        """`speech_end`: start of the current silence; `unfinished`: the model judged it mid-turn."""
        if turn_start is None or not unfinished or speech_end == self._last_silence:
            return False
        if now - speech_end < self.after_silence_s or speech_end - turn_start < self.min_turn_s:
            return False
        return self._last_at is None or now - self._last_at >= self.min_interval_s

    def played(self, now: float, speech_end: float) -> None:
        self._last_at = now
        self._last_silence = speech_end
