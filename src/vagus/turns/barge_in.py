"""Speech over the agent: pause it, then resume it or let the user have the floor.

When the user starts talking while the agent speaks, the agent is *paused* (the next pulled frame is
silence) once the speech has lasted `barge_in_min_speech_ms` and some of it came at the user's own
level. The speech is then judged: long speech (`confirm_speech_ms`) or real words interrupt the
answer; a backchannel ("mm-hm"), a cough or our own echo resumes it. Without
`resume_on_false_interruption` every pause is an interruption.

The policy owns only its own state. What it does to the rest of the session (cancel the answer,
drop the speech, look at the turn) goes through the small `BargeInOwner` protocol, so it is tested
alone with a fake owner and a virtual clock.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from vagus.config import TurnConfig
from vagus.core.bus import EventBus
from vagus.core.clock import Clock, sleep_until
from vagus.core.events import AgentPaused, AgentResumed, Interruption
from vagus.perception.speaker import Decision
from vagus.senses.vad import VadTransition
from vagus.services.errors import ProviderError
from vagus.services.stt.base import STT
from vagus.turns.interruption import JUDGING_PROMPT, BackchannelMatcher
from vagus.turns.playout import Playout
from vagus.turns.speech_level import ECHO_TAIL_S, SpeechLevelGate

log = logging.getLogger("vagus.turns")

INPUT_RATE = 16000
SETTLING_FACTOR = 3.0
"""While the echo canceller is still converging, a barge-in needs this many times the usual speech."""
SETTLING_S = 2.0
"""How long the canceller counts as converging: until it has heard this much of the agent's voice."""
SETTLING_KNOWN_LEVEL_S = 1.5
"""The same once the user's speaking level is known: their level then tells them from most of the
canceller's residue (turns/speech_level.py), but in the first second or so, before AEC3 has found the
echo's delay, the residue can be as loud as the user (measured: 15–26 dBFS 0.7 s in with 300 ms of
delay; on a loaded CPU, false pauses 1.0–1.1 s in with the loudspeaker at 0 dB)."""
LOUD_SPEECH_S = 0.064
"""Speech over the agent pauses it only once this much of it came at the user's own level."""
VOICE_CHECKS_S = (0.8, 1.2, 1.6)
"""Speech over the agent is compared with the locked voice after this much of it (or when it stops)."""
JUDGING_LEAD_IN_S = 0.1
"""Audio kept before the onset of speech over the agent when transcribing it to judge the pause."""

Settling = Callable[[float], bool]
"""The echo canceller's `settling(seconds)`: True until it has heard that much of the agent."""


class BargeInOwner(Protocol):
    """What the policy needs from its session."""

    def user_speaking(self) -> bool: ...
    def cancel_answer(self) -> None: ...
    def forget_speech(self) -> None: ...
    def check_turn_end(self, now: float) -> None: ...
    def hold_turn(self, seconds: float) -> None: ...
    def remember_words(self, speech_end: float, text: str) -> None: ...
    def answer_text(self) -> str: ...
    def peek_speech(self, seconds: float) -> np.ndarray: ...
    def spawn(self, coro: Coroutine[Any, Any, Any], name: str) -> Any: ...


@dataclass(slots=True)
class Pause:
    """The agent paused for the user's speech; not yet known whether it is a real interruption."""

    turn: int
    onset: float
    paused_at: float
    classifying: bool = False
    speech_end: float = 0.0
    """End of the speech being transcribed, to reuse its words if the same speech becomes a turn."""
    voice: asyncio.Future[bool] | None = None
    """With a speaker lock: resolves True when the voice is the locked one (False: another voice,
    and the agent has resumed)."""


