"""A voice session: one person talking with one agent.

The per-frame path (`push_audio`, `pull_audio`) is synchronous: front end → VAD → endpointer, and a
slice copy out of the playout queue. Only the answer (STT → LLM → TTS) runs as a task, and barge-in
is a plain call that empties the playout queue and cancels that task.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import numpy as np

from vagus.agent.services import Services
from vagus.audio.resample import StreamResampler
from vagus.brain.context import Conversation
from vagus.brain.speaker import SpeakTimings, speak_answer
from vagus.config import AgentConfig
from vagus.core.bus import EventBus
from vagus.core.clock import Clock
from vagus.core.events import (
    AgentCue,
    AgentPaused,
    AgentResumed,
    AgentSentence,
    AgentSpeechStarted,
    AgentSpeechStopped,
    ErrorEvent,
    Interruption,
    SensesReport,
    SessionEnded,
    SessionStarted,
    TranscriptFinal,
    TurnContinued,
    TurnEnded,
    TurnHeld,
    TurnLatency,
    TurnSkipped,
    UserSpeechStarted,
    UserSpeechStopped,
)
from vagus.core.frames import AudioFrame
from vagus.core.processor import ProcessorChain
from vagus.core.session import Session
from vagus.logs import log_session_events
from vagus.senses.front_end import build_front_end
from vagus.senses.vad import VadSettings, VadTransition, VoiceActivityDetector
from vagus.services.errors import ProviderError
from vagus.turns.cues import BackchannelTiming, CueVoice
from vagus.turns.endpointing import SemanticWaits, SilenceEndpointer, TurnDecision
from vagus.turns.interruption import JUDGING_PROMPT, BackchannelMatcher
from vagus.turns.playout import Playout
from vagus.turns.speech_level import ECHO_TAIL_S, SpeechLevelGate
from vagus.turns.unfinished import UnfinishedText
from vagus.turns.utterance import UtteranceRecorder

log = logging.getLogger("vagus.agent")

INPUT_RATE = 16000
SENSES_REPORT_S = 5.0
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
JUDGING_LEAD_IN_S = 0.1
"""Audio kept before the onset of speech over the agent when transcribing it to judge the pause."""
APOLOGY = "Sorry, I can't reach my language model right now."


@dataclass(slots=True)
class _Pause:
    """The agent paused for the user's speech; not yet known whether it is a real interruption."""

    turn: int
    onset: float
    paused_at: float
    classifying: bool = False
    speech_end: float = 0.0
    """End of the speech being transcribed, to reuse its words if the same speech becomes a turn."""


@dataclass(slots=True)
class _Turn:
    number: int
    speech_start: float
    speech_end: float
    decided: float
    decided_real: float
    user_text: str = ""
    held: bool = False
    marks: dict[str, float] = field(default_factory=dict)
    stages_ms: dict[str, float] = field(default_factory=dict)
    speak: SpeakTimings = field(default_factory=SpeakTimings)


