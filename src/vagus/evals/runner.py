"""Runs a suite over a matrix: every scenario through the real session (the file transport, the
combination's real providers) for every combination, one after another (a conversation uses the
machine's cores for its models; two at once would measure each other). Each run's result is written
as it finishes, so an interrupted evaluation resumes where it stopped."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from vagus.audio.room import EchoPath
from vagus.evals.caller import UserVoice, build_track, describe
from vagus.evals.judge import Judge
from vagus.evals.metrics import backchannel_row, interruption_rows, match, tools_by_turn, turn_metrics
from vagus.evals.suite import Matrix, Suite, combined

log = logging.getLogger("vagus.evals")


def run_path(out: Path, combination: str, scenario: str) -> Path:
    return out / "runs" / f"{combination}__{scenario}.json"


async def run_suite(
    suite: Suite,
    matrix: Matrix,
    out: Path,
    fresh: bool = False,
    on_progress: Callable[[str], None] | None = None,
) -> list[dict[str, Any]]:
    """Every (combination, scenario) run, from `out/runs/` when already there (unless `fresh`)."""
    from vagus.agent.services import build_services
    from vagus.transports.file import run_conversation

    (out / "runs").mkdir(parents=True, exist_ok=True)
    voice = UserVoice() if any(t.say for s in suite.scenarios for t in s.turns) else None
    judge = Judge(suite.judge) if suite.judge is not None else None
    tracks: dict[str, Any] = {}
    results: list[dict[str, Any]] = []
    for name, overrides in matrix.combinations.items():
        config = combined(suite.base, overrides)
        todo = [s for s in suite.scenarios if fresh or not run_path(out, name, s.name).exists()]
        services = build_services(config) if todo else None
        try:
            for scenario in suite.scenarios:
                path = run_path(out, name, scenario.name)
                if scenario not in todo:
                    results.append(json.loads(path.read_text()))
                    if on_progress is not None:
                        on_progress(f"{name} · {scenario.name} (kept)")
                    continue
                if scenario.name not in tracks:
                    tracks[scenario.name] = await build_track(scenario, voice)
                track, spoken = tracks[scenario.name]
                echo = EchoPath() if scenario.conditions.echo else None
                start = time.perf_counter()
                assert services is not None
                result = await run_conversation(track, 16000, services, config, echo_path=echo)
                matched = match(spoken, result.turns)
                tools = tools_by_turn(result.events)
                rows = [
                    backchannel_row(s, result.turns)
                    if s.expect.keeps_talking
                    else turn_metrics(s, matched[s.index], tools, spoken[i + 1].start if i + 1 < len(spoken) else None)
                    for i, s in enumerate(spoken)
                ]
                if judge is not None:
                    await grade_turns(judge, spoken, rows)
                prices = matrix.prices.get(name)
                if prices is not None:
                    for s, row in zip(spoken, rows, strict=True):
                        row["cost"] = round(prices.turn_cost(s.end - s.start, row.get("answer", "")), 6)
                stops, false = interruption_rows(spoken, result.turns)
                for s, row in zip(spoken, rows, strict=True):
                    if s.expect.interrupts and not stops:
                        row["failures"].append("the answer was not interrupted")
                        row["passed"] = False
                record = {
                    "combination": name,
                    "scenario": scenario.name,
                    "rows": rows,
                    "stop_ms": stops,
                    "false_barge_ins": false,
                    "wall_seconds": round(time.perf_counter() - start, 2),
                    "spoken": describe(spoken),
                    "failures": {str(k): v for k, v in result.failures.items()},
                    "timeline": result.turns,
                }
                path.write_text(json.dumps(record, indent=1, ensure_ascii=False))
                results.append(record)
                if on_progress is not None:
                    on_progress(f"{name} · {scenario.name}")
        finally:
            if services is not None:
                await services.close()
    if judge is not None:
        await judge.close()
    return results


async def grade_turns(judge: Judge, spoken: list[Any], rows: list[dict[str, Any]]) -> None:
    """The judge's grade on each turn that asks for one; under the pass score, the turn fails."""
    for s, row in zip(spoken, rows, strict=True):
        criterion = s.expect.judge
        if criterion is None or not row["heard"]:
            continue
        score, reason = await judge.grade(criterion, row.get("user_text", ""), row.get("answer", ""))
        row["judge_score"], row["judge_reason"] = score, reason
        if score is None or score < judge.config.pass_score:
            row["failures"].append(f"judge: {score if score is not None else 'no grade'} ({reason})")
            row["passed"] = False
