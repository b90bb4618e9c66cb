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
from collections.abc import Callable, Coroutine
from typing import Any

import numpy as np

from vagus.audio.resample import resample
from vagus.config import TurnConfig
from vagus.core.bus import EventBus
from vagus.core.clock import Clock, sleep_until
from vagus.core.events import AgentCue
from vagus.services.tts.base import TTS
from vagus.turns.playout import Playout

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


class Cues:
    """The session's cues: both voices, prepared once, and when each may play."""

    def __init__(
        self,
        config: TurnConfig,
        tts: TTS,
        output_rate: int,
        playout: Playout,
        bus: EventBus,
        clock: Clock,
        filler_phrases: list[str] | None = None,
    ) -> None:
        """`filler_phrases`: what to say while a tool is slow (None: the agent has no tools)."""
        bc, ack = config.agent_backchannels, config.acknowledgement
        self.backchannel = CueVoice(bc.phrases, tts, output_rate) if bc.enabled else None
        self.timing = BackchannelTiming(bc.after_silence_ms, bc.min_turn_s, bc.min_interval_s)
        self.acknowledgement = CueVoice(ack.phrases, tts, output_rate) if ack.enabled else None
        self.ack_after_s = ack.after_ms / 1000.0
        self.filler = CueVoice(filler_phrases, tts, output_rate) if filler_phrases else None
        self.prepared = self.backchannel is None and self.acknowledgement is None and self.filler is None
        self._playout, self._bus, self._clock = playout, bus, clock

    def prepare(self, spawn: Callable[[Coroutine[Any, Any, Any], str], object]) -> None:
        """Synthesise the cues' audio in the background, once (on the first frame: needs the loop)."""
        if self.prepared:
            return
        self.prepared = True
        for voice in (self.backchannel, self.acknowledgement, self.filler):
            if voice is not None:
                spawn(voice.prepare(), "prepare-cues")

    def maybe_backchannel(
        self, now: float, quiet: bool, turn_start: float | None, silence: float | None, turn: int
    ) -> None:
        """`quiet`: nobody talks and nothing is being answered; `silence`: start of a pause that the
        end-of-turn model judged mid-turn (None when there is none)."""
        voice = self.backchannel
        if voice is None or not quiet or self._playout.cueing or silence is None:
            return
        if not self.timing.due(now, turn_start, silence, True):
            return
        cue = voice.next()
        if cue is None:
            return
        self.timing.played(now, silence)
        self._playout.cue(cue[1])
        self._bus.publish(AgentCue(now, turn, "backchannel", cue[0]))

    async def acknowledge_when_slow(self, turn: int, decided: float, still_silent: Callable[[], bool]) -> None:
        """Wait `after_ms` from the turn's decision; then, if the answer has still not started and
        nobody talks (`still_silent`), say "Let me think."."""
        await sleep_until(self._clock, decided + self.ack_after_s)
        if still_silent():
            self.acknowledge(turn)

    def acknowledge(self, turn: int) -> None:
        """Say "Let me think." now (the caller checked the answer is still slow and nobody talks)."""
        voice = self.acknowledgement
        cue = voice.next() if voice is not None else None
        if cue is not None:
            self._playout.cue(cue[1])
            self._bus.publish(AgentCue(self._clock.now(), turn, "acknowledgement", cue[0]))

    def fill(self, turn: int) -> None:
        """Say "One moment." now: a tool is slow (the caller checked nobody talks)."""
        cue = self.filler.next() if self.filler is not None else None
        if cue is not None and not self._playout.cueing:
            self._playout.cue(cue[1])
            self._bus.publish(AgentCue(self._clock.now(), turn, "tool_filler", cue[0]))