class VoiceSession(Session):
    def __init__(
        self,
        services: Services,
        config: AgentConfig,
        output_rate: int,
        clock: Clock | None = None,
        bus: EventBus | None = None,
        session_id: str | None = None,
    ) -> None:
        super().__init__(clock, bus, session_id)
        self.services = services
        self.config = config
        self.output_rate = output_rate
        self.front_end = ProcessorChain()
        sc = config.senses
        self.senses = build_front_end(
            sc.echo.engine if sc.echo.enabled else None,
            sc.denoise.engine if sc.denoise.enabled else None,
            sc.gain.enabled,
            sc.echo.speex_filter_ms,
            sc.echo.double_talk,
            sc.denoise.attenuation_limit_db,
            sc.denoise.clean_snr_db,
            sc.denoise.model_path,
        )
        self._reference_resampler: StreamResampler | None = None
        if self.senses is not None:
            self.front_end.stages.append(self.senses)
            if self.senses.reference is not None:
                self._reference_resampler = StreamResampler(output_rate, INPUT_RATE)
        self._next_report = SENSES_REPORT_S
        self._barge_candidate: float | None = None
        self._barge_min_s = config.turns.barge_in_min_speech_ms / 1000.0
        margin = config.turns.barge_in_level_margin_db
        self.speech_level = SpeechLevelGate(margin) if margin is not None else None
        self._agent_audible_until = -math.inf
        """Session time until which the agent's own voice may still be in the microphone."""
        self._confirm_s = config.turns.confirm_speech_ms / 1000.0
        self.backchannels = BackchannelMatcher(config.turns.backchannels)
        self._pause: _Pause | None = None
        self._known_words: tuple[float, str] | None = None
        """(speech end, words) already transcribed (a confirmed interruption, a transcript taken to
        judge the end of the turn): the turn ending there needs no second transcription."""
        v, tc = config.vad, config.turns
        self.vad = VoiceActivityDetector(
            services.vad, VadSettings(v.start_threshold, v.stop_threshold, v.min_speech_ms, v.min_silence_ms)
        )
        eot = tc.end_of_turn
        semantic = None
        if eot.model != "none" and services.end_of_turn is not None:
            semantic = SemanticWaits(
                eot.complete_silence_ms,
                eot.incomplete_silence_ms,
                eot.threshold,
                eot.predict_after_ms,
                eot.text_silence_ms,
            )
        self.unfinished = (
            UnfinishedText(eot.unfinished_endings, eot.require_final_punctuation) if eot.text_check else None
        )
        self._hold_s = eot.incomplete_silence_ms / 1000.0
        bc, ack = tc.agent_backchannels, tc.acknowledgement
        self._backchannel_voice = CueVoice(bc.phrases, services.tts, output_rate) if bc.enabled else None
        self._backchannel_timing = BackchannelTiming(bc.after_silence_ms, bc.min_turn_s, bc.min_interval_s)
        self._ack_voice = CueVoice(ack.phrases, services.tts, output_rate) if ack.enabled else None
        self._ack_after_s = ack.after_ms / 1000.0
        self._cues_prepared = self._backchannel_voice is None and self._ack_voice is None
        self.endpointer = SilenceEndpointer(tc.silence_ms, tc.min_utterance_ms, tc.max_utterance_s, semantic)
        self.recorder = UtteranceRecorder(INPUT_RATE, tc.preroll_ms, tc.max_utterance_s + 1)
        self.conversation = Conversation(config.system_prompt, config.context_tokens)
        self.playout = Playout(output_rate, on_started=self._agent_started, on_finished=self._agent_finished)
        self._turn_count = 0
        self._current: _Turn | None = None
        self._response: asyncio.Task[None] | None = None
        self._carry: tuple[np.ndarray, float] | None = None
        self._pending_audio: tuple[np.ndarray, float] | None = None
        log_session_events(self.bus, self.id)
        self.bus.publish(SessionStarted(self.clock.now(), self.id))

    # ---- the per-frame path -------------------------------------------------------------------------

    def push_audio(self, pcm: np.ndarray, t: float | None = None) -> None:
        """Feed one block of 16 kHz mono float32 microphone audio starting at session time `t`."""
        if t is None:
            t = self.clock.now() - len(pcm) / INPUT_RATE
        if self.front_end.stages:
            frame = self.front_end.process(AudioFrame(pcm, INPUT_RATE, t))
            if frame is None:
                return
            pcm, t = frame.pcm, frame.t
        self.recorder.push(pcm, t)
        transitions = self.vad.process(pcm, t)
        end = t + len(pcm) / INPUT_RATE
        if self.speech_level is not None:
            learn = self.vad.speaking and t >= self._agent_audible_until
            self.speech_level.observe(pcm, t, INPUT_RATE, learn)
        for transition in transitions:
            if transition.speaking:
                self._speech_started(transition)
            else:
                self._speech_stopped(transition)
        if self._barge_candidate is not None:
            self._check_barge_in(end)
        pause = self._pause
        if pause is not None and self.vad.speaking and end - pause.onset >= self._confirm_s:
            self._commit_interruption(end, "long_speech", "")
        due = self.endpointer.prediction_due(end, self.vad.silent_since)
        if due is not None:
            self.spawn(self._judge_end_of_turn(due, self.recorder.peek(8.0)), "end-of-turn")
        if t >= self._next_report:
            self._report_senses(t)
        if not self._cues_prepared:
            self.prepare_cues()
        if self._backchannel_voice is not None:
            self._maybe_backchannel(end)
        self._check_turn_end(end)

    def pull_audio(self, n: int) -> np.ndarray:
        """The agent's next `n` output samples at `output_rate` (silence when it has nothing to say)."""
        out = self.playout.pull(n)
        if out.any():
            self._agent_audible_until = self.clock.now() + n / self.output_rate + ECHO_TAIL_S
        if self._reference_resampler is not None:
            self.senses.push_reference(self._reference_resampler.process(out))  # type: ignore[union-attr]
        return out

    def _report_senses(self, t: float) -> None:
        self._next_report = t + SENSES_REPORT_S
        fe = self.senses
        if fe is not None:
            self.bus.publish(SensesReport(t, fe.names, fe.stats.cost_us_per_block(), fe.delay_ms()))

    @property
    def responding(self) -> bool:
        """An answer is being prepared or played."""
        return self._response is not None or self.playout.active

    # ---- user speech and turns ----------------------------------------------------------------------

    def _speech_started(self, tr: VadTransition) -> None:
        self.bus.publish(UserSpeechStarted(tr.decided, tr.at))
        if self.playout.cueing:
            self.playout.drop_cue()  # never over the user
        if not self.endpointer.in_turn:
            self.recorder.start(tr.at)
        self.endpointer.speech_started(tr.at)
        if not self.config.turns.barge_in or self._pause is not None:
            return
        if self.playout.speaking:
            self._barge_candidate = tr.at
            self._check_barge_in(tr.decided)
        elif self._response is not None and self._pending_audio is not None:
            # The user went on talking before the answer started: the pending answer is dropped and
            # its audio is heard again together with what follows, as one turn.
            self._carry = self._pending_audio
            self._cancel_response()
            self.playout.interrupt()
            if self._current is not None:
                self.bus.publish(TurnContinued(tr.decided, self._current.number))

    def _speech_stopped(self, tr: VadTransition) -> None:
        self.bus.publish(UserSpeechStopped(tr.decided, tr.at))
        self.endpointer.speech_stopped(tr.at)
        pause = self._pause
        if pause is not None and not pause.classifying:
            pause.classifying = True
            pause.speech_end = tr.at
            # from just before the onset: Whisper invents words ("And then,") in a long lead-in
            lead_in = tr.decided - pause.onset + JUDGING_LEAD_IN_S
            self.spawn(self._judge_pause(pause, self.recorder.peek(lead_in)), "judge-pause")

    def _check_turn_end(self, now: float) -> None:
        """While the agent is paused the user's turn stays open: a backchannel is no turn, and words
        that follow a short pause ("Wait, … stop please") belong to the same turn."""
        if self._pause is not None:
            return
        decision = self.endpointer.check(now)
        if decision is not None:
            self._turn_ended(decision)

    def _turn_ended(self, decision: TurnDecision) -> None:
        audio = self.recorder.take()
        speech_start = decision.speech_start
        if self._carry is not None:
            carried, carried_start = self._carry
            self._carry = None
            audio = np.concatenate([carried, audio])
            speech_start = carried_start
        self._turn_count += 1
        turn = _Turn(self._turn_count, speech_start, decision.speech_end, decision.decided, time.perf_counter())
        turn.marks = {"speech_end": decision.speech_end, "turn_decided": decision.decided}
        self.bus.publish(
            TurnEnded(
                decision.decided, turn.number, speech_start, decision.speech_end, decision.reason, decision.probability
            )
        )
        self._pending_audio = (audio, speech_start)
        self._current = turn
        known, self._known_words = self._known_words, None
        # words already transcribed are this turn's words when it is the same speech and nothing was carried
        reuse = known is not None and known[0] == decision.speech_end and speech_start == decision.speech_start
        words = known[1] if reuse and known is not None else None
        self._response = self.spawn(self._respond(turn, audio, words), f"turn-{turn.number}")
        if self._ack_voice is not None:
            self.spawn(self._acknowledge_if_slow(turn), "acknowledgement")

    async def _judge_end_of_turn(self, speech_end: float, audio: np.ndarray) -> None:
        model = self.services.end_of_turn
        if model is None or len(audio) == 0:
            return
        try:
            probability = await model.judge(audio)
        except Exception:  # a broken model must not end the session: the long silence wait applies
            log.exception("end-of-turn model failed")
            return
        self.endpointer.set_probability(speech_end, probability)
        self._check_turn_end(self.clock.now())
        if self.unfinished is not None and self._pause is None and self.endpointer.text_due() is not None:
            self.spawn(self._judge_words(speech_end, self.recorder.peek()), "end-of-turn-words")

    async def _judge_words(self, speech_end: float, audio: np.ndarray) -> None:
        """The model heard an unfinished utterance: a transcript that is a finished sentence ends the
        turn sooner (`text_silence_ms`), and becomes the turn's transcript."""
        try:
            text = (await self.services.stt.transcribe(audio, INPUT_RATE)).text.strip()
        except ProviderError as exc:  # the long wait applies, and the turn is transcribed again
            log.warning("transcribing to judge the end of turn: %s", exc)
            return
        if self.endpointer.speech_start is None or self.unfinished is None:
            return  # the turn already ended (the long wait ran out first)
        self._known_words = (speech_end, text)
        if text and not self.unfinished.unfinished(text):
            self.endpointer.set_text_finished(speech_end)
            self._check_turn_end(self.clock.now())

    def _check_barge_in(self, now: float) -> None:
        """Speech over the agent pauses it once it has lasted `barge_in_min_speech_ms` and some of it
        came at the user's own level; a blip that stops before that (a residue of echo, a click) does
        not."""
        onset = self._barge_candidate
        if onset is None:
            return
        level_known = self.speech_level is not None and self.speech_level.level_db is not None
        needed = self._barge_min_s
        settling = getattr(self.senses.echo, "settling", None) if self.senses is not None else None
        if settling is not None and settling(SETTLING_KNOWN_LEVEL_S if level_known else SETTLING_S):
            needed *= SETTLING_FACTOR
        if not self.vad.speaking and self.playout.speaking:
            # too short to pause the agent, so too short to be a turn of its own: a residue of our
            # echo or a click would otherwise be transcribed ("Thank you." is Whisper's favourite)
            # and answered over the answer still playing
            self._barge_candidate = None
            self._forget_speech()
        elif not self.playout.speaking:  # the agent finished first: an ordinary turn goes on
            self._barge_candidate = None
        elif now - onset >= needed and self._at_user_level(onset):
            self._barge_candidate = None
            turn = self.playout.turn
            if turn is None:
                return
            self._pause = _Pause(turn, onset, now)
            if not self.config.turns.resume_on_false_interruption:
                self._commit_interruption(now, "speech", "")
                return
            self.playout.pause()  # the next pulled frame is silence
            self.bus.publish(AgentPaused(now, turn, onset))

    def _at_user_level(self, onset: float) -> bool:
        """Enough of the speech since `onset` came at the user's own level (always true while that
        level is unknown or the gate is off)."""
        loud = self.speech_level.loud_seconds(onset) if self.speech_level is not None else None
        return loud is None or loud >= LOUD_SPEECH_S

    async def _judge_pause(self, pause: _Pause, audio: np.ndarray) -> None:
        """Transcribe the speech that paused the agent: words that are not a backchannel interrupt."""
        try:
            text = (await self.services.stt.transcribe(audio, INPUT_RATE, JUDGING_PROMPT)).text.strip()
        except ProviderError as exc:  # unknown words: the user did talk, so they get the floor
            log.warning("judging an interruption: %s", exc)
            text, kind = "", "speech"
        else:
            agent_text = " ".join(self._current.speak.sentences) if self._current is not None else ""
            kind = self.backchannels.classify(text, agent_text)
        pause.classifying = False
        if self._pause is not pause or self.vad.speaking:
            return  # already decided, or the user is talking again: the next stop is judged afresh
        if kind == "speech":
            self._known_words = (pause.speech_end, text) if text else None
            self._commit_interruption(self.clock.now(), "speech", text)
        else:
            self._resume(kind, text)

    def _commit_interruption(self, at: float, reason: str, text: str) -> None:
        pause, self._pause = self._pause, None
        if pause is None:
            return
        heard = self.playout.interrupt()  # stays silent; what was heard was fixed when it paused
        self._cancel_response()
        self.bus.publish(Interruption(at, pause.turn, heard, pause.paused_at, pause.onset, reason, text))
        self._check_turn_end(at)

    def _resume(self, kind: str, text: str) -> None:
        pause, self._pause = self._pause, None
        if pause is None:
            return
        now = self.clock.now()
        self._forget_speech()  # a backchannel, a cough or an echo is not a turn
        self.playout.resume()
        self.bus.publish(AgentResumed(now, pause.turn, kind, text, round((now - pause.paused_at) * 1000, 1)))

    def _forget_speech(self) -> None:
        """The speech so far is no turn: the endpointer starts afresh and its audio is dropped."""
        self.endpointer.reset()
        self.recorder.take()

    async def _sleep_until(self, t: float) -> None:
        """Wait for session time `t`, polled: the clock may be media time (file transport)."""
        while self.clock.now() < t:
            await asyncio.sleep(0.01)

    def _cancel_response(self) -> None:
        if self._response is not None:
            self._response.cancel()
            self._response = None

    # ---- the answer --------------------------------------------------------------------------------

    async def _respond(self, turn: _Turn, audio: np.ndarray, words: str | None = None) -> None:
        """`words`: the turn's transcript when already known (a confirmed interruption's words)."""
        try:
            if words is None:
                start = time.perf_counter()
                transcript = await self.services.stt.transcribe(audio, INPUT_RATE)
                turn.stages_ms["stt"] = (time.perf_counter() - start) * 1000
                words = transcript.text
            turn.marks["stt_done"] = self.clock.now()
            text = words.strip()
            if not text:
                self.bus.publish(TurnSkipped(self.clock.now(), turn.number, "no words transcribed"))
                return
            turn.user_text = text
            await self._hold_if_unfinished(turn, text)
            self._pending_audio = None
            self.bus.publish(TranscriptFinal(self.clock.now(), turn.number, text))
            messages = self.conversation.messages()
            messages.append({"role": "user", "content": text})
            self.playout.begin(turn.number)
            try:
                await self._speak(turn, self.services.llm.stream(messages))
            except ProviderError as exc:
                log.warning("turn %d: %s", turn.number, exc)
                self.bus.publish(ErrorEvent(self.clock.now(), "llm", exc.kind, exc.message))
                if not turn.speak.sentences:
                    self.playout.begin(turn.number)
                    await self._speak(turn, _single(APOLOGY))
            self.playout.close()
            if turn.speak.first_audio_queued is None:  # nothing to say: still remember what was asked
                self.conversation.add_user(text)
        except asyncio.CancelledError:
            raise
        except ProviderError as exc:
            log.warning("turn %d: %s", turn.number, exc)
            self.bus.publish(ErrorEvent(self.clock.now(), exc.provider, exc.kind, exc.message))
            self.playout.close()
        finally:
            if self._response is asyncio.current_task():
                self._response = None

    async def _hold_if_unfinished(self, turn: _Turn, text: str) -> None:
        """Words that stop mid-sentence ("Could you tell me") are not answered until the user has been
        silent for `incomplete_silence_ms`: if they go on, `_speech_started` cancels this answer and
        the turn continues with what follows (`turn_continued`)."""
        if self.unfinished is None or not self.unfinished.unfinished(text):
            return
        until = turn.speech_end + self._hold_s
        if self.clock.now() >= until:
            return
        turn.held = True
        self.bus.publish(TurnHeld(self.clock.now(), turn.number, text, until))
        await self._sleep_until(until)

    # ---- cues: the agent's backchannels and acknowledgements (turns/cues.py) ------------------------

    def prepare_cues(self) -> None:
        """Synthesise the cues' audio in the background, once (on the first frame: needs the loop)."""
        if self._cues_prepared:
            return
        self._cues_prepared = True
        for voice in (self._backchannel_voice, self._ack_voice):
            if voice is not None:
                self.spawn(voice.prepare(), "prepare-cues")

    def _maybe_backchannel(self, now: float) -> None:
        ep, voice = self.endpointer, self._backchannel_voice
        if voice is None or self.vad.speaking or self.responding or self.playout.cueing or self._pause is not None:
            return
        silence = ep.paused_mid_turn
        if silence is None or not self._backchannel_timing.due(now, ep.speech_start, silence, True):
            return
        cue = voice.next()
        if cue is None:
            return
        self._backchannel_timing.played(now, silence)
        self.playout.cue(cue[1])
        self.bus.publish(AgentCue(now, self._turn_count + 1, "backchannel", cue[0]))

    async def _acknowledge_if_slow(self, turn: _Turn) -> None:
        await self._sleep_until(turn.decided + self._ack_after_s)
        voice = self._ack_voice
        if voice is None or self._current is not turn or self._response is None or turn.held:
            return  # answered, dropped, or waiting on purpose for more words
        if turn.speak.first_audio_queued is not None or self.vad.speaking or self.playout.speaking:
            return
        cue = voice.next()
        if cue is not None:
            self.playout.cue(cue[1])
            self.bus.publish(AgentCue(self.clock.now(), turn.number, "acknowledgement", cue[0]))

    async def _speak(self, turn: _Turn, deltas: AsyncIterator[str]) -> None:
        def on_sentence(index: int, sentence: str) -> None:
            if index == 0:
                turn.marks["first_sentence"] = self.clock.now()
            self.bus.publish(AgentSentence(self.clock.now(), turn.number, index, sentence))

        def on_first_token() -> None:
            turn.marks["llm_first_token"] = self.clock.now()

        def on_first_audio() -> None:
            turn.marks["tts_first_audio"] = self.clock.now()

        await speak_answer(
            deltas,
            self.services.tts,
            self.playout,
            self.output_rate,
            on_sentence=on_sentence,
            on_first_token=on_first_token,
            on_first_audio=on_first_audio,
            timings=turn.speak,
        )

    # ---- playout callbacks (called from pull_audio, i.e. the frame path) --------------------------

    def _agent_started(self, number: int) -> None:
        now = self.clock.now()
        self.bus.publish(AgentSpeechStarted(now, number))
        turn = self._current
        if turn is None or turn.number != number:
            return
        if turn.user_text:
            self.conversation.add_user(turn.user_text)
        turn.marks["first_audio_sent"] = now
        s = turn.speak
        stages: dict[str, float] = dict(turn.stages_ms)
        if s.first_sentence is not None:
            stages["llm_first_sentence"] = (s.first_sentence - s.llm_start) * 1000
        if s.llm_first_token is not None:
            stages["llm_first_token"] = (s.llm_first_token - s.llm_start) * 1000
        if s.tts_start is not None and s.tts_first_audio is not None:
            stages["tts_first_audio"] = (s.tts_first_audio - s.tts_start) * 1000
        overhead = 0.0
        if s.first_audio_queued is not None:
            total = (s.first_audio_queued - turn.decided_real) * 1000
            inside = stages.get("stt", 0.0) + stages.get("llm_first_sentence", 0.0) + stages.get("tts_first_audio", 0.0)
            overhead = max(0.0, total - inside)
        self.bus.publish(
            TurnLatency(
                now,
                number,
                marks={k: round(v, 4) for k, v in turn.marks.items()},
                stages_ms={k: round(v, 2) for k, v in stages.items()},
                overhead_ms=round(overhead, 3),
                response_ms=round((now - turn.speech_end) * 1000, 1),
            )
        )

    def _agent_finished(self, number: int, interrupted: bool) -> None:
        turn = self._current
        if turn is not None and turn.number == number:
            spoken = self.playout.heard_text() if interrupted else " ".join(turn.speak.sentences)
            self.conversation.add_assistant(spoken, interrupted=interrupted)
        self.bus.publish(AgentSpeechStopped(self.clock.now(), number, interrupted))

    async def close(self, reason: str = "closed") -> None:
        if self.closed:
            return
        self._cancel_response()
        await super().close()
        self.bus.publish(SessionEnded(self.clock.now(), self.id, reason))


async def _single(text: str) -> AsyncIterator[str]:
    yield text
