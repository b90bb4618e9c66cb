"""A voice session: one person talking with one agent, composed of small parts.

The per-frame path is synchronous and split in two halves so that a host can batch the VAD model
across sessions: `hear` runs the front end and the stage hooks and returns the chunks the VAD model
must score; `decide` takes their probabilities and runs the turn logic (VAD hysteresis, barge-in,
end of turn, cues). `push_audio` does both with this session's own model call. `pull_audio` is a
slice copy out of the playout queue. Only the answer (`agent/answer.py`) and model judgements run as
tasks, and barge-in (`turns/barge_in.py`) is a plain call that empties the playout queue and cancels
the answer.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

import numpy as np

from vagus.agent.answer import AnswerPipeline, single_text
from vagus.agent.latency import TurnRecord, latency_event
from vagus.agent.services import Services
from vagus.agent.speculation import Draft, Speculator
from vagus.brain.context import Conversation
from vagus.brain.flow import Flow, FlowRunner
from vagus.brain.memory import MemoryStore, memory_tools
from vagus.brain.memory import describe as describe_memory
from vagus.brain.skills import builtin_tools
from vagus.brain.summary import Summarizer
from vagus.brain.tools import Tool, Toolbox
from vagus.config import AgentConfig
from vagus.core.bus import EventBus
from vagus.core.clock import Clock, sleep_until
from vagus.core.events import (
    AddresseeJudged,
    AgentSpeechStarted,
    AgentSpeechStopped,
    AnswerDone,
    SessionEnded,
    SessionStarted,
    SpeakerIdentified,
    SpeakerLocked,
    TurnContinued,
    TurnEnded,
    TurnSkipped,
    UserProsody,
    UserSpeechStarted,
    UserSpeechStopped,
)
from vagus.core.frames import AudioFrame
from vagus.core.processor import FrameProcessor, ProcessorChain
from vagus.core.session import Session
from vagus.logs import log_session_events
from vagus.perception.addressee import AddresseeJudge, acoustic_score
from vagus.perception.prosody import GUIDANCE as PROSODY_GUIDANCE
from vagus.perception.prosody import ProsodyTracker, acoustics_async
from vagus.perception.speaker import EARLY_S, Decision, SpeakerLock
from vagus.perception.vault import VaultError, Voiceprint, VoiceprintVault
from vagus.senses.front_end import build_front_end_from_config
from vagus.senses.vad import VadTransition, VoiceActivityDetector
from vagus.turns.barge_in import BargeIn
from vagus.turns.cues import Cues
from vagus.turns.endpointing import SilenceEndpointer, TurnDecision
from vagus.turns.judging import TurnJudge
from vagus.turns.playout import Playout
from vagus.turns.unfinished import UnfinishedText
from vagus.turns.utterance import UtteranceRecorder

log = logging.getLogger("vagus.session")

INPUT_RATE = 16000
ENROL_KEEP_S = 15.0
PROSODY_WAIT_S = 0.05
"""How long an answer whose words are ready may wait for the turn's prosody (measured alongside)."""


@dataclass(slots=True)
class Heard:
    """One frame after the front end and the stage hooks, waiting for its VAD probabilities."""

    pcm: np.ndarray
    t: float
    chunks: list[tuple[np.ndarray, float]]
    """The VAD model's chunks completed by this frame, with their start times."""


