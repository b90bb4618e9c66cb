"""A simulated caller: an LLM plays a person with a persona and a goal, speaks through an offline voice
into the session, listens to what the agent says (the words the caller actually heard, cut where it
was interrupted) and answers, turn by turn, until it says goodbye or runs out of turns.

It runs on the session's media time like the scripted caller: while the caller's model thinks, no
audio flows, so neither its speed nor the agent's is charged to the other. The caller speaks when the
line has been quiet for `reply_after_s` (the agent done answering, or never starting). With temperature
0 (and the seed, for endpoints that take one) the same agent gives the same conversation; the whole
transcript is kept with the results.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator
from typing import Any

import numpy as np

from vagus.agent.session import VoiceSession
from vagus.evals.caller import OTHER_VOICE_RMS, RATE, Spoken, Voices, place, speech_span
from vagus.evals.suite import CallerGoal, Conditions, Expect, Scenario
from vagus.services.errors import ProviderError

log = logging.getLogger("vagus.evals")

FRAME = 320  # 20 ms at 16 kHz
END = "[END]"
MAX_LINE_CHARS = 300
TAIL_IDLE_S = 0.5
MAX_TAIL_S = 60.0
MAX_CALL_S_PER_TURN = 60.0

PROMPT = """You are playing a person who has phoned a voice assistant. {persona}
Your goal: {goal}
Say only what you would say aloud on the phone: one or two short sentences, plain words, no lists,
no stage directions. Answer what the assistant asks. When your goal is reached, or clearly cannot be
reached, say a short goodbye and end that line with [END]."""

OPENING = "(The call connects. Nobody has said anything yet.)"
SILENCE = "(The assistant says nothing.)"
_LABEL = re.compile(r"^\s*(caller|user|me|person)\s*:\s*", re.IGNORECASE)


def clean_line(text: str) -> tuple[str, bool]:
    """What the caller says aloud, and whether it hangs up after it."""
    ends = END in text
    text = text.replace(END, " ")
    text = _LABEL.sub("", text)
    text = re.sub(r"[*_#`\"]|\(.*?\)|\[.*?\]", " ", text)
    text = " ".join(text.split())[:MAX_LINE_CHARS]
    return text, ends


class SimulatedCaller:
    def __init__(self, scenario: Scenario, voices: Voices, llm: Any) -> None:
        assert scenario.caller is not None
        self.scenario, self.caller, self.voices, self.llm = scenario, scenario.caller, voices, llm
        self.conditions: Conditions = scenario.conditions
        self.spoken: list[Spoken] = []
        self.transcript: list[dict[str, Any]] = []
        self.hung_up = False
        self.failure: str | None = None
        self._agent_lines: dict[int, list[str]] = {}  # turn → sentences written for it
        self._heard: dict[int, str] = {}  # turn → what was heard of an interrupted answer
        self._agent_started: dict[int, float] = {}
        self._told = 0  # turns whose words the caller has been given
        self._messages: list[Any] = [
            {"role": "system", "content": PROMPT.format(persona=self.caller.persona, goal=self.caller.goal)}
        ]
        self._level: float | None = None
        self._rng: np.random.Generator | None = None

    def _on_event(self, event: Any) -> None:
        data = event.to_dict() if hasattr(event, "to_dict") else None
        if not data or data.get("turn") is None:
            return
        turn, kind = data["turn"], data["type"]
        if kind == "agent_sentence":
            self._agent_lines.setdefault(turn, []).append(data["text"])
        elif kind == "interruption":
            self._heard[turn] = data.get("heard_text", "")
        elif kind == "agent_speech_started":
            self._agent_started.setdefault(turn, data["t"])

    def _agent_said(self) -> str:
        """What the agent said since the caller last spoke (only the part heard when cut off)."""
        said = []
        for turn in sorted(t for t in self._agent_lines if t >= self._told):
            text = self._heard.get(turn, " ".join(self._agent_lines[turn]))
            if text.strip():
                said.append(text.strip())
                self.transcript.append({"who": "agent", "text": text.strip(), "t": self._agent_started.get(turn)})
        if self._agent_lines:
            self._told = max(self._agent_lines) + 1
        return " ".join(said)

    async def _next_line(self) -> tuple[str, bool]:
        heard = self._agent_said()
        if not self.spoken and not heard:
            heard = OPENING
        self._messages.append({"role": "user", "content": heard or SILENCE})
        try:
            reply = "".join([d async for d in self.llm.stream(self._messages) if isinstance(d, str)])
        except ProviderError as exc:
            self.failure = f"the caller's model failed: {exc.kind}"
            return "", True
        text, ends = clean_line(reply)
        self._messages.append({"role": "assistant", "content": reply.strip()})
        return text, ends

    async def _voice(self, text: str, at: float) -> np.ndarray:
        audio = await self.voices.say(text, self.caller.rate, self.caller.voice)
        begin, end = speech_span(audio)
        index = len(self.spoken)
        audio = place(audio[begin:end], "user", self.conditions, self.conditions.seed + index)
        spoken = Spoken(index, text, at, at + len(audio) / RATE, Expect())
        if self._level is None and len(audio):
            self._level = float(np.sqrt(np.mean(np.square(audio))))  # the noise keeps the first line's SNR
        audio = np.clip(audio + self._noise(len(audio), index), -1.0, 1.0).astype(np.float32)
        self.spoken.append(spoken)
        self.transcript.append({"who": "caller", "text": text, "t": round(at, 3)})
        return audio

    def _noise(self, n: int, salt: int) -> np.ndarray:
        """Steady noise at the scenario's SNR below the caller's speech (none without `noise_snr_db`)."""
        snr = self.conditions.noise_snr_db
        if snr is None:
            return np.zeros(n, np.float32)
        if self._rng is None:
            self._rng = np.random.default_rng(self.conditions.seed + salt)
        level = self._level if self._level is not None else OTHER_VOICE_RMS
        return (self._rng.standard_normal(n) * level / 10 ** (snr / 20)).astype(np.float32)

    async def frames(self, session: VoiceSession) -> AsyncIterator[np.ndarray]:
        """The caller's microphone, 20 ms at a time, for as long as the call goes on."""
        session.bus.subscribe(self._on_event)
        pending = np.zeros(int(self.scenario.lead_s * RATE), np.float32)
        t, quiet, idle_tail = 0.0, 0.0, 0.0
        limit = self.caller.max_turns * MAX_CALL_S_PER_TURN
        while True:
            if len(pending):
                block, pending = pending[:FRAME], pending[FRAME:]
                if len(block) < FRAME:
                    block = np.concatenate([block, np.zeros(FRAME - len(block), np.float32)])
                t += FRAME / RATE
                yield block
                continue
            idle = not session.responding and not session.endpointer.in_turn
            if self.hung_up or t > limit:
                idle_tail = idle_tail + FRAME / RATE if idle else 0.0
                if idle_tail >= TAIL_IDLE_S or t > limit + MAX_TAIL_S:
                    self._agent_said()  # the agent's last words belong to the transcript
                    return
            else:
                quiet = quiet + FRAME / RATE if idle else 0.0
                if quiet >= self.caller.reply_after_s:
                    quiet = 0.0
                    text, ends = await self._next_line()
                    if text:
                        pending = await self._voice(text, t)
                    if ends or not text or len(self.spoken) >= self.caller.max_turns:
                        self.hung_up = True
                    if len(pending):
                        continue
            t += FRAME / RATE
            yield self._noise(FRAME, 0)


def goal_checks(
    caller_success: CallerGoal, events: list[dict[str, Any]], transcript: list[dict[str, Any]]
) -> tuple[list[str], dict[str, Any]]:
    """The goal's failures (empty: reached) by the rule checks (tool, flow step, keywords), and what
    was found."""
    from vagus.evals.metrics import keyword_found

    tools = [e["name"] for e in events if e.get("type") == "tool_called" and not e.get("error")]
    nodes = [e["to_node"] for e in events if e.get("type") == "flow_moved"]
    agent_text = " ".join(line["text"] for line in transcript if line["who"] == "agent")
    failures = []
    if caller_success.tool and caller_success.tool not in tools:
        failures.append(f"tool {caller_success.tool} was not called")
    if caller_success.flow_node and caller_success.flow_node not in nodes:
        failures.append(f"the flow never reached {caller_success.flow_node}")
    for keyword in caller_success.keywords:
        if not keyword_found(keyword, agent_text):
            failures.append(f"the agent never said {keyword!r}")
    return failures, {"tools": tools, "flow_nodes": nodes}
