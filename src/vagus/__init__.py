"""Vagus: the real-time nervous system between people and AI.

    from vagus import Agent, tool

The public names load on first use, so `vagus --version` and the command line stay quick.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = [
    "Agent",
    "AgentError",
    "AgentSession",
    "Flow",
    "FlowError",
    "Node",
    "Tool",
    "ToolCall",
    "Toolbox",
    "__version__",
    "load_agent",
    "tool",
]

if TYPE_CHECKING:
    from vagus.api import Agent, AgentError, AgentSession, load_agent
    from vagus.brain.flow import Flow, FlowError, Node
    from vagus.brain.tools import Tool, Toolbox, ToolCall, tool

_HOMES = {
    "Agent": "vagus.api",
    "AgentError": "vagus.api",
    "AgentSession": "vagus.api",
    "load_agent": "vagus.api",
    "Flow": "vagus.brain.flow",
    "FlowError": "vagus.brain.flow",
    "Node": "vagus.brain.flow",
    "Tool": "vagus.brain.tools",
    "ToolCall": "vagus.brain.tools",
    "Toolbox": "vagus.brain.tools",
    "tool": "vagus.brain.tools",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'vagus' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(home), name)
