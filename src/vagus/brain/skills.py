"""The offline brain's skills as tools for a language model (`tools.builtin` in the config).

A small model asked "what time is it?" guesses a time; one that can call `time` reads the clock.
Each session gets its own instances (the remembered name belongs to one conversation).
"""

from __future__ import annotations

import ast
import math
import operator
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from vagus.brain.tools import Tool, ToolError, make_tool

MAX_POWER = 1000
"""Exponents above this are refused: 9**9**9 would take the process down, not answer a question."""
_BINARY: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_FUNCTIONS: dict[str, Callable[..., float]] = {
    "sqrt": math.sqrt,
    "abs": abs,
    "round": round,
    "sin": math.sin,
    "cos": math.cos,
    "tan": math.tan,
    "log": math.log,
    "log10": math.log10,
}
_CONSTANTS = {"pi": math.pi, "e": math.e}


def evaluate(expression: str) -> float:
    """An arithmetic expression (numbers, + - * / // % **, parentheses, sqrt/abs/round/sin/cos/tan/log,
    pi, e); anything else is refused with a ValueError that says why."""
    text = expression.replace("×", "*").replace("÷", "/").replace("^", "**").strip()
    if not text or len(text) > 200:
        raise ValueError("give an arithmetic expression of at most 200 characters")
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError:
        raise ValueError(f"not an arithmetic expression: {expression!r}") from None
    return float(_value(tree.body))


def _value(node: ast.AST) -> float:
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float) and not isinstance(node.value, bool):
        return node.value
    if isinstance(node, ast.Name) and node.id in _CONSTANTS:
        return _CONSTANTS[node.id]
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        value = _value(node.operand)
        return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left, right = _value(node.left), _value(node.right)
        if isinstance(node.op, ast.Pow) and abs(right) > MAX_POWER:
            raise ValueError(f"exponents above {MAX_POWER} are not computed")
        try:
            return float(_BINARY[type(node.op)](left, right))
        except ZeroDivisionError:
            raise ValueError("division by zero") from None
        except OverflowError:
            raise ValueError("the result is too large") from None
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _FUNCTIONS:
        if node.keywords or not 1 <= len(node.args) <= 2:
            raise ValueError(f"{node.func.id} takes one number")
        try:
            return _FUNCTIONS[node.func.id](*(_value(a) for a in node.args))
        except ValueError:
            raise ValueError(f"{node.func.id} is not defined there") from None
    raise ValueError("only numbers, + - * / % **, parentheses and sqrt, abs, round, sin, cos, tan, log")


def _spoken_number(value: float) -> str:
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.6g}"


def builtin_tools(names: list[str], now: Callable[[], datetime] = datetime.now) -> list[Tool]:
    """Fresh instances of the named skills for one session."""
    remembered: dict[str, str] = {}

    def time() -> str:
        """The current local time. Call it whenever the user asks what time it is."""
        return now().strftime("%-I:%M %p")

    def date() -> str:
        """Today's date and weekday. Call it whenever the user asks the date or the day."""
        return now().strftime("%A, %B %-d, %Y")

    def calculate(expression: str) -> str:
        """Work out an arithmetic expression exactly instead of guessing.

        Args:
            expression: e.g. "7 * 8", "sqrt(81)", "(12.5 + 3) / 2"
        """
        try:
            return _spoken_number(evaluate(expression))
        except ValueError as exc:
            return f"error: {exc}"

    def remember_name(name: str) -> str:
        """Remember the user's name when they tell it.

        Args:
            name: the name they gave
        """
        remembered["name"] = name.strip()
        return f"remembered: {remembered['name']}"

    def repeat(text: str) -> str:
        """When the user asks you to repeat or say something exactly: returns the words to say verbatim.

        Args:
            text: the exact words
        """
        return text.strip()

    skills: dict[str, Callable[..., str]] = {
        "time": time,
        "date": date,
        "calculate": calculate,
        "remember_name": remember_name,
        "repeat": repeat,
    }
    tools = []
    for name in names:
        if name not in skills:
            raise ToolError(f"no built-in tool named {name!r} (there are: {', '.join(skills)})")
        tools.append(make_tool(skills[name]))
    return tools


ROUTED_NOTE = "The {name} tool says: {result}. Answer the user with it in one short sentence."


def route(text: str, available: set[str]) -> tuple[str, dict[str, str]] | None:
    """The built-in skill a question plainly asks for, with its arguments, if that skill is available:
    for small local models that do not call tools themselves (`tools.route_skills`). Uses the rule
    brain's own recognisers, so it triggers exactly where the rule brain would answer."""
    from vagus.services.llm.offline import _ARITHMETIC, _OPERATORS, _SQUARE_ROOT, _normalise, _number

    said = _normalise(text)
    if "time" in available and re.search(r"\bwhat time\b|\bthe time\b|\btime is it\b", said):
        return "time", {}
    if "date" in available and re.search(r"\bwhat (day|date)\b|\btoday'?s date\b|\bthe date\b|\bwhat is today\b", said):
        return "date", {}
    if "calculate" in available:
        root = _SQUARE_ROOT.search(said)
        if root:
            return "calculate", {"expression": f"sqrt({_spoken_number(_number(root.group(1)))})"}
        match = _ARITHMETIC.search(said)
        if match:
            left, op, right = _number(match.group(1)), _OPERATORS[match.group(2)], _number(match.group(3))
            return "calculate", {"expression": f"{_spoken_number(left)} {op} {_spoken_number(right)}"}
    return None
