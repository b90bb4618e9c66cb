"""Flows: a conversation in steps. Each node has its own instructions and tools and says where the
conversation goes next; the model moves it on by calling a tool.

Three kinds of transition, all tool calls (so the move is part of the context and never happens twice):
- `collect` + `next`: the node collects named pieces of information through one generated tool,
  `record_<node>(…)`; once it is called with all of them, the flow goes to `next`;
- `after`: when one of the node's own tools succeeds (`book_table`), go to a given node;
- `choices`: the model decides, through a generated `go_to_<node>()` tool per choice, described by
  when to take it.

A node's `context` policy (or the flow's) says what arriving there does to the conversation:
`keep` it, `reset` it (the collected data stays in the instructions), or fold it into a `summary`.
Flows are declared in Python (`Flow`, `Node`) or in the config's `flow:` section; both are checked on
load, with errors that name the node.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from vagus.brain.tools import Tool, Toolbox, ToolError, ToolResult, make_tool
from vagus.core.events import FlowMoved

if TYPE_CHECKING:
    from vagus.brain.context import Conversation
    from vagus.config import FlowConfig
    from vagus.core.bus import EventBus
    from vagus.core.clock import Clock

ContextPolicy = Literal["keep", "summary", "reset"]
NODE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,40}$")
FIELD_TYPES = {"string": "string", "integer": "integer", "number": "number", "boolean": "boolean"}


class FlowError(ValueError):
    """A flow that cannot run; the message names the node and what to change."""


@dataclass
class Node:
    """One step of a flow."""

    name: str
    instructions: str
    tools: Sequence[Tool | Callable[..., Any] | str] = ()
    """Tools the model may call here: `Tool`s, functions, or names of the agent's (or built-in) tools."""
    collect: Mapping[str, str | Mapping[str, Any]] = field(default_factory=dict)
    """Information to collect here: name → description, or {type, description, enum}."""
    next: str | None = None
    """Where to go once `collect` is complete."""
    after: Mapping[str, str] = field(default_factory=dict)
    """Tool name → where to go when that tool succeeds."""
    choices: Mapping[str, str] = field(default_factory=dict)
    """Node → when the model should go there."""
    context: ContextPolicy | None = None
    """What arriving here does to the conversation (None: the flow's policy)."""
    end: bool = False
    """The flow is finished here."""


