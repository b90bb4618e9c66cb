"""The answer to one turn: STT → (held while unfinished) → LLM stream → sentences → TTS → playout.

Errors are honest about where they happened: a failed transcription is reported as `stt`, a failed
language model as `llm`, a failed voice as `tts`, and the agent says the matching apology (in the
fallback voice when its own voice is what failed). A `retryable` failure (connection, timeout, server)
is tried once more while the turn is still young (`RETRY_BUDGET_S`); a provider that stays down is
reported once, not on every turn (`ErrorReporter`).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from typing import Any

import numpy as np

from vagus.agent.latency import TurnRecord
from vagus.agent.services import Services
from vagus.agent.speculation import Draft
from vagus.brain.context import Conversation, tool_exchange
from vagus.brain.skills import ROUTED_NOTE
from vagus.brain.skills import route as route_skill
from vagus.brain.speaker import speak_answer
from vagus.brain.tools import Toolbox, ToolCall, ToolResult
from vagus.config import DeadlinesConfig, SpeechConfig, ToolsConfig
from vagus.core.bus import EventBus
from vagus.core.clock import Clock
from vagus.core.events import (
    AgentSentence,
    AgentTextDelta,
    ClientToolCalls,
    ErrorEvent,
    ToolCalled,
    TranscriptFinal,
    TurnHeld,
    TurnSkipped,
)
from vagus.services.deadlines import call_within, within
from vagus.services.errors import ProviderError, Stage
from vagus.services.llm.base import Message, takes_tools
from vagus.services.tts.base import TTS
from vagus.turns.playout import Playout
from vagus.turns.unfinished import UnfinishedText

log = logging.getLogger("vagus.agent")

INPUT_RATE = 16000
RETRY_BUDGET_S = 4.0
"""A failed provider call is retried only while the turn was decided less than this long ago: later,
an apology serves the user better than more waiting."""
APOLOGIES: dict[str, str] = {
    "stt": "Sorry, I couldn't hear you properly. My speech recognition isn't reachable right now.",
    "llm": "Sorry, I can't reach my language model right now.",
    "tts": "Sorry, my voice isn't working right now.",
}


class ErrorReporter:
    """Publishes a provider failure once per stage and kind while that stage stays down; a stage that
    works again is reported afresh the next time it fails."""

    def __init__(self, bus: EventBus, clock: Clock) -> None:
        self._bus, self._clock = bus, clock
        self._down: set[tuple[str, str]] = set()
        self.failures: dict[int, str] = {}
        """Turn number → what failed in it (every failed turn, reported or not)."""

    def failed(self, stage: Stage, exc: ProviderError, turn: int) -> None:
        self.failures[turn] = f"{stage} {exc.kind}: {exc.message}"
        key = (stage, exc.kind)
        if key in self._down:
            log.debug("%s still failing: %s", stage, exc)
            return
        self._down.add(key)
        log.warning("%s failed (%s): %s%s", stage, exc.kind, exc.message, f" [{exc.detail}]" if exc.detail else "")
        self._bus.publish(ErrorEvent(self._clock.now(), stage, exc.kind, exc.message))

    def worked(self, stage: Stage) -> None:
        if self._down:
            self._down = {key for key in self._down if key[0] != stage}


def _stage(exc: ProviderError, default: Stage) -> Stage:
    return exc.stage or default


class AnswerPipeline:
    def __init__(
        self,
        services: Services,
        conversation: Conversation,
        playout: Playout,
        bus: EventBus,
        clock: Clock,
        output_rate: int,
        unfinished: UnfinishedText | None,
        hold_s: float,
        sleep_until: Callable[[float], Awaitable[None]],
        deadlines: DeadlinesConfig | None = None,
        toolbox: Toolbox | None = None,
        tools_config: ToolsConfig | None = None,
        spawn: Callable[[Coroutine[Any, Any, Any], str], asyncio.Task[Any]] | None = None,
        filler: Callable[[int], None] | None = None,
        speech: SpeechConfig | None = None,
    ) -> None:
        self.services, self.conversation, self.playout = services, conversation, playout
        self._bus, self._clock, self.output_rate = bus, clock, output_rate
        self.unfinished, self.hold_s, self._sleep_until = unfinished, hold_s, sleep_until
        self.errors = ErrorReporter(bus, clock)
        self.deadlines = deadlines or DeadlinesConfig()
        self.toolbox = toolbox
        self.tools_config = tools_config or ToolsConfig()
        self._spawn = spawn
        self._filler = filler
        self.speech = speech or SpeechConfig()
        self._specs_version = -1
        self._specs: list[dict[str, Any]] | None = None
        self.user_turn_hook: Callable[[str], Awaitable[str | None]] | None = None
        """Sees (and may edit) the user's words before the model; empty or None: no answer."""
        self.answer_hook: Callable[[str], Awaitable[str | None]] | None = None
        """Sees (and may edit) each sentence of the answer before the voice."""
        self.turn_gate: Callable[[TurnRecord], Awaitable[tuple[bool, str | None]]] | None = None
        """Is the turn for this agent (perception: the speaker lock, the addressee score)? (answer it?,
        a label for the words in multi-party mode)."""
        self.prosody_tag: Callable[[TurnRecord, str], Awaitable[str]] | None = None
        """How the turn sounded, as a tag for the model ("" when nothing stands out); it may also set
        the answer's voice pace on the turn (perception/prosody.py)."""
        self._llm_takes_tools = takes_tools(services.llm)
        self.auto_answer = True
        """Answer each turn once its words are known; False: the words only join the conversation, and
        an answer comes when asked for (`answer_now`; the Realtime API's `create_response: false`)."""
        self.text_only = False
        """Answer in text (`AgentTextDelta` events and the conversation), not with the voice."""
        self.client_tools: frozenset[str] = frozenset()
        """Tools the client runs: a call to one ends the answer with a `ClientToolCalls` event."""

    def _tool_specs(self) -> list[dict[str, Any]] | None:
        """What the model may call now (a flow's step changes it; an empty set is sent as none)."""
        box = self.toolbox
        if box is None or not box:
            return None
        if box.version != self._specs_version:
            self._specs, self._specs_version = box.specs(), box.version
        return self._specs

    def use_llm(self, llm: Any) -> None:
        """Another language model for this session's next answers (an agent handed over to)."""
        from dataclasses import replace

        self.services = replace(self.services, llm=llm)
        self._llm_takes_tools = takes_tools(llm)

    async def respond(
        self,
        turn: TurnRecord,
        audio: np.ndarray,
        words: str | None,
        committed: Callable[[], None],
        draft: Draft | None = None,
    ) -> str:
        """`words`: the turn's transcript when already known; `draft`: what was prepared for this
        turn's silence (`agent/speculation.py`); `committed` is called once the turn is past the point
        where more speech would continue it (its transcript is final). Returns what became of it:
        `answered`, `skipped` or `failed` (see `AnswerDone`)."""
        try:
            return await self._respond(turn, audio, words, committed, draft)
        finally:
            if draft is not None:
                draft.cancel()

    async def _respond(
        self,
        turn: TurnRecord,
        audio: np.ndarray,
        words: str | None,
        committed: Callable[[], None],
        draft: Draft | None,
    ) -> str:
        attempts = (0, 1)
        if words is None and draft is not None:
            start = time.perf_counter()
            words = await draft.transcript()
            if words is not None:
                turn.stages_ms["stt"] = (time.perf_counter() - start) * 1000
                turn.speculative.append("stt")
            elif draft.error is not None:  # the speculative call was the first attempt
                attempts = (1,) if self._may_retry(turn, draft.error) else ()
        if words is None:
            words = await self._transcribe(turn, audio, attempts, draft.error if draft is not None else None)
            if words is None:
                await self._apologise(turn, "stt")
                self.playout.close()
                return "failed"
        turn.marks["stt_done"] = self._clock.now()
        text = words.strip()
        if not text:
            self._bus.publish(TurnSkipped(self._clock.now(), turn.number, "no words transcribed"))
            return "skipped"
        turn.user_text = text
        await self._hold_if_unfinished(turn, text)
        committed()
        self._bus.publish(TranscriptFinal(self._clock.now(), turn.number, text))
        if self.turn_gate is not None:
            answer, label = await self.turn_gate(turn)
            if not answer:
                return "skipped"  # another voice: not a turn for this agent (the gate said so on the bus)
            if label:
                text = turn.user_text = f"{label}: {text}"
        if self.prosody_tag is not None:
            tag = await self.prosody_tag(turn, text)
            if tag:
                text = turn.user_text = f"{text} {tag}"
        if self.user_turn_hook is not None:
            edited = ((await self.user_turn_hook(text)) or "").strip()
            if not edited:
                self._bus.publish(TurnSkipped(self._clock.now(), turn.number, "the agent's on_user_turn hook"))
                self.remember_user(turn)
                return "skipped"
            text = turn.user_text = edited
        if not self.auto_answer:
            self.remember_user(turn)
            return "skipped"
        ok = await self._answer(turn, text, draft)
        self.playout.close()  # not on cancellation: an interruption has already stopped the playout
        if turn.speak.first_audio_queued is None:  # nothing was said: still remember what was asked
            self.remember_user(turn)
        return "answered" if ok else "failed"

    async def answer_now(self, turn: TurnRecord) -> str:
        """Answer the conversation as it stands (no new words from the user): a client asked for a
        response. Returns `answered` or `failed`."""
        ok = await self._answer(turn, None)
        self.playout.close()
        return "answered" if ok else "failed"

    def remember_user(self, turn: TurnRecord) -> None:
        """Put the turn's words in the conversation, once, before anything the answer did."""
        if not turn.user_added and turn.user_text:
            turn.user_added = True
            self.conversation.add_user(turn.user_text)

    async def _transcribe(
        self,
        turn: TurnRecord,
        audio: np.ndarray,
        attempts: tuple[int, ...] = (0, 1),
        failed: ProviderError | None = None,
    ) -> str | None:
        """`attempts`: (1,) when a speculative call already failed with `failed`, () when that failure
        is final."""
        stt = self.services.stt
        if not attempts and failed is not None:
            self.errors.failed("stt", failed, turn.number)
            return None
        for attempt in attempts:
            start = time.perf_counter()
            try:
                transcript = await call_within(
                    stt.transcribe(audio, INPUT_RATE),
                    self.deadlines.stt_s,
                    lambda: ProviderError(stt.name, "timeout", "speech recognition took too long"),
                )
            except ProviderError as exc:
                if attempt == 0 and self._may_retry(turn, exc):
                    log.info("turn %d: retrying stt after %s", turn.number, exc.kind)
                    continue
                self.errors.failed("stt", exc, turn.number)
                return None
            turn.stages_ms["stt"] = turn.stages_ms.get("stt", 0.0) + (time.perf_counter() - start) * 1000
            self.errors.worked("stt")
            if self.unfinished is not None:
                self.unfinished.learn(transcript.text)
            return transcript.text
        return None  # pragma: no cover (the loop returns)

    def _may_retry(self, turn: TurnRecord, exc: ProviderError) -> bool:
        return exc.retryable and time.perf_counter() - turn.decided_real < RETRY_BUDGET_S

    async def _answer(self, turn: TurnRecord, text: str | None, draft: Draft | None = None) -> bool:
        """`text`: the user's words (None: answer the conversation as it is). False: it failed."""
        messages = self.conversation.messages()
        if text is not None:
            messages.append({"role": "user", "content": text})
        if text is not None and self.tools_config.route_skills and self.toolbox:
            messages = await self._route_skill(turn, text, messages)
        ahead = draft.answer_for(messages) if draft is not None else None
        if ahead is not None:
            turn.speculative.append("llm")
        exchange = _Exchange(messages)
        for attempt in (0, 1):
            self.playout.begin(turn.number)
            try:
                deltas = ahead if attempt == 0 and ahead is not None else self.llm_stream(exchange.messages)
                await self._rounds(turn, exchange, deltas)
            except ProviderError as exc:
                stage = _stage(exc, "llm")
                if attempt == 0 and not turn.speak.sentences and self._may_retry(turn, exc):
                    log.info("turn %d: retrying %s after %s", turn.number, stage, exc.kind)
                    continue
                self.errors.failed(stage, exc, turn.number)
                if stage == "tts" or not turn.speak.sentences:
                    await self._apologise(turn, stage)
                self._written(turn)
                return False
            self.errors.worked("llm")
            if turn.speak.first_audio_queued is not None:
                self.errors.worked("tts")
            self._written(turn)
            return True
        return False  # pragma: no cover (the loop returns)

    def _written(self, turn: TurnRecord) -> None:
        """A text answer enters the conversation whole when it is written (a voice's, when heard)."""
        if self.text_only and turn.speak.sentences:
            self.remember_user(turn)
            self.conversation.add_assistant(" ".join(turn.speak.sentences))

    async def _route_skill(self, turn: TurnRecord, text: str, messages: list[Message]) -> list[Message]:
        """A small model that does not call tools still answers a plain time/date/arithmetic question
        from the skill's result, given to it in the request (`tools.route_skills`)."""
        box = self.toolbox
        assert box is not None
        routed = route_skill(text, set(box.tools))
        if routed is None:
            return messages
        name, arguments = routed
        call = ToolCall(f"route_{turn.number}", name, json.dumps(arguments))
        result = await box.run(call)
        now = self._clock.now()
        self._bus.publish(ToolCalled(now, turn.number, name, call.arguments, result.content, result.error))
        if result.error:
            return messages
        note = ROUTED_NOTE.format(name=name, result=result.content)
        system = {"role": "system", "content": f"{messages[0].get('content', '')}\n\n{note}"}
        return [system, *messages[1:]]

    async def _rounds(self, turn: TurnRecord, exchange: _Exchange, deltas: AsyncIterator[Any]) -> None:
        """Speak what the model says; when it calls tools, run them and ask it again with the results
        (up to `tools.max_rounds` times). A retry after a failure goes on from the last results
        (`exchange`), so no tool call is made twice."""
        limit = self.tools_config.max_rounds
        for round_number in range(limit + 1):
            calls: list[ToolCall] = []
            said: list[str] = []
            await self.speak(turn, _words_only(deltas, calls, said), limit=True)
            if not calls:
                return
            theirs = [c for c in calls if c.name in self.client_tools]
            if theirs:
                await self._hand_to_client(turn, calls, theirs, "".join(said).strip())
                return
            if self.toolbox is None or round_number == limit:
                log.warning("turn %d: tool calls left unanswered (%s)", turn.number, ", ".join(c.name for c in calls))
                return
            tools_version = self.toolbox.version
            start = time.perf_counter()
            results = await self._run_tools(turn, calls)
            turn.stages_ms["tools"] = turn.stages_ms.get("tools", 0.0) + (time.perf_counter() - start) * 1000
            text = "".join(said).strip()
            prompt, version = self.conversation.system_message(), self.toolbox.version
            self._record_tools(turn, calls, results, text)
            if prompt != exchange.messages[0].get("content") or version != tools_version:
                # a tool moved the flow on or handed over: the next request is the new step's
                exchange.messages = self.conversation.messages()
            else:
                exchange.messages = [*exchange.messages, *tool_exchange(calls, results, text)]
            deltas = self.llm_stream(exchange.messages)

    async def _hand_to_client(self, turn: TurnRecord, calls: list[ToolCall], theirs: list[ToolCall], said: str) -> None:
        """Calls the client runs end the answer (it asks again once it has their results); calls
        to this agent's own tools in the same round run now and are recorded."""
        ours = [c for c in calls if c.name not in self.client_tools]
        if ours and self.toolbox is not None:
            results = await self._run_tools(turn, ours)
            self._record_tools(turn, ours, results, said)
            said = ""
        self.remember_user(turn)
        payload = [{"call_id": c.id, "name": c.name, "arguments": c.arguments or "{}"} for c in theirs]
        self._bus.publish(ClientToolCalls(self._clock.now(), turn.number, payload, said))

    async def _run_tools(self, turn: TurnRecord, calls: list[ToolCall]) -> list[ToolResult]:
        """All calls at once. Cancelled (the user cut in, or spoke again): pure tools stop; tools with
        side effects finish, and what they did is recorded without being said."""
        box = self.toolbox
        assert box is not None
        tasks = [asyncio.ensure_future(box.run(call)) for call in calls]
        try:
            return await self._gather_with_filler(turn, tasks)
        except asyncio.CancelledError:
            lasting = [(c, t) for c, t in zip(calls, tasks, strict=True) if box.side_effects(c) and not t.done()]
            for call, task in zip(calls, tasks, strict=True):
                if not box.side_effects(call):
                    task.cancel()
            done = [(c, t) for c, t in zip(calls, tasks, strict=True) if box.side_effects(c) and t.done()]
            if done and not lasting:
                self._record_tools(turn, [c for c, _ in done], [t.result() for _, t in done], "")
            elif lasting and self._spawn is not None:
                self._spawn(self._record_when_done(turn, done + lasting), "tools-finishing")
            raise

    async def _gather_with_filler(self, turn: TurnRecord, tasks: list[asyncio.Future[ToolResult]]) -> list[ToolResult]:
        """The results (the tools are shielded: cancelling the answer decides their fate elsewhere);
        after `tools.filler_after_ms` on the session clock, a filler while they still run."""
        gathered = asyncio.gather(*(asyncio.shield(t) for t in tasks))
        timer: asyncio.Future[None] | None = None
        try:
            if self._filler is not None and self.tools_config.filler:
                due = self._clock.now() + self.tools_config.filler_after_ms / 1000.0
                timer = asyncio.ensure_future(self._sleep_until(due))
                done, _ = await asyncio.wait([gathered, timer], return_when=asyncio.FIRST_COMPLETED)
                if gathered not in done:
                    self._filler(turn.number)
            return list(await gathered)
        except asyncio.CancelledError:
            gathered.cancel()
            raise
        finally:
            if timer is not None:
                timer.cancel()

    async def _record_when_done(
        self, turn: TurnRecord, pairs: list[tuple[ToolCall, asyncio.Future[ToolResult]]]
    ) -> None:
        results = await asyncio.gather(*(t for _, t in pairs), return_exceptions=True)
        kept = [(c, r) for (c, _), r in zip(pairs, results, strict=True) if isinstance(r, ToolResult)]
        if kept:
            self._record_tools(turn, [c for c, _ in kept], [r for _, r in kept], "")

    def _record_tools(self, turn: TurnRecord, calls: list[ToolCall], results: list[ToolResult], said: str) -> None:
        self.remember_user(turn)
        self.conversation.add_tools(calls, results, said)
        now = self._clock.now()
        for result in results:
            log.info("turn %d: tool %s → %s", turn.number, result.call.name, "error" if result.error else "ok")
            call = result.call
            self._bus.publish(ToolCalled(now, turn.number, call.name, call.arguments, result.content, result.error))

    def llm_stream(self, messages: list[Message]) -> AsyncIterator[Any]:
        llm, d = self.services.llm, self.deadlines

        def expired(which: str) -> ProviderError:
            late = "did not start its answer in time" if which == "first" else "took too long over its answer"
            error = ProviderError(llm.name, "timeout", f"the language model {late}")
            error.stage = "llm"
            return error

        specs = self._tool_specs() if self._llm_takes_tools else None
        source = llm.stream(messages, tools=specs) if specs else llm.stream(messages)  # type: ignore[call-arg]
        return within(source, d.llm_first_token_s, d.llm_total_s, expired)

    async def _apologise(self, turn: TurnRecord, stage: Stage) -> None:
        """Say what failed, in the agent's voice, or in the fallback voice when that is what failed."""
        text = APOLOGIES.get(stage, APOLOGIES["llm"])
        voice = self.services.fallback_tts if stage == "tts" else self.services.tts
        if voice is None:
            return
        self.playout.begin(turn.number)
        try:
            await self.speak(turn, single_text(text), voice)
        except ProviderError as exc:
            log.warning("turn %d: could not say the apology: %s", turn.number, exc)

    async def _hold_if_unfinished(self, turn: TurnRecord, text: str) -> None:
        """Words that stop mid-sentence ("Could you tell me") are not answered until the user has been
        silent for `incomplete_silence_ms`: if they go on, the session cancels this answer and the turn
        continues with what follows (`turn_continued`). The wait is booked as the `held` stage."""
        if self.unfinished is None or not self.unfinished.unfinished(text):
            return
        until = turn.speech_end + self.hold_s
        now = self._clock.now()
        if now >= until:
            return
        turn.held = True
        self._bus.publish(TurnHeld(now, turn.number, text, until))
        start = time.perf_counter()
        await self._sleep_until(until)
        turn.stages_ms["held"] = (time.perf_counter() - start) * 1000

    async def speak(
        self, turn: TurnRecord, deltas: AsyncIterator[str], tts: TTS | None = None, limit: bool = False
    ) -> None:
        """`limit`: the answer's length budget applies (a model's answer; not a `say` or an apology)."""
        clock, bus = self._clock, self._bus
        if self.text_only:
            await self._write(turn, deltas)
            return

        def on_sentence(index: int, sentence: str) -> None:
            if index == 0:
                turn.marks.setdefault("first_sentence", clock.now())
            bus.publish(AgentSentence(clock.now(), turn.number, index, sentence))

        def on_first_token() -> None:
            turn.marks.setdefault("llm_first_token", clock.now())

        def on_first_audio() -> None:
            turn.marks.setdefault("tts_first_audio", clock.now())

        await speak_answer(
            deltas,
            tts or self.services.tts,
            self.playout,
            self.output_rate,
            on_sentence=on_sentence,
            on_first_token=on_first_token,
            on_first_audio=on_first_audio,
            timings=turn.speak,
            tts_deadlines=(self.deadlines.tts_first_audio_s, self.deadlines.tts_sentence_s),
            rewrite=self.answer_hook if tts is None else None,
            style=self.speech,
            limit=limit,
            speed=turn.voice_speed,
        )

    async def _write(self, turn: TurnRecord, deltas: AsyncIterator[str]) -> None:
        """A text answer: each piece as the model writes it (`AgentTextDelta`), no voice."""
        parts: list[str] = []
        async for delta in deltas:
            if not delta:
                continue
            now = self._clock.now()
            turn.marks.setdefault("llm_first_token", now)
            parts.append(delta)
            self._bus.publish(AgentTextDelta(now, turn.number, delta))
        text = "".join(parts).strip()
        if text:
            turn.speak.sentences.append(text)


async def single_text(text: str) -> AsyncIterator[str]:
    """A fixed text as a one-delta stream (an apology, a `say`)."""
    yield text


class _Exchange:
    """The messages of one answer as its tool rounds extend them."""

    def __init__(self, messages: list[Message]) -> None:
        self.messages = messages


async def _words_only(deltas: AsyncIterator[Any], calls: list[ToolCall], said: list[str]) -> AsyncIterator[str]:
    """The text of a model's stream for the voice; its tool calls are collected on the side."""
    async for item in deltas:
        if isinstance(item, ToolCall):
            calls.append(item)
        else:
            said.append(item)
            yield item
