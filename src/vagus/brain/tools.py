"""Tools the language model may call: plain Python functions, described to the model as JSON schema.

`@tool` reads a function's type hints and docstring (first paragraph: what it does; an `Args:`
section: what each parameter means) into the OpenAI `tools` format. A `Toolbox` runs the calls the
model asks for: arguments are parsed and checked against the signature, each call has a timeout,
a failure becomes a result the model can read ("error: …") instead of a crashed turn, and a call id
is executed at most once (a retried or replayed answer gets the recorded result).

A parameter typed as the session handle (`vagus.AgentSession`) is not shown to the model: the tool
gets the live session in it (to emit an action event, move a flow on, hand off to another agent).

`side_effects=True` marks a tool that changes the world (a light switched on, a robot moved): when
the user interrupts, such a call is let finish and its result is recorded, never run twice; a pure
tool's call is simply cancelled.
"""

from __future__ import annotations

import asyncio
import enum
import inspect
import json
import re
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, Union, get_args, get_origin, overload

JSON_TYPES: dict[type, str] = {str: "string", int: "integer", float: "number", bool: "boolean"}
NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]{0,63}$")


class ToolError(ValueError):
    """A tool that cannot be described or registered (the message names it)."""


class SessionHandle:
    """Base of the session handle a tool may ask for by type (`vagus.AgentSession`)."""


@dataclass(frozen=True, slots=True)
class ToolCall:
    """The model's request: `arguments` is the raw JSON text it wrote."""

    id: str
    name: str
    arguments: str


@dataclass(slots=True)
class ToolResult:
    call: ToolCall
    content: str
    error: bool = False
    cancelled: bool = False


@dataclass(slots=True)
class Tool:
    name: str
    description: str
    parameters: dict[str, Any]
    fn: Callable[..., Any]
    side_effects: bool = False
    timeout_s: float = 10.0
    _accepts: frozenset[str] = field(default_factory=frozenset)
    session_param: str | None = None
    """The parameter that receives the session handle (hidden from the model), if any."""

    def spec(self) -> dict[str, Any]:
        """The OpenAI `tools` entry."""
        return {
            "type": "function",
            "function": {"name": self.name, "description": self.description, "parameters": self.parameters},
        }

    async def __call__(self, **arguments: Any) -> Any:
        """Async tools run on the event loop; plain functions on a thread, so that a slow one (a file,
        a device) never holds up the audio frames."""
        if inspect.iscoroutinefunction(self.fn):
            return await self.fn(**arguments)
        result = await asyncio.to_thread(self.fn, **arguments)
        if inspect.isawaitable(result):
            result = await result
        return result


@overload
def tool(fn: Callable[..., Any], /) -> Tool: ...


@overload
def tool(
    *, name: str | None = None, description: str | None = None, side_effects: bool = False, timeout_s: float = 10.0
) -> Callable[[Callable[..., Any]], Tool]: ...


def tool(
    fn: Callable[..., Any] | None = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    side_effects: bool = False,
    timeout_s: float = 10.0,
) -> Tool | Callable[[Callable[..., Any]], Tool]:
    """Make a function (sync or async) a `Tool`: `@tool` or `@tool(side_effects=True, timeout_s=5)`."""

    def wrap(f: Callable[..., Any]) -> Tool:
        return make_tool(f, name=name, description=description, side_effects=side_effects, timeout_s=timeout_s)

    return wrap(fn) if fn is not None else wrap


def make_tool(
    fn: Callable[..., Any],
    *,
    name: str | None = None,
    description: str | None = None,
    side_effects: bool = False,
    timeout_s: float = 10.0,
) -> Tool:
    tool_name = name or fn.__name__
    if not NAME.match(tool_name):
        raise ToolError(f"tool name {tool_name!r}: letters, digits, _ and - only (at most 64)")
    if timeout_s <= 0:
        raise ToolError(f"tool {tool_name}: timeout_s must be positive")
    summary, arg_docs = _parse_docstring(inspect.getdoc(fn) or "")
    text = description or summary
    if not text:
        raise ToolError(f"tool {tool_name}: say what it does (a docstring or description=…)")
    signature = inspect.signature(fn)
    try:
        hints = typing.get_type_hints(fn)
    except (NameError, TypeError) as exc:
        raise ToolError(f"tool {tool_name}: cannot read its type hints ({exc})") from None
    properties: dict[str, Any] = {}
    required: list[str] = []
    session_param: str | None = None
    for param in signature.parameters.values():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            raise ToolError(f"tool {tool_name}: *args/**kwargs cannot be described to the model")
        if param.name not in hints:
            raise ToolError(f"tool {tool_name}: parameter {param.name!r} needs a type hint")
        if isinstance(hints[param.name], type) and issubclass(hints[param.name], SessionHandle):
            session_param = param.name
            continue
        schema = _schema(hints[param.name], f"tool {tool_name}, parameter {param.name!r}")
        if param.name in arg_docs:
            schema["description"] = arg_docs[param.name]
        if param.default is param.empty:
            required.append(param.name)
        elif param.default is not None:
            schema["default"] = param.default
        properties[param.name] = schema
    parameters: dict[str, Any] = {"type": "object", "properties": properties, "additionalProperties": False}
    if required:
        parameters["required"] = required
    return Tool(tool_name, text, parameters, fn, side_effects, timeout_s, frozenset(properties), session_param)


