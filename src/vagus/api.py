"""The public API: an `Agent` you write in Python, and the `AgentSession` handle its hooks receive.

    from vagus import Agent, tool

    @tool
    def set_timer(minutes: int) -> str:
        \"\"\"Start a kitchen timer.\"\"\"
        ...

    agent = Agent(instructions="You are a kitchen helper.", tools=[set_timer], greeting="Hi! What's cooking?")

`vagus serve --agent kitchen.py:agent` and `vagus talk --agent kitchen.py:agent in.wav out.wav` run
it; the YAML config (`--config`, or `Agent(config=…)`) still sets everything else, and an agent's
`instructions` become the config's `system_prompt`: code and config are two views of one agent.

Hooks may be plain functions or coroutines:
- `on_session_start(session)`: when a session opens (greet, `session.say(...)`);
- `on_user_turn(session, text) -> str | None`: the user's words before the model; return the words
  to answer (edited or not), or None/"" for no answer;
- `on_answer(session, sentence) -> str | None`: each sentence before the voice; None/"" drops it;
- `on_interrupted(session, heard)`: the user cut in; `heard` is what they heard of the answer.
A hook that raises is logged and treated as if it were absent: the conversation goes on.

A tool that takes a parameter typed `AgentSession` gets the handle (hidden from the model): it can
`act(...)` (an action event for a device or the page), `goto(...)` a flow's node, or `handoff(...)` to
another agent. `flow=Flow(...)` runs the conversation in steps (`vagus.brain.flow`).
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import logging
import sys
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vagus.brain.flow import Flow, FlowError
from vagus.brain.skills import builtin_tools
from vagus.brain.tools import SessionHandle, Tool, Toolbox, make_tool
from vagus.config import AgentConfig, load_config
from vagus.core.events import AgentAction, AgentHandoff, Interruption

if TYPE_CHECKING:
    from vagus.agent.services import Services
    from vagus.agent.session import VoiceSession
    from vagus.services.llm.base import LLM, Message
    from vagus.services.stt.base import STT
    from vagus.services.tts.base import TTS

log = logging.getLogger("vagus.agent")

SessionHook = Callable[["AgentSession"], Awaitable[None] | None]
TextHook = Callable[["AgentSession", str], Awaitable[str | None] | str | None]


class AgentError(ValueError):
    """An agent that cannot run (the message says what to change)."""


@dataclass
class Agent:
    """A voice agent: what it is told, what it can do, and where its hooks come in."""

    instructions: str | None = None
    """The system prompt (None: the config's `system_prompt`)."""
    name: str | None = None
    """How events and logs call this agent (None: the config's `name`)."""
    tools: Sequence[Tool | Callable[..., Any]] = ()
    """Functions the model may call (`@tool`, or plain functions with type hints and a docstring)."""
    greeting: str | None = None
    """Said when a session opens, before the user speaks (and when a handoff brings this agent in)."""
    flow: Flow | None = None
    """The conversation in steps (None: the config's `flow:`, if any)."""
    config: AgentConfig | str | Path | None = None
    """The rest (providers, turn-taking, senses): a config object or a YAML/JSON file."""
    llm: LLM | None = None
    stt: STT | None = None
    tts: TTS | None = None
    """Providers this agent brings itself (instead of the config's)."""
    on_session_start: SessionHook | None = None
    on_user_turn: TextHook | None = None
    on_answer: TextHook | None = None
    on_interrupted: Callable[[AgentSession, str], Awaitable[None] | None] | None = None
    _tools: list[Tool] = field(default_factory=list, init=False, repr=False)

    def __post_init__(self) -> None:
        tools = [t if isinstance(t, Tool) else make_tool(t) for t in self.tools]
        Toolbox(list(tools))  # duplicate names are refused now, not when the first session opens
        self._tools = tools
        if self.flow is not None:
            self.check_flow(self.flow, [])
        for name in ("on_session_start", "on_user_turn", "on_answer", "on_interrupted"):
            hook = getattr(self, name)
            if hook is not None and not callable(hook):
                raise AgentError(f"{name} must be a function, got {type(hook).__name__}")

    def load_config(self, path: str | Path | None = None) -> AgentConfig:
        """The agent's config: `path` (the command line's `--config`) wins over the agent's own."""
        source = path if path is not None else self.config
        config = source.model_copy(deep=True) if isinstance(source, AgentConfig) else load_config(source)
        if self.instructions is not None:
            config.system_prompt = self.instructions
        return config

    def build_services(self, config: AgentConfig) -> Services:
        from vagus.agent.services import build_services

        return build_services(config, stt=self.stt, llm=self.llm, tts=self.tts)

    def check_flow(self, flow: Flow, builtin: Sequence[str]) -> None:
        """Refuse a flow whose nodes name tools this agent does not have (before any session opens)."""
        available = {t.name: t for t in [*self._tools, *builtin_tools(list(builtin))]}
        try:
            flow.check(available)
        except FlowError as exc:
            raise AgentError(str(exc)) from None

    def toolbox(self) -> Toolbox | None:
        """A fresh toolbox per session (call ids are remembered per session)."""
        return Toolbox(list(self._tools)) if self._tools else None

    def attach(self, session: VoiceSession, greet: bool = True) -> AgentSession:
        """Wire this agent's hooks into a new session; returns the handle they receive."""
        handle = AgentSession(self, session)
        handle._wire(greet)
        return handle


class AgentSession(SessionHandle):
    """One conversation with an agent, as its hooks and tools see it."""

    def __init__(self, agent: Agent, session: VoiceSession) -> None:
        self.agent = agent
        self._session = session
        self._unsubscribe: list[Callable[[], None]] = []

    def _wire(self, greet: bool) -> None:
        agent, session = self.agent, self._session
        answers = session.answers
        if answers.toolbox is not None:
            answers.toolbox.session = self
        answers.user_turn_hook = (
            self._text_hook(agent.on_user_turn, "on_user_turn", keep_on_error=True) if agent.on_user_turn else None
        )
        answers.answer_hook = (
            self._text_hook(agent.on_answer, "on_answer", keep_on_error=True) if agent.on_answer else None
        )
        if agent.on_interrupted is not None:
            hook = agent.on_interrupted
            self._unsubscribe.append(
                session.on(Interruption, lambda event: self._run(hook, "on_interrupted", event.heard_text))
            )
        if greet and agent.greeting:
            session.say(agent.greeting)
        if agent.on_session_start is not None:
            self._run(agent.on_session_start, "on_session_start")

    @property
    def agent_name(self) -> str:
        return self.agent.name or self._session.config.name

    @property
    def id(self) -> str:
        return self._session.id

    @property
    def messages(self) -> list[Message]:
        """What the model would be sent now: the instructions and the conversation so far."""
        return self._session.conversation.messages()

    def say(self, text: str) -> None:
        """Speak `text` now (it replaces an answer not yet heard; the user can interrupt it)."""
        self._session.say(text)

    def interrupt(self) -> None:
        """Stop speaking now; the conversation keeps what the user heard."""
        session = self._session
        session.cancel_answer()
        if session.playout.active:
            session.playout.interrupt()

    def update_instructions(self, instructions: str) -> None:
        """New instructions from the next answer on (in a flow: the agent's own, under each step's)."""
        flow = self._session.flow
        if flow is not None:
            flow.base_instructions = instructions
            self._session.conversation.system_prompt = flow.instructions()
        else:
            self._session.conversation.system_prompt = instructions

    # ---- flows --------------------------------------------------------------------------------------

    @property
    def node(self) -> str | None:
        """The flow's current node (None without a flow)."""
        flow = self._session.flow
        return flow.node.name if flow is not None else None

    @property
    def data(self) -> dict[str, Any]:
        """What the flow has collected so far (empty without a flow)."""
        flow = self._session.flow
        return flow.data if flow is not None else {}

    def goto(self, node: str) -> None:
        """Move the flow to `node` now (the next request to the model is that step's)."""
        flow = self._session.flow
        if flow is None:
            raise AgentError("this session has no flow")
        try:
            flow.goto(node)
        except FlowError as exc:
            raise AgentError(str(exc)) from None

    # ---- the world and other agents -----------------------------------------------------------------

    def act(self, name: str, status: str = "done", **args: Any) -> None:
        """Publish an action (`agent_action` event: a robot's move, a light): devices and the talk page
        listen on the bus. Call it from a tool when the action starts, ends, or is stopped."""
        session = self._session
        session.bus.publish(AgentAction(session.clock.now(), name, dict(args), status))

    def handoff(self, agent: Agent, greet: bool = True) -> None:
        """Hand the conversation to another agent: its instructions, tools, flow, hooks and (if it
        brings them) language model and voice take over from the next answer on; the conversation so far
        is kept. Its greeting is said unless an answer is under way (from inside a tool the next model
        request already speaks as the new agent)."""
        if not isinstance(agent, Agent):
            raise AgentError(f"handoff needs a vagus.Agent, got {type(agent).__name__}")
        session = self._session
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe.clear()
        previous = self.agent_name
        self.agent = agent
        base = agent.instructions or session.config.system_prompt
        box = session.answers.toolbox
        if box is None:
            box = session.answers.toolbox = Toolbox()
        builtin = builtin_tools(list(session.config.tools.builtin))
        box.replace([*agent._tools, *builtin, *session.lasting_tools])
        session.use_flow(agent.flow, base, dict(box.tools))
        if agent.llm is not None:
            session.answers.use_llm(agent.llm)
        if agent.tts is not None:
            from dataclasses import replace

            session.answers.services = replace(session.answers.services, tts=agent.tts)
        session.bus.publish(AgentHandoff(session.clock.now(), previous, self.agent_name))
        self._wire(greet=greet and not session.responding)

    def on(self, kind: type[Any], callback: Callable[[Any], None]) -> Callable[[], None]:
        """Call `callback` for every event of type `kind` (see `vagus.core.events`); returns an unsubscribe."""
        return self._session.on(kind, callback)

    # ---- hook plumbing ------------------------------------------------------------------------------

    def _run(self, hook: Callable[..., Any], name: str, *args: Any) -> None:
        """Call a hook that returns nothing, off the frame path when it is a coroutine."""
        try:
            result = hook(self, *args)
        except Exception:
            log.exception("agent hook %s failed", name)
            return
        if inspect.isawaitable(result):
            self._session.spawn(_logged(result, name), name)

    def _text_hook(self, hook: TextHook, name: str, keep_on_error: bool) -> Callable[[str], Awaitable[str | None]]:
        async def call(text: str) -> str | None:
            try:
                result = hook(self, text)
                if inspect.isawaitable(result):
                    result = await result
            except Exception:
                log.exception("agent hook %s failed: the text goes on unchanged", name)
                return text if keep_on_error else None
            if result is not None and not isinstance(result, str):
                log.error(
                    "agent hook %s returned %s, not text: the text goes on unchanged", name, type(result).__name__
                )
                return text
            return result

        return call


async def _logged(awaitable: Awaitable[Any], name: str) -> None:
    try:
        await awaitable
    except Exception:
        log.exception("agent hook %s failed", name)


def load_agent(spec: str) -> Agent:
    """`path/to/file.py:name` (or `package.module:name`) → the `Agent` it names."""
    where, _, name = spec.rpartition(":")
    if not where or not name:
        raise AgentError(f"--agent {spec!r}: expected FILE.py:NAME or MODULE:NAME")
    if where.endswith(".py") or "/" in where:
        path = Path(where)
        if not path.is_file():
            raise AgentError(f"--agent {spec!r}: no such file {path}")
        module_name = f"vagus_user_agent_{abs(hash(str(path.resolve())))}"
        loader = importlib.util.spec_from_file_location(module_name, path)
        if loader is None or loader.loader is None:
            raise AgentError(f"--agent {spec!r}: cannot load {path}")
        module = importlib.util.module_from_spec(loader)
        sys.modules[module_name] = module
        sys.path.insert(0, str(path.resolve().parent))  # the agent's own helper modules
        try:
            loader.loader.exec_module(module)
        except Exception as exc:
            raise AgentError(f"--agent {spec!r}: {path} failed to load: {exc.__class__.__name__}: {exc}") from exc
    else:
        try:
            module = importlib.import_module(where)
        except ImportError as exc:
            raise AgentError(f"--agent {spec!r}: {exc}") from None
    agent = getattr(module, name, None)
    if agent is None:
        raise AgentError(f"--agent {spec!r}: {where} has no {name!r}")
    if callable(agent) and not isinstance(agent, Agent):
        agent = agent()  # a factory
    if not isinstance(agent, Agent):
        raise AgentError(f"--agent {spec!r}: {name} is a {type(agent).__name__}, not a vagus.Agent")
    return agent