class BargeIn:
    def __init__(
        self,
        config: TurnConfig,
        owner: BargeInOwner,
        playout: Playout,
        stt: STT,
        clock: Clock,
        bus: EventBus,
        settling: Settling | None = None,
    ) -> None:
        self.enabled = config.barge_in
        self.resume_on_false = config.resume_on_false_interruption
        self.min_speech_s = config.barge_in_min_speech_ms / 1000.0
        self.confirm_s = config.confirm_speech_ms / 1000.0
        self.after_interruption_s = config.after_interruption_silence_ms / 1000.0
        margin = config.barge_in_level_margin_db
        self.speech_level = SpeechLevelGate(margin) if margin is not None else None
        self.backchannels = BackchannelMatcher(config.backchannels)
        self._owner, self._playout, self._stt, self._clock, self._bus = owner, playout, stt, clock, bus
        self._settling = settling
        self.candidate: float | None = None
        """Onset of speech over the agent that may yet pause it."""
        self.pause: Pause | None = None
        self.voice_check: Callable[[np.ndarray], Awaitable[Decision]] | None = None
        """With a speaker lock (perception/speaker.py): whose voice the speech over the agent is."""
        self._agent_audible_until = -math.inf
        """Session time until which the agent's own voice may still be in the microphone."""

    # ---- the frame path ----------------------------------------------------------------------------

    def agent_output(self, now: float, seconds: float) -> None:
        """The agent sent `seconds` of sound at `now`: its echo may be heard until shortly after."""
        self._agent_audible_until = now + seconds + ECHO_TAIL_S

    def observe(self, pcm: np.ndarray, t: float, speaking: bool) -> None:
        """Learn the user's own level from speech heard while the agent is silent."""
        if self.speech_level is not None:
            self.speech_level.observe(pcm, t, INPUT_RATE, speaking and t >= self._agent_audible_until)

    def speech_started(self, tr: VadTransition) -> bool:
        """Speech began: True when it is over the agent's voice (a barge-in candidate)."""
        if not self.enabled or self.pause is not None or not self._playout.speaking:
            return False
        self.candidate = tr.at
        return True

    def frame(self, end: float, speaking: bool) -> None:
        """After each frame: pause on a candidate that has lasted, interrupt on long speech."""
        if self.candidate is not None:
            self.check(end, speaking)
        pause = self.pause
        if pause is not None and speaking and end - pause.onset >= self.confirm_s and self._voice_ok(pause):
            self.commit(end, "long_speech", "")

    def check(self, now: float, speaking: bool) -> None:
        """Speech over the agent pauses it once it has lasted `barge_in_min_speech_ms` and some of it
        came at the user's own level; a blip that stops before that (a residue of echo, a click) does
        not."""
        onset = self.candidate
        if onset is None:
            return
        playing = self._playout.speaking
        if not speaking and playing:
            # too short to pause the agent, so too short to be a turn of its own: a residue of our
            # echo or a click would otherwise be transcribed ("Thank you." is Whisper's favourite)
            # and answered over the answer still playing
            self.candidate = None
            self._owner.forget_speech()
        elif not playing:  # the agent finished first: an ordinary turn goes on
            self.candidate = None
        elif now - onset >= self._needed() and self._at_user_level(onset):
            self.candidate = None
            turn = self._playout.turn
            if turn is None:
                return
            self.pause = Pause(turn, onset, now)
            if not self.resume_on_false:
                self.commit(now, "speech", "")
                return
            self._playout.pause()  # the next pulled frame is silence
            self._bus.publish(AgentPaused(now, turn, onset))
            if self.voice_check is not None:
                self.pause.voice = asyncio.get_running_loop().create_future()
                self._owner.spawn(self._verify_voice(self.pause), "voice-check")

    @staticmethod
    def _voice_ok(pause: Pause) -> bool:
        return pause.voice is None or (pause.voice.done() and pause.voice.result())

    async def _verify_voice(self, pause: Pause) -> None:
        """Whose voice paused the agent, asked as the speech grows (a voiceprint needs ~1 s to be
        sure): the locked voice goes on to interrupt as usual; another voice resumes the agent."""
        check, future = self.voice_check, pause.voice
        assert check is not None and future is not None
        verdict = Decision.UNSURE
        try:
            for needed in VOICE_CHECKS_S:
                due = pause.onset + needed
                while self.pause is pause and not pause.classifying and self._clock.now() < due:
                    await sleep_until(self._clock, min(due, self._clock.now() + 0.02))
                if self.pause is not pause:
                    return
                heard = self._clock.now() - pause.onset
                verdict = await check(self._owner.peek_speech(heard))
                if verdict is not Decision.UNSURE or pause.classifying:
                    break
        finally:
            if not future.done():
                future.set_result(verdict is not Decision.OTHER)
        if verdict is Decision.OTHER and self.pause is pause:
            self.resume("other_voice", "")

    def _needed(self) -> float:
        level_known = self.speech_level is not None and self.speech_level.level_db is not None
        settling = self._settling
        if settling is not None and settling(SETTLING_KNOWN_LEVEL_S if level_known else SETTLING_S):
            return self.min_speech_s * SETTLING_FACTOR
        return self.min_speech_s

    def _at_user_level(self, onset: float) -> bool:
        """Enough of the speech since `onset` came at the user's own level (always true while that
        level is unknown or the gate is off)."""
        loud = self.speech_level.loud_seconds(onset) if self.speech_level is not None else None
        return loud is None or loud >= LOUD_SPEECH_S

    def speech_stopped(self, tr: VadTransition) -> None:
        """The speech that paused the agent stopped: transcribe it to judge the pause."""
        pause = self.pause
        if pause is None or pause.classifying:
            return
        pause.classifying = True
        pause.speech_end = tr.at
        # from just before the onset: Whisper invents words ("And then,") in a long lead-in
        lead_in = tr.decided - pause.onset + JUDGING_LEAD_IN_S
        self._owner.spawn(self.judge(pause, self._owner.peek_speech(lead_in)), "judge-pause")

    # ---- the decision ------------------------------------------------------------------------------

    async def judge(self, pause: Pause, audio: np.ndarray) -> None:
        """Transcribe the speech that paused the agent: words that are not a backchannel interrupt."""
        try:
            text = (await self._stt.transcribe(audio, INPUT_RATE, JUDGING_PROMPT)).text.strip()
        except ProviderError as exc:  # unknown words: the user did talk, so they get the floor
            log.warning("judging an interruption: %s", exc)
            text, kind = "", "speech"
        else:
            kind = self.backchannels.classify(text, self._owner.answer_text())
        pause.classifying = False
        if pause.voice is not None and not await pause.voice:
            return  # another voice: the agent has resumed
        if self.pause is not pause or self._owner.user_speaking():
            return  # already decided, or the user is talking again: the next stop is judged afresh
        if kind == "speech":
            if text:
                self._owner.remember_words(pause.speech_end, text)
            self.commit(self._clock.now(), "speech", text)
        else:
            self.resume(kind, text)

    def commit(self, at: float, reason: str, text: str) -> None:
        """A real interruption: the answer stays silent and is cancelled; the user has the floor."""
        pause, self.pause = self.pause, None
        if pause is None:
            return
        heard = self._playout.interrupt()  # what was heard was fixed when it paused
        self._owner.cancel_answer()
        self._bus.publish(Interruption(at, pause.turn, heard, pause.paused_at, pause.onset, reason, text))
        self._owner.hold_turn(self.after_interruption_s)
        self._owner.check_turn_end(at)

    def resume(self, kind: str, text: str) -> None:
        """A false interruption: the speech was no turn, and the answer goes on where it paused."""
        pause, self.pause = self.pause, None
        if pause is None:
            return
        now = self._clock.now()
        self._owner.forget_speech()  # a backchannel, a cough or an echo is not a turn
        self._playout.resume()
        self._bus.publish(AgentResumed(now, pause.turn, kind, text, round((now - pause.paused_at) * 1000, 1)))