@dataclass
class Flow:
    nodes: Sequence[Node]
    start: str | None = None
    """The first node (default: the first of `nodes`)."""
    context: ContextPolicy = "keep"

    @classmethod
    def from_config(cls, config: FlowConfig) -> Flow:
        nodes = []
        for name, n in config.nodes.items():
            collect: dict[str, str | Mapping[str, Any]] = {
                key: spec if isinstance(spec, str) else spec.model_dump(exclude_none=True)
                for key, spec in n.collect.items()
            }
            after, choices = dict(n.after), dict(n.choices)
            nodes.append(Node(name, n.instructions, list(n.tools), collect, n.next, after, choices, n.context, n.end))
        return cls(nodes, config.start, config.context)

    @property
    def first(self) -> str:
        return self.start or self.nodes[0].name

    def node(self, name: str) -> Node:
        for n in self.nodes:
            if n.name == name:
                return n
        raise FlowError(f"the flow has no node {name!r} (nodes: {', '.join(n.name for n in self.nodes)})")

    def check(self, available: Mapping[str, Tool] | None) -> None:
        """Every name a node uses must exist: raise a FlowError naming the first node that is wrong.
        `available`: the tools nodes may name (None: tool names are checked later, when known)."""
        if not self.nodes:
            raise FlowError("a flow needs at least one node")
        names = [n.name for n in self.nodes]
        known = ", ".join(names)
        for name in names:
            if not NODE_NAME.match(name):
                raise FlowError(f"flow node {name!r}: a node name is letters, digits and _ (at most 41)")
            if names.count(name) > 1:
                raise FlowError(f"flow node {name!r} is declared twice")
        if self.first not in names:
            raise FlowError(f"the flow starts at {self.first!r}, which is not a node (nodes: {known})")
        if self.context not in ("keep", "summary", "reset"):
            raise FlowError(f"flow context {self.context!r}: keep, summary or reset")
        for n in self.nodes:
            where = f"flow node {n.name!r}"
            if not n.instructions.strip():
                raise FlowError(f"{where}: instructions are empty")
            if n.context is not None and n.context not in ("keep", "summary", "reset"):
                raise FlowError(f"{where}: context {n.context!r}: keep, summary or reset")
            targets = [("next", n.next)] if n.next is not None else []
            targets += [(f"after.{tool_name}", t) for tool_name, t in n.after.items()]
            targets += [(f"choices.{t}", t) for t in n.choices]
            for label, target in targets:
                if target not in names:
                    raise FlowError(f"{where}: {label} goes to {target!r}, which is not a node (nodes: {known})")
            if n.next is not None and not n.collect:
                raise FlowError(f"{where}: `next` needs something to `collect` (or use `after`/`choices`)")
            if n.end and (n.next or n.after or n.choices):
                raise FlowError(f"{where}: an end node has no transitions")
            if available is None:
                own_names = {_tool_name(t) for t in n.tools}
            else:
                own_names = {t.name for t in _node_tools(n, available, where)}
            for tool_name in n.after:
                if tool_name not in own_names:
                    raise FlowError(f"{where}: after.{tool_name}: the node has no tool {tool_name!r}")
            for key, spec in n.collect.items():
                _field_schema(key, spec, where)
            generated = ([f"record_{n.name}"] if n.collect else []) + [f"go_to_{t}" for t in n.choices]
            clash = own_names.intersection(generated)
            if clash:
                raise FlowError(f"{where}: a tool is named like a generated one ({', '.join(sorted(clash))})")


def _tool_name(item: Tool | Callable[..., Any] | str) -> str:
    if isinstance(item, str):
        return item
    return item.name if isinstance(item, Tool) else getattr(item, "__name__", "")


def _node_tools(node: Node, available: Mapping[str, Tool], where: str) -> list[Tool]:
    tools = []
    for item in node.tools:
        if isinstance(item, str):
            found = available.get(item)
            if found is None:
                raise FlowError(
                    f"{where}: no tool named {item!r} (the agent's and built-in tools: "
                    f"{', '.join(sorted(available)) or 'none'})"
                )
            tools.append(found)
        elif isinstance(item, Tool):
            tools.append(item)
        else:
            try:
                tools.append(make_tool(item))
            except ToolError as exc:
                raise FlowError(f"{where}: {exc}") from None
    return tools


def _field_schema(key: str, spec: str | Mapping[str, Any], where: str) -> dict[str, Any]:
    if not re.match(r"^[A-Za-z_][A-Za-z0-9_]{0,40}$", key):
        raise FlowError(f"{where}: collect field {key!r}: letters, digits and _ only")
    if isinstance(spec, str):
        return {"type": "string", "description": spec}
    unknown = set(spec) - {"type", "description", "enum"}
    if unknown:
        raise FlowError(f"{where}: collect field {key!r}: unknown {', '.join(sorted(unknown))}")
    kind = spec.get("type", "string")
    if kind not in FIELD_TYPES:
        raise FlowError(f"{where}: collect field {key!r}: type {kind!r} (string, integer, number, boolean)")
    schema: dict[str, Any] = {"type": FIELD_TYPES[kind]}
    if spec.get("description"):
        schema["description"] = str(spec["description"])
    if spec.get("enum"):
        schema["enum"] = list(spec["enum"])
    return schema