def _schema(hint: Any, where: str) -> dict[str, Any]:
    origin, args = get_origin(hint), get_args(hint)
    if hint in JSON_TYPES:
        return {"type": JSON_TYPES[hint]}
    if origin is Literal:
        kinds = {type(a) for a in args}
        if len(kinds) != 1 or next(iter(kinds)) not in JSON_TYPES:
            raise ToolError(f"{where}: a Literal of one simple type")
        return {"type": JSON_TYPES[next(iter(kinds))], "enum": list(args)}
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        values = [m.value for m in hint]
        return {"type": JSON_TYPES.get(type(values[0]), "string"), "enum": values}
    if origin in (list, tuple, set, frozenset) or hint in (list, tuple):
        item = args[0] if args else str
        return {"type": "array", "items": _schema(item, where)}
    if origin in (Union, types.UnionType):
        options = [a for a in args if a is not type(None)]
        if len(options) == 1:
            return _schema(options[0], where)  # Optional[X]: X, not required when it has a default
        return {"anyOf": [_schema(a, where) for a in options]}
    if origin is dict or hint is dict:
        return {"type": "object"}
    raise ToolError(f"{where}: type {hint!r} cannot be described as JSON (use str, int, float, bool, lists, Literal)")


def _parse_docstring(doc: str) -> tuple[str, dict[str, str]]:
    """First paragraph, and the `Args:` section's `name: text` lines (Google style)."""
    paragraphs = doc.split("\n\n")
    summary = " ".join(paragraphs[0].split()) if paragraphs and not paragraphs[0].startswith("Args:") else ""
    args: dict[str, str] = {}
    section = re.search(r"^Args:\s*$(.*?)(?=^\S|\Z)", doc, re.M | re.S)
    if section:
        current = None
        for line in section.group(1).splitlines():
            match = re.match(r"^\s+(\w+)(?:\s*\([^)]*\))?:\s*(.*)$", line)
            if match and (current is None or len(line) - len(line.lstrip()) <= 8):
                current = match.group(1)
                args[current] = match.group(2).strip()
            elif current and line.strip():
                args[current] += " " + line.strip()
    return summary, args


class Toolbox:
    """The tools of an agent (or of one flow node), run on the model's request."""

    def __init__(self, tools: list[Tool | Callable[..., Any]] | None = None) -> None:
        self.tools: dict[str, Tool] = {}
        self.results: dict[str, ToolResult] = {}
        """Results by call id: a call is never executed twice."""
        self.session: SessionHandle | None = None
        """Given to tools that ask for it (a parameter typed `AgentSession`)."""
        self.version = 0
        """Counts changes of the tool set (a flow's node changes what the model may call)."""
        self.on_result: Callable[[ToolResult], None] | None = None
        """Called (on the event loop) with each new result, e.g. to move a flow on."""
        for item in tools or []:
            self.add(item)

    def replace(self, tools: list[Tool | Callable[..., Any]]) -> None:
        """Another set of tools from now on; the record of calls made stays (none runs twice)."""
        previous = self.tools
        self.tools = {}
        try:
            for item in tools:
                self.add(item)
        except ToolError:
            self.tools = previous
            raise
        self.version += 1

    def add(self, item: Tool | Callable[..., Any]) -> Tool:
        t = item if isinstance(item, Tool) else make_tool(item)
        if t.name in self.tools:
            raise ToolError(f"two tools are named {t.name!r}")
        self.tools[t.name] = t
        self.version += 1
        return t

    def remove(self, name: str) -> None:
        """Take a tool away (a Realtime client's tool it no longer declares)."""
        if self.tools.pop(name, None) is not None:
            self.version += 1

    def __bool__(self) -> bool:
        return bool(self.tools)

    def __contains__(self, name: object) -> bool:
        return name in self.tools

    def specs(self) -> list[dict[str, Any]]:
        return [t.spec() for t in self.tools.values()]

    def side_effects(self, call: ToolCall) -> bool:
        t = self.tools.get(call.name)
        return t is not None and t.side_effects

    async def run(self, call: ToolCall) -> ToolResult:
        """Run one call (once per call id); failures come back as an error result for the model."""
        done = self.results.get(call.id)
        if done is not None:
            return done
        result = await self._run(call)
        self.results[call.id] = result
        if self.on_result is not None:
            self.on_result(result)
        return result

    async def _run(self, call: ToolCall) -> ToolResult:
        t = self.tools.get(call.name)
        if t is None:
            return ToolResult(call, f"error: there is no tool named {call.name!r}", error=True)
        try:
            arguments = json.loads(call.arguments or "{}")
        except (json.JSONDecodeError, RecursionError):
            return ToolResult(call, "error: the arguments were not valid JSON", error=True)
        if not isinstance(arguments, dict):
            return ToolResult(call, "error: the arguments must be a JSON object", error=True)
        unknown = sorted(set(arguments) - t._accepts)
        missing = sorted(set(t.parameters.get("required", [])) - set(arguments))
        if unknown or missing:
            parts = ([f"unknown {', '.join(unknown)}"] if unknown else []) + (
                [f"missing {', '.join(missing)}"] if missing else []
            )
            return ToolResult(call, f"error: wrong arguments ({'; '.join(parts)})", error=True)
        if t.session_param is not None:
            if self.session is None:
                return ToolResult(call, f"error: {t.name} needs a live session", error=True)
            arguments[t.session_param] = self.session
        try:
            value = await asyncio.wait_for(_call(t, arguments), t.timeout_s)
        except TimeoutError:
            return ToolResult(call, f"error: {t.name} did not finish within {t.timeout_s:g} s", error=True)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the model hears what went wrong; the turn goes on
            return ToolResult(call, f"error: {exc.__class__.__name__}: {exc}"[:500], error=True)
        return ToolResult(call, _as_text(value))


async def _call(t: Tool, arguments: dict[str, Any]) -> Any:
    return await t(**arguments)


def _as_text(value: Any) -> str:
    if value is None:
        return "done"
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        return str(value)