class VoiceSession(Session):
    def __init__(
        self,
        services: Services,
        config: AgentConfig,
        output_rate: int,
        clock: Clock | None = None,
        bus: EventBus | None = None,
        session_id: str | None = None,
        tools: Toolbox | None = None,
        flow: Flow | None = None,
        user: str | None = None,
        memory: MemoryStore | None = None,
        voiceprints: list[Voiceprint] | None = None,
        vault: VoiceprintVault | None = None,
    ) -> None:
        """`tools`: what the language model may call in this session (its own toolbox: call ids
        are remembered per session); the config's built-in skills are added to them. `flow`: the
        conversation's steps (default: the config's `flow:` section, if any). `user`: who is talking
        (a token's identity), for `memory`: what is remembered about them between conversations."""
        super().__init__(clock, bus, session_id)
        self.user = user
        self.memory = memory if user is not None else None
        self.lasting_tools: list[Tool] = []
        """Tools that stay through flow steps and handoffs (the user's memory)."""
        if flow is None and config.flow is not None:
            flow = Flow.from_config(config.flow)
        if config.tools.builtin or flow is not None or self.memory is not None:
            tools = tools if tools is not None else Toolbox()
            for skill in builtin_tools(list(config.tools.builtin)):
                tools.add(skill)
            if self.memory is not None and user is not None:
                self.lasting_tools = memory_tools(self.memory, user, self._recall)
                for item in self.lasting_tools:
                    tools.add(item)
        self.services, self.config, self.output_rate = services, config, output_rate
        self.senses = build_front_end_from_config(config.senses)
        self.front_end = ProcessorChain([self.senses] if self.senses is not None else [])
        self.stages = ProcessorChain()
        """Stage hooks: per-frame stages between the front end and the VAD (`add_stage`)."""
        self.vad = VoiceActivityDetector(services.vad, config.vad)
        tc, eot = config.turns, config.turns.end_of_turn
        self.endpointer = SilenceEndpointer(tc, semantic=services.end_of_turn is not None)
        punctuates = getattr(services.stt, "punctuates", None)
        self.unfinished = (
            UnfinishedText(eot.unfinished_endings, eot.require_final_punctuation, punctuates)
            if eot.text_check
            else None
        )
        self.recorder = UtteranceRecorder(INPUT_RATE, tc.preroll_ms, tc.max_utterance_s + 1)
        self.conversation = Conversation(config.system_prompt, config.context_tokens)
        self.conversation.count_tokens = getattr(services.llm, "count_tokens", None)
        self._recall()
        self.summarizer: Summarizer | None = None
        if config.context_summary:
            brain = services.llm if getattr(services.llm, "summarizes", True) else None
            self.summarizer = Summarizer(self.conversation, brain, self.spawn)
            self.conversation.on_added = self.summarizer.check
        self.playout = Playout(output_rate, on_started=self._agent_started, on_finished=self._agent_finished)
        echo = self.senses.echo if self.senses is not None else None
        self.barge_in = BargeIn(
            tc, self, self.playout, services.stt, self.clock, self.bus, getattr(echo, "settling", None)
        )
        fillers = config.tools.filler_phrases if (tools or flow) and config.tools.filler else None
        self.cues = Cues(tc, services.tts, output_rate, self.playout, self.bus, self.clock, fillers)
        self.answers = AnswerPipeline(
            services,
            self.conversation,
            self.playout,
            self.bus,
            self.clock,
            output_rate,
            self.unfinished,
            eot.incomplete_silence_ms / 1000.0,
            self.sleep_until,
            config.deadlines,
            tools,
            config.tools,
            self.spawn,
            self._tool_filler,
            config.speech,
        )
        self.speculation = Speculator(
            tc.speculation,
            services.stt,
            self.unfinished,
            self.conversation.messages,
            self.answers.llm_stream,
            config.deadlines,
            self.spawn,
        )
        self._turn_count = 0
        self._current: TurnRecord | None = None
        self._response: asyncio.Task[None] | None = None
        self._carry: tuple[np.ndarray, float] | None = None
        self._pending_audio: tuple[np.ndarray, float] | None = None
        self._turn_due: float | None = None
        self.judge = TurnJudge(
            services.end_of_turn,
            services.stt,
            self.endpointer,
            self.recorder,
            self.unfinished,
            self.clock,
            self.spawn,
            self.check_turn_end,
            lambda: self.barge_in.pause is not None,
            self.speculation.words_for,
        )
        self.vault = vault
        self._recent_speech: deque[np.ndarray] = deque()
        """The user's latest turns' speech (at most ENROL_KEEP_S), for enrolling them from the page."""
        pc = config.perception.prosody
        self.prosody = ProsodyTracker() if pc.enabled else None
        self._measured: dict[int, dict[str, asyncio.Future[Any]]] = {}
        """Per turn: its perception measurements (voice, addressee, prosody), each taken once by its gate."""
        if self.prosody is not None:
            self.answers.prosody_tag = self._prosody_tag
        self.speaker: SpeakerLock | None = None
        if config.perception.speaker.lock != "off":
            if services.voice is None:
                raise ValueError("perception.speaker.lock needs the voiceprint model (services.voice)")
            self.speaker = SpeakerLock(config.perception.speaker, services.voice.embed_async, voiceprints or [])
            self.barge_in.voice_check = self._voice_check
        ac = config.perception.addressee
        self.addressee = AddresseeJudge(config.name, ac.threshold, services.music) if ac.enabled else None
        self._asked_at: float | None = None
        if self.speaker is not None or self.addressee is not None:
            self.answers.turn_gate = self._listener_gate
        if self.speaker is not None or (self.addressee is not None and ac.over_agent):
            self.barge_in.voice_check = self._voice_check
        if self.speaker is not None or self.addressee is not None or self.prosody is not None:
            self.speculation.on_draft = self._measure_with_draft
        log_session_events(self.bus, self.id)
        self.bus.publish(SessionStarted(self.clock.now(), self.id))
        self.flow: FlowRunner | None = None
        if flow is not None:
            assert tools is not None
            self.use_flow(flow, config.system_prompt, dict(tools.tools))

    def use_flow(self, flow: Flow | None, instructions: str, available: dict[str, Tool]) -> None:
        """Run the conversation in `flow`'s steps from now on (None: no flow, the plain instructions)."""
        box = self.answers.toolbox
        assert box is not None
        if flow is None:
            self.flow = None
            box.on_result = None
            self.conversation.system_prompt = instructions
            return
        summarize = self.summarizer.fold_all if self.summarizer is not None else None
        self.flow = FlowRunner(
            flow, instructions, self.conversation, box, self.bus, self.clock, available, summarize, self.lasting_tools
        )

    def _recall(self) -> None:
        """What the agent remembers about this user, into its instructions."""
        if self.memory is not None and self.user is not None and hasattr(self, "conversation"):
            self.conversation.notes = describe_memory(self.memory.facts(self.user))

    # ---- extension points ---------------------------------------------------------------------------

    def add_stage(self, stage: FrameProcessor) -> None:
        """Insert a per-frame stage between the front end and the VAD (a perception model, a tap).
        It is a plain synchronous call on each frame; returning None drops the frame."""
        self.stages.stages.append(stage)

    # ---- the per-frame path -------------------------------------------------------------------------

    def push_audio(self, pcm: np.ndarray, t: float | None = None) -> None:
        """Feed one block of 16 kHz mono float32 microphone audio starting at session time `t`."""
        heard = self.hear(pcm, t)
        if heard is not None:
            self.decide(heard, [self.vad.infer(chunk) for chunk, _ in heard.chunks])

    def hear(self, pcm: np.ndarray, t: float | None = None) -> Heard | None:
        """First half of a frame: front end and stage hooks; the VAD chunks this frame completes."""
        if t is None:
            t = self.clock.now() - len(pcm) / INPUT_RATE
        if self.front_end.stages or self.stages.stages:
            frame: AudioFrame | None = AudioFrame(pcm, INPUT_RATE, t)
            frame = self.front_end.process(frame) if self.front_end.stages else frame  # type: ignore[arg-type]
            if frame is not None and self.stages.stages:
                frame = self.stages.process(frame)
            if frame is None:
                return None
            pcm, t = frame.pcm, frame.t
        self.recorder.push(pcm, t)
        return Heard(pcm, t, self.vad.chunks(pcm, t))

    def decide(self, heard: Heard, probabilities: list[float] | np.ndarray) -> None:
        """Second half of a frame: the turn logic, given the VAD model's probability per chunk."""
        transitions = [
            tr
            for (chunk, start), p in zip(heard.chunks, probabilities, strict=True)
            if (tr := self.vad.feed_probability(float(p), start, chunk)) is not None
        ]
        pcm, t = heard.pcm, heard.t
        end = t + len(pcm) / INPUT_RATE
        self.barge_in.observe(pcm, t, self.vad.speaking)
        for transition in transitions:
            if transition.speaking:
                self._speech_started(transition)
            else:
                self._speech_stopped(transition)
        self.barge_in.frame(end, self.vad.speaking)
        self.judge.frame(end, self.vad.silent_since)
        if self.speculation.enabled:
            self.speculation.frame(end, self._silence_start(), self.endpointer.speech_start, self.recorder.peek)
        if self.senses is not None and (report := self.senses.report(t)) is not None:
            self.bus.publish(report)
        if not self.cues.prepared:
            self.cues.prepare(self.spawn)
        if self.cues.backchannel is not None:
            quiet = not self.vad.speaking and not self.responding and self.barge_in.pause is None
            ep = self.endpointer
            self.cues.maybe_backchannel(end, quiet, ep.speech_start, ep.paused_mid_turn, self._turn_count + 1)
        self.check_turn_end(end)
        self._check_turn_end_at_due(end, end - t)

    def _check_turn_end_at_due(self, now: float, frame_s: float) -> None:
        """A turn whose silence runs out before the next frame is decided at that moment, not at the
        frame's end (up to a frame later than the policy says). Speech in those last milliseconds
        arrives with the next frame and continues the turn (`turn_continued`)."""
        ep = self.endpointer
        start = ep.silence_start
        if start is None or self.barge_in.pause is not None:
            return
        due = start + ep.required_silence()
        if now < due < now + frame_s and due != self._turn_due:
            self._turn_due = due
            self.spawn(self._turn_end_due(due), "turn-due")

    async def _turn_end_due(self, due: float) -> None:
        await sleep_until(self.clock, due)
        if self._turn_due == due:
            self._turn_due = None
            self.check_turn_end(max(due, self.clock.now()) + 1e-9)

    def pull_audio(self, n: int) -> np.ndarray:
        """The agent's next `n` output samples at `output_rate` (silence when it has nothing to say)."""
        out = self.playout.pull(n)
        if out.any():
            self.barge_in.agent_output(self.clock.now(), n / self.output_rate)
        if self.senses is not None:
            self.senses.push_reference(out, self.output_rate)
        return out

    @property
    def responding(self) -> bool:
        """An answer is being prepared or played."""
        return self._response is not None or self.playout.active

    # ---- what the barge-in policy asks of the session (turns/barge_in.BargeInOwner) ------------------

    def user_speaking(self) -> bool:
        return self.vad.speaking

    def cancel_answer(self) -> None:
        if self._response is not None:
            self._response.cancel()
            self._response = None

    def forget_speech(self) -> None:
        """The speech so far is no turn: the endpointer starts afresh and its audio is dropped."""
        self.endpointer.reset()
        self.recorder.take()

    def hold_turn(self, seconds: float) -> None:
        self.endpointer.hold_at_least(seconds)

    def remember_words(self, speech_end: float, text: str) -> None:
        self.judge.known_words = (speech_end, text)

    def answer_text(self) -> str:
        return " ".join(self._current.speak.sentences) if self._current is not None else ""

    def peek_speech(self, seconds: float) -> np.ndarray:
        return self.recorder.peek(seconds)

    def _silence_start(self) -> float | None:
        """The start of the current silence in an open turn, while work may be prepared for it (not
        while the agent is paused, speaking, or an answer is on its way)."""
        if self.barge_in.pause is not None or self._response is not None or self._carry is not None:
            return None
        if self.playout.active:  # speech over the agent is the barge-in policy's, not a turn yet
            return None
        start = self.vad.silent_since if self.vad.speaking else self.endpointer.silence_start
        known = self.judge.known_words
        if known is not None and known[0] == start:
            return None  # its words are known already (the barge-in check transcribed them)
        return start

    def check_turn_end(self, now: float) -> None:
        """While the agent is paused the user's turn stays open: a backchannel is no turn, and words
        that follow a short pause ("Wait, … stop please") belong to the same turn."""
        if self.barge_in.pause is not None:
            return
        decision = self.endpointer.check(now)
        if decision is not None:
            self._turn_ended(decision)

    def end_turn_now(self) -> bool:
        """End the user's turn in progress now and answer it as usual (a client committed its audio:
        the Realtime API's `input_audio_buffer.commit` with turn detection on). False: no speech."""
        decision = self.endpointer.end_now(self.clock.now())
        if decision is None:
            return False
        self._turn_ended(decision)
        return True

    # ---- user speech and turns ----------------------------------------------------------------------

    def _speech_started(self, tr: VadTransition) -> None:
        self.bus.publish(UserSpeechStarted(tr.decided, tr.at))
        if self.playout.cueing:
            self.playout.drop_cue()  # never over the user
        if not self.endpointer.in_turn:
            self.recorder.start(tr.at)
        self.endpointer.speech_started(tr.at)
        if self.barge_in.speech_started(tr):
            self.barge_in.check(tr.decided, True)
        elif self.config.turns.barge_in and self._response is not None and self._pending_audio is not None:
            # The user went on talking before the answer started: the pending answer is dropped and
            # its audio is heard again together with what follows, as one turn.
            self._carry = self._pending_audio
            self.cancel_answer()
            self.playout.interrupt()
            if self._current is not None:
                self.bus.publish(TurnContinued(tr.decided, self._current.number))

    def _speech_stopped(self, tr: VadTransition) -> None:
        self.bus.publish(UserSpeechStopped(tr.decided, tr.at))
        self.endpointer.speech_stopped(tr.at)
        self.barge_in.speech_stopped(tr)

    def _turn_ended(self, decision: TurnDecision) -> None:
        audio = self.recorder.take()
        speech_start = decision.speech_start
        if self._carry is not None:
            carried, carried_start = self._carry
            self._carry = None
            audio = np.concatenate([carried, audio])
            speech_start = carried_start
        self._turn_count += 1
        turn = TurnRecord(self._turn_count, speech_start, decision.speech_end, decision.decided, time.perf_counter())
        turn.marks = {"speech_end": decision.speech_end, "turn_decided": decision.decided}
        self.bus.publish(
            TurnEnded(
                decision.decided, turn.number, speech_start, decision.speech_end, decision.reason, decision.probability
            )
        )
        self._supersede_answer()
        self._pending_audio = (audio, speech_start)
        self._current = turn
        # words already transcribed are this turn's words when it is the same speech and nothing was carried
        words = self.judge.take_words(decision.speech_end)
        draft = self.speculation.take(decision.speech_end, speech_start)
        if speech_start != decision.speech_start:
            words = None
        if self.summarizer is not None:
            self.summarizer.turn_started()  # the model is for this answer now
        self._response = self.spawn(self._respond(turn, audio, words, draft), f"turn-{turn.number}")
        if self.cues.acknowledgement is not None:
            self.spawn(
                self.cues.acknowledge_when_slow(turn.number, turn.decided, lambda: self._still_silent(turn)), "ack"
            )

    def say(self, text: str) -> None:
        """Speak `text` now, as the agent (a greeting, a notice): it replaces an answer not yet heard,
        can be interrupted like any answer, and what the user heard of it enters the conversation."""
        text = text.strip()
        if not text:
            return
        turn = self._own_turn(said=True)
        self._response = self.spawn(self._answering(turn, lambda: self._say(turn, text)), f"say-{turn.number}")

    async def _say(self, turn: TurnRecord, text: str) -> str:
        self.playout.begin(turn.number)
        await self.answers.speak(turn, single_text(text))
        self.playout.close()
        return "answered"

    def respond_now(self) -> int:
        """Answer the conversation as it stands now (a client asked for a response: the Realtime
        API's `response.create`); it replaces an answer not yet heard. Returns the answer's turn number."""
        turn = self._own_turn(said=False)
        turn.marks = {"speech_end": turn.decided, "turn_decided": turn.decided}
        if self.summarizer is not None:
            self.summarizer.turn_started()
        work = self._answering(turn, lambda: self.answers.answer_now(turn))
        self._response = self.spawn(work, f"respond-{turn.number}")
        return turn.number

    def _own_turn(self, said: bool) -> TurnRecord:
        """A turn the agent takes without the user's words (`said`: it speaks a fixed text)."""
        self._turn_count += 1
        now = self.clock.now()
        turn = TurnRecord(self._turn_count, now, now, now, time.perf_counter(), user_added=True, said=said)
        self._supersede_answer()
        self._pending_audio = None
        self._current = turn
        return turn

    async def _answering(self, turn: TurnRecord, work: Callable[[], Coroutine[Any, Any, str]]) -> None:
        """An answer's work; whatever becomes of it, the session is free for the next and `AnswerDone`
        says how it ended."""
        outcome = "cancelled"
        try:
            outcome = await work()
        except Exception:
            outcome = "failed"
            raise
        finally:
            if self._response is asyncio.current_task():
                self._response = None
            if self.summarizer is not None and self._response is None:
                self.summarizer.turn_ended()
            self.bus.publish(AnswerDone(self.clock.now(), turn.number, outcome))

    @property
    def current_turn(self) -> int | None:
        """The number of the turn whose answer is being prepared or played (or was last)."""
        return self._current.number if self._current is not None else None

    def stop_answer(self) -> None:
        """Stop the answer now, prepared or playing (a client cancelled it): what was heard of it
        stays in the conversation."""
        self.cancel_answer()
        self._pending_audio = None
        if self.playout.active:
            self.playout.interrupt()

    def _supersede_answer(self) -> None:
        """A new turn while the previous answer is still being prepared (the user spoke again before
        any of it played): that answer is dropped, and what it had queued plays out and ends."""
        if self._response is None:
            return
        self.cancel_answer()
        if self.playout.speaking:
            self.playout.close()  # what is queued plays out (the next answer's begin replaces it)
        elif self.playout.active:
            self.playout.interrupt()

    async def _respond(self, turn: TurnRecord, audio: np.ndarray, words: str | None, draft: Draft | None) -> None:
        def committed() -> None:
            self._pending_audio = None

        tail = max(0, int((turn.decided - turn.speech_end) * INPUT_RATE))
        speech = audio[: len(audio) - tail] if tail else audio
        # measured while the words are transcribed, or already with the speculative words (same speech)
        early = draft.measured if draft is not None and draft.speech_end == turn.speech_end else {}
        for old in [n for n in self._measured if n < turn.number]:  # turns that never reached their gates
            for future in self._measured.pop(old).values():
                future.cancel()
        self._measured[turn.number] = early or self._start_measuring(speech)
        if self.vault is not None:
            self._keep_for_enrolment(speech)

        await self._answering(turn, lambda: self.answers.respond(turn, audio, words, committed, draft))

    def _start_measuring(self, speech: np.ndarray) -> dict[str, asyncio.Future[Any]]:
        """The per-utterance perception measurements, each on its worker thread."""
        measured: dict[str, asyncio.Future[Any]] = {}
        if self.speaker is not None:
            measured["voice"] = asyncio.ensure_future(self.speaker.identify(speech))
        if self.addressee is not None:
            measured["addressee"] = asyncio.ensure_future(self.addressee.hear(speech))
        if self.prosody is not None:
            measured["prosody"] = asyncio.ensure_future(acoustics_async(speech))
        return measured

    def _take_measured(self, turn: int, what: str) -> asyncio.Future[Any] | None:
        return self._measured.get(turn, {}).pop(what, None)

    def _measure_with_draft(self, draft: Draft, speech: np.ndarray) -> None:
        draft.measured = self._start_measuring(speech)

    async def _listener_gate(self, turn: TurnRecord) -> tuple[bool, str | None]:
        """Answer this turn? The voice (speaker lock), then whether it was meant for the agent."""
        answer, label = await self._speaker_gate(turn)
        judge, heard = self.addressee, self._take_measured(turn.number, "addressee")
        if not answer or judge is None or heard is None:
            return answer, label
        cues = await heard
        now = self.clock.now()
        score, why = judge.judge(cues, turn.user_text, self._asked_at, now)
        addressed = score >= judge.threshold
        self.bus.publish(AddresseeJudged(now, turn.number, round(score, 3), why, addressed))
        if not addressed:
            self.bus.publish(TurnSkipped(now, turn.number, "not addressed to the agent"))
            return False, None
        judge.answered(cues)
        return True, label

    async def _speaker_gate(self, turn: TurnRecord) -> tuple[bool, str | None]:
        """Answer this turn? Only the locked voice (or, multi-party, everyone, labelled by name)."""
        speaker, task = self.speaker, self._take_measured(turn.number, "voice")
        if speaker is None or task is None:
            return True, None
        identity, embedding = await task
        locked = speaker.active
        now = self.clock.now()
        self.bus.publish(
            SpeakerIdentified(now, turn.number, identity.decision.value, identity.name, round(identity.score, 3),
                              round(identity.seconds, 2), locked)
        )  # fmt: skip
        if locked and identity.decision is Decision.OTHER:
            if speaker.config.multi_party:
                return True, speaker.label(identity)
            self.bus.publish(TurnSkipped(now, turn.number, "another voice"))
            return False, None
        if embedding is not None and speaker.learn(embedding, identity.seconds):
            self.bus.publish(SpeakerLocked(now, turn.number, "primary"))
        return True, None

    async def _prosody_tag(self, turn: TurnRecord, words: str) -> str:
        """How the turn sounded: an event, the voice's pace for the answer, and the model's tag."""
        tracker, heard = self.prosody, self._take_measured(turn.number, "prosody")
        if tracker is None or heard is None:
            return ""
        try:
            # measured while the words were transcribed; when they came first (a speculative
            # transcription), the answer waits for it only briefly rather than start late
            measured = await asyncio.wait_for(asyncio.shield(heard), PROSODY_WAIT_S)
        except TimeoutError:
            heard.cancel()
            log.debug("turn %d: prosody not ready in time, no tag", turn.number)
            return ""
        try:
            reading = await tracker.read_async(measured, words)
        except Exception:  # a measurement is a nicety: the turn goes on without it
            log.exception("prosody of turn %d", turn.number)
            return ""
        pc = self.config.perception.prosody
        if pc.match_voice:
            turn.voice_speed = reading.speed
        p = reading.prosody
        self.bus.publish(
            UserProsody(
                self.clock.now(), turn.number, round(p.pitch_hz, 1), round(p.level_db, 1), round(p.words_per_s, 2),
                round(p.pause_share, 2), round(reading.arousal, 2), round(reading.valence, 2), reading.tags,
                turn.voice_speed,
            )
        )  # fmt: skip
        tag = reading.tag() if pc.tag else ""
        if tag:
            self.conversation.guidance = PROSODY_GUIDANCE  # from the first tag on: the model learns what it is
        return tag

    def _keep_for_enrolment(self, speech: np.ndarray) -> None:
        self._recent_speech.append(speech)
        while sum(len(a) for a in self._recent_speech) > ENROL_KEEP_S * INPUT_RATE and len(self._recent_speech) > 1:
            self._recent_speech.popleft()

    async def enrol(self, name: str, consent: bool) -> tuple[str, float]:
        """Enrol the person talking in this session from their latest turns (the talk page's button):
        (their name as stored, seconds of speech used). VaultError/EnrolmentError say why not."""
        from vagus.perception.enrol import MIN_ENROL_SPEECH_S, EnrolmentError

        vault, voice = self.vault, self.services.voice
        if vault is None or voice is None:
            raise EnrolmentError("this server keeps no voiceprints (perception.vault.path is not set)")
        name = vault.check_name(name)
        if consent is not True:
            raise VaultError("a voiceprint is biometric data: it is stored only with the person's consent")
        if not self._recent_speech:
            raise EnrolmentError("say something first: a voiceprint is made from what you said")
        speech = np.concatenate(list(self._recent_speech))
        seconds = len(speech) / INPUT_RATE
        if seconds < MIN_ENROL_SPEECH_S:
            raise EnrolmentError(
                f"{seconds:.1f} s of your speech so far; a voiceprint needs {MIN_ENROL_SPEECH_S:.0f} s: keep talking"
            )
        embedding = await voice.embed_async(speech)
        printed = await asyncio.to_thread(vault.enroll, name, embedding, voice.name, True)
        if self.speaker is not None:
            self.speaker.enrolled[printed.name] = printed.embedding
            if self.speaker.mode == "primary" and self.speaker.primary is None:
                self.speaker.primary, self.speaker.primary_name = printed.embedding, printed.name
                self.bus.publish(SpeakerLocked(self.clock.now(), self._turn_count, "enrolled"))
        return printed.name, seconds

    async def _voice_check(self, speech: np.ndarray) -> Decision:
        """Speech over the agent (`turns/barge_in.py` asks while the agent is paused): another voice than
        the locked one, or (from 0.8 s of it) speech that does not sound meant for the agent, is OTHER."""
        verdict = Decision.SAME
        speaker = self.speaker
        if speaker is not None and speaker.active:
            identity, _ = await speaker.identify(speech, over_agent=True)
            verdict = identity.decision
        judge = self.addressee if self.config.perception.addressee.over_agent else None
        if judge is not None and verdict is not Decision.OTHER and len(speech) >= EARLY_S * INPUT_RATE:
            heard = await judge.hear(speech)
            score = acoustic_score(heard, judge.user_level)
            if score < judge.threshold:
                return Decision.OTHER
            if verdict is Decision.UNSURE and speaker is None:
                verdict = Decision.SAME
        return verdict

    async def sleep_until(self, t: float) -> None:
        await sleep_until(self.clock, t)

    def _tool_filler(self, turn: int) -> None:
        if not self.vad.speaking and not self.playout.speaking and self.barge_in.pause is None:
            self.cues.fill(turn)

    def _still_silent(self, turn: TurnRecord) -> bool:
        """The turn's answer is still being prepared, not held on purpose, and nobody is talking."""
        if self._current is not turn or self._response is None or turn.held:
            return False
        return turn.speak.first_audio_queued is None and not self.vad.speaking and not self.playout.speaking

    # ---- playout callbacks (called from pull_audio, i.e. the frame path) --------------------------

    def _agent_started(self, number: int) -> None:
        now = self.clock.now()
        self.bus.publish(AgentSpeechStarted(now, number))
        turn = self._current
        if turn is None or turn.number != number:
            return
        self.answers.remember_user(turn)
        if not turn.said:
            self.bus.publish(latency_event(turn, now))

    def _agent_finished(self, number: int, interrupted: bool) -> None:
        turn = self._current
        if turn is not None and turn.number == number:
            spoken = self.playout.heard_text() if interrupted else " ".join(turn.speak.sentences)
            self.conversation.add_assistant(spoken, interrupted=interrupted)
            if not interrupted and spoken.rstrip().endswith(("?", "？")):
                self._asked_at = self.clock.now()  # the next words are likely the answer
        self.bus.publish(AgentSpeechStopped(self.clock.now(), number, interrupted))

    async def close(self, reason: str = "closed") -> None:
        if self.closed:
            return
        self.cancel_answer()
        self.speculation.discard()
        await super().close()
        self.bus.publish(SessionEnded(self.clock.now(), self.id, reason))