class FlowRunner:
    """A flow in one session: the node it is at, what it has collected, and the model's instructions
    and tools that follow from them."""

    def __init__(
        self,
        flow: Flow,
        base_instructions: str,
        conversation: Conversation,
        toolbox: Toolbox,
        bus: EventBus,
        clock: Clock,
        available: Mapping[str, Tool],
        summarize: Callable[[], None] | None = None,
        lasting: Sequence[Tool] = (),
    ) -> None:
        """`lasting`: tools offered at every step (the user's memory)."""
        flow.check(available)
        self.lasting = list(lasting)
        self.flow = flow
        self.base_instructions = base_instructions
        self.conversation, self.toolbox, self._bus, self._clock = conversation, toolbox, bus, clock
        self.available = dict(available)
        self._summarize = summarize
        self.data: dict[str, Any] = {}
        self.node: Node = flow.node(flow.first)
        self.history: list[str] = []
        toolbox.on_result = self._after_tool
        self._enter(self.node, None, initial=True)

    @property
    def ended(self) -> bool:
        return self.node.end

    def goto(self, name: str) -> None:
        """Move to node `name` now: the next request to the model has its instructions and tools."""
        target = self.flow.node(name)
        previous = self.node
        self._apply_context(target.context or self.flow.context)
        self.node = target
        self._enter(target, previous.name)

    def _enter(self, node: Node, came_from: str | None, initial: bool = False) -> None:
        self.history.append(node.name)
        self.conversation.system_prompt = self.instructions()
        own = self.available_here()
        names = {t.name for t in own}
        self.toolbox.replace([*own, *self._generated(node), *(t for t in self.lasting if t.name not in names)])
        self._bus.publish(FlowMoved(self._clock.now(), came_from, node.name, dict(self.data), node.end))

    def available_here(self) -> list[Tool]:
        return _node_tools(self.node, self.available, f"flow node {self.node.name!r}")

    def instructions(self) -> str:
        """The agent's own instructions, then this step's, then what is known so far."""
        parts = [self.base_instructions.strip(), f"Current step ({self.node.name}): {self.node.instructions.strip()}"]
        if self.node.collect:
            wanted = ", ".join(self.node.collect)
            parts.append(
                f"Ask for what is missing of: {wanted}. When you have all of it, call record_{self.node.name}."
            )
        if self.data:
            known = "; ".join(f"{k}: {v}" for k, v in self.data.items())
            parts.append(f"Known so far: {known}.")
        return "\n\n".join(p for p in parts if p)

    def _generated(self, node: Node) -> list[Tool]:
        tools = []
        if node.collect:
            tools.append(self._record_tool(node))
        for target, when in node.choices.items():
            tools.append(self._choice_tool(target, when))
        return tools

    def _record_tool(self, node: Node) -> Tool:
        properties = {key: _field_schema(key, spec, f"flow node {node.name!r}") for key, spec in node.collect.items()}

        async def record(**values: Any) -> str:  # async: it runs on the loop, where the session lives
            self.data.update(values)
            if node.next is not None and self.node is node:
                self.goto(node.next)
                return f"recorded; now at step {node.next}"
            return "recorded"

        fields = ", ".join(node.collect)
        parameters = {
            "type": "object",
            "properties": properties,
            "required": list(properties),
            "additionalProperties": False,
        }
        return Tool(
            f"record_{node.name}",
            f"Record the user's {fields} once you have all of it.",
            parameters,
            record,
            side_effects=True,
            _accepts=frozenset(properties),
        )

    def _choice_tool(self, target: str, when: str) -> Tool:
        async def go() -> str:
            self.goto(target)
            return f"now at step {target}"

        return Tool(f"go_to_{target}", f"Go to the step '{target}': {when}", {"type": "object", "properties": {}}, go)

    def _after_tool(self, result: ToolResult) -> None:
        target = self.node.after.get(result.call.name)
        if target is not None and not result.error:
            self.goto(target)

    def _apply_context(self, policy: str) -> None:
        if policy == "reset":
            self.conversation.clear()
        elif policy == "summary" and self._summarize is not None:
            self._summarize()
