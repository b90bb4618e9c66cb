"""A talking robot base: it drives, turns and switches its lights when asked.

Each tool publishes `agent_action` events on the session's bus (started, then done or stopped), which
the talk page shows and a device driver would subscribe to (`session.on(AgentAction, …)`). Motions
have side effects, so they are interruption-safe: a call is never made twice, and when the user cuts
in ("stop!") the motion halts where it is, the tool returns what was actually done, and the
conversation records that rather than what was planned. Needs a tool-calling language model, e.g.

    VAGUS_LLM_BASE_URL=http://localhost:11434/v1 VAGUS_LLM_MODEL=qwen2.5:3b \\
        vagus serve --agent examples/robot.py:agent
"""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass, field
from typing import Literal

from vagus import Agent, AgentSession, tool

SPEED_M_PER_S = 0.5
TURN_DEG_PER_S = 90.0


@dataclass
class Robot:
    """The robot's state as the agent knows it (a real driver would report it back)."""

    x: float = 0.0
    y: float = 0.0
    heading: float = 0.0
    lights: str = "off"
    halt: asyncio.Event = field(default_factory=asyncio.Event)

    async def run_for(self, seconds: float) -> float:
        """Run a motion for `seconds`, or until halted: the fraction done (a real driver would
        report its odometry instead of the time)."""
        self.halt.clear()
        loop = asyncio.get_running_loop()
        start = loop.time()
        try:
            await asyncio.wait_for(self.halt.wait(), seconds)
        except TimeoutError:
            return 1.0
        return 1.0 if seconds <= 0 else min(1.0, (loop.time() - start) / seconds)


ROBOTS: dict[str, Robot] = {}


def robot_of(session: AgentSession) -> Robot:
    return ROBOTS.setdefault(session.id, Robot())


@tool(side_effects=True, timeout_s=30)
async def drive(session: AgentSession, metres: float) -> str:
    """Drive forward (negative: backward).

    Args:
        metres: how far, at most 5
    """
    if abs(metres) > 5:
        return "error: at most 5 metres at a time"
    robot = robot_of(session)
    session.act("drive", status="started", metres=metres)
    done = await robot.run_for(abs(metres) / SPEED_M_PER_S)
    moved = metres * done
    robot.x += moved * math.cos(math.radians(robot.heading))
    robot.y += moved * math.sin(math.radians(robot.heading))
    session.act("drive", status="done" if done == 1.0 else "stopped", metres=round(moved, 2))
    return f"drove {moved:.1f} m" + ("" if done == 1.0 else " (stopped by the user)")


@tool(side_effects=True, timeout_s=30)
async def turn(session: AgentSession, degrees: float) -> str:
    """Turn on the spot (positive: left, negative: right).

    Args:
        degrees: how far to turn, -360 to 360
    """
    if abs(degrees) > 360:
        return "error: -360 to 360 degrees"
    robot = robot_of(session)
    session.act("turn", status="started", degrees=degrees)
    done = await robot.run_for(abs(degrees) / TURN_DEG_PER_S)
    robot.heading = (robot.heading + degrees * done) % 360
    session.act("turn", status="done" if done == 1.0 else "stopped", degrees=round(degrees * done))
    return f"turned {degrees * done:.0f} degrees"


@tool(side_effects=True)
def lights(session: AgentSession, mode: Literal["off", "white", "red", "green", "blue"]) -> str:
    """Switch the robot's lights.

    Args:
        mode: off or a colour
    """
    robot_of(session).lights = mode
    session.act("lights", mode=mode)
    return f"lights {mode}"


@tool
def where_am_i(session: AgentSession) -> str:
    """Where the robot is, relative to where it started."""
    robot = robot_of(session)
    return f"x {robot.x:.1f} m, y {robot.y:.1f} m, facing {robot.heading:.0f} degrees, lights {robot.lights}"


def stop_moving(session: AgentSession, heard: str) -> None:
    """The user cut in: whatever is moving stops now (the tool then reports what was done)."""
    robot_of(session).halt.set()
    session.act("stop")


agent = Agent(
    name="robot",
    instructions=(
        "You are the voice of a small wheeled robot. Use your tools to drive, turn, switch lights and "
        "report your position; never claim a motion you did not make. Answer in one short sentence."
    ),
    tools=[drive, turn, lights, where_am_i],
    on_interrupted=stop_moving,
)
