"""A kitchen helper with tools: a timer, unit conversion and a small recipe lookup.

Needs a language model that calls tools (any OpenAI-compatible endpoint: OpenAI, Ollama, vLLM,
llama.cpp's server), e.g.

    VAGUS_LLM_BASE_URL=http://localhost:11434/v1 VAGUS_LLM_MODEL=qwen2.5:1.5b \\
        vagus serve --agent examples/kitchen_tools.py:agent

The timer has a side effect (it starts something): when the user interrupts while it is being set,
it is still set, once, and the conversation records it.
"""

from __future__ import annotations

from typing import Literal

from vagus import Agent, tool

TIMERS: list[int] = []
RECIPES = {
    "pancakes": "200 g flour, 2 eggs, 300 ml milk, a pinch of salt; rest 30 minutes, fry 2 minutes a side.",
    "omelette": "3 eggs, a knob of butter, salt; whisk, cook 2 minutes on a medium heat, fold.",
}


@tool(side_effects=True)
def set_timer(minutes: int) -> str:
    """Start a kitchen timer.

    Args:
        minutes: how long, in whole minutes
    """
    if not 0 < minutes <= 600:
        return "error: a timer is 1 to 600 minutes"
    TIMERS.append(minutes)
    return f"timer set for {minutes} minutes"


@tool
def convert(amount: float, unit: Literal["cup", "ounce", "pound", "fahrenheit"]) -> str:
    """Convert a kitchen quantity to metric.

    Args:
        amount: the quantity
        unit: the unit it is in
    """
    if unit == "fahrenheit":
        return f"{(amount - 32) * 5 / 9:.0f} degrees Celsius"
    factor, metric = {"cup": (240, "ml"), "ounce": (28.35, "g"), "pound": (453.6, "g")}[unit]
    return f"{amount * factor:.0f} {metric}"


@tool
def recipe(dish: str) -> str:
    """Look up a recipe in the kitchen's own book.

    Args:
        dish: the dish, e.g. pancakes
    """
    return RECIPES.get(dish.strip().lower(), f"no recipe for {dish} in the book")


agent = Agent(
    instructions=(
        "You are a kitchen helper you talk to while cooking. Use the tools for timers, conversions and "
        "recipes; answer in one short spoken sentence."
    ),
    tools=[set_timer, convert, recipe],
)
