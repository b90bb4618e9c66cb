"""Tools from Python functions (brain/tools.py): schema, argument checks, timeouts, once per call."""

from __future__ import annotations

import asyncio
import json
from typing import Literal

import pytest

from vagus.brain.tools import Tool, Toolbox, ToolCall, ToolError, tool


@tool
def convert(value: float, unit: Literal["km", "mi"], precise: bool = False) -> str:
    """Convert a distance between kilometres and miles.

    Args:
        value: the distance to convert
        unit: the unit `value` is in
        precise: more decimals
    """
    factor = 0.621371 if unit == "km" else 1.609344
    return f"{value * factor:.{4 if precise else 1}f}"


def test_a_function_becomes_a_described_tool():
    assert isinstance(convert, Tool)
    spec = convert.spec()["function"]
    assert spec["name"] == "convert"
    assert spec["description"] == "Convert a distance between kilometres and miles."
    params = spec["parameters"]
    assert params["required"] == ["value", "unit"]
    assert params["properties"]["unit"] == {
        "type": "string",
        "enum": ["km", "mi"],
        "description": "the unit `value` is in",
    }
    assert params["properties"]["value"]["type"] == "number"
    assert params["properties"]["precise"] == {"type": "boolean", "description": "more decimals", "default": False}
    assert params["additionalProperties"] is False


def test_tools_that_cannot_be_described_are_refused_by_name():
    def no_doc(x: int) -> int:
        return x

    def no_hint(x):  # type: ignore[no-untyped-def]
        """Doc."""

    def odd_type(x: complex) -> None:
        """Doc."""

    with pytest.raises(ToolError, match="no_doc: say what it does"):
        tool(no_doc)
    with pytest.raises(ToolError, match="parameter 'x' needs a type hint"):
        tool(no_hint)
    with pytest.raises(ToolError, match="odd_type, parameter 'x'"):
        tool(odd_type)
    with pytest.raises(ToolError, match="two tools are named 'convert'"):
        Toolbox([convert, convert])


async def test_calls_run_with_checked_arguments_and_failures_are_told_to_the_model():
    calls = []

    @tool(timeout_s=0.05)
    async def slow() -> str:
        """Never finishes in time."""
        await asyncio.sleep(1)
        return "late"

    @tool
    def broken(n: int) -> int:
        """Fails."""
        calls.append(n)
        raise RuntimeError("the device is unplugged")

    box = Toolbox([convert, slow, broken])
    ok = await box.run(ToolCall("1", "convert", json.dumps({"value": 10, "unit": "km"})))
    assert (ok.content, ok.error) == ("6.2", False)
    bad = await box.run(ToolCall("2", "convert", '{"value": 1, "units": "km"}'))
    assert bad.error and "unknown units" in bad.content and "missing unit" in bad.content
    assert (await box.run(ToolCall("3", "convert", "{not json"))).content == "error: the arguments were not valid JSON"
    assert (await box.run(ToolCall("4", "nope", "{}"))).content == "error: there is no tool named 'nope'"
    assert "did not finish within 0.05 s" in (await box.run(ToolCall("5", "slow", ""))).content
    failed = await box.run(ToolCall("6", "broken", '{"n": 1}'))
    assert failed.error and "the device is unplugged" in failed.content
    again = await box.run(ToolCall("6", "broken", '{"n": 1}'))
    assert again is failed and calls == [1]  # a call id runs once


async def test_a_plain_function_runs_off_the_event_loop():
    import threading

    seen = []

    @tool
    def where() -> str:
        """Which thread runs me."""
        seen.append(threading.current_thread() is threading.main_thread())
        return "ok"

    await Toolbox([where]).run(ToolCall("1", "where", "{}"))
    assert seen == [False]
