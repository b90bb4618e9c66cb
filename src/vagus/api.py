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

from vagus.brain.tools import Tool, Toolbox, make_tool
from vagus.config import AgentConfig, load_config
from vagus.core.events import Interruption

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
    tools: Sequence[Tool | Callable[..., Any]] = ()
    """Functions the model may call (`@tool`, or plain functions with type hints and a docstring)."""
    greeting: str | None = None
    """Said when a session opens, before the user speaks."""
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

    def toolbox(self) -> Toolbox | None:
        """A fresh toolbox per session (call ids are remembered per session)."""
        return Toolbox(list(self._tools)) if self._tools else None

    def attach(self, session: VoiceSession) -> AgentSession:
        """Wire this agent's hooks into a new session; returns the handle they receive."""
        handle = AgentSession(self, session)
        if self.on_user_turn is not None:
            session.answers.user_turn_hook = handle._text_hook(self.on_user_turn, "on_user_turn", keep_on_error=True)
        if self.on_answer is not None:
            session.answers.answer_hook = handle._text_hook(self.on_answer, "on_answer", keep_on_error=True)
        if self.on_interrupted is not None:
            hook = self.on_interrupted
            session.on(Interruption, lambda event: handle._run(hook, "on_interrupted", event.heard_text))
        if self.greeting:
            session.say(self.greeting)
        if self.on_session_start is not None:
            handle._run(self.on_session_start, "on_session_start")
        return handle


class AgentSession:
    """One conversation with an agent, as its hooks see it."""

    def __init__(self, agent: Agent, session: VoiceSession) -> None:
        self.agent = agent
        self._session = session

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
        """New instructions from the next answer on."""
        self._session.conversation.system_prompt = instructions

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
