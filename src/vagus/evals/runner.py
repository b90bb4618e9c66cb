"""Runs a suite over a matrix: every scenario through the real session (the file transport, the
combination's real providers) for every combination. One after another by default (a conversation
uses the machine's cores for its models; two at once would measure each other); `jobs` > 1 runs that
many combinations at once in their own processes, for machines with cores to spare. Each run's result
is written as it finishes, so an interrupted evaluation resumes where it stopped."""

from __future__ import annotations

import asyncio
import json
import logging
import multiprocessing
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from vagus.audio.room import EchoPath
from vagus.config import AgentConfig
from vagus.evals.caller import Spoken, Voices, build_track, describe
from vagus.evals.judge import Judge
from vagus.evals.metrics import (
    backchannel_row,
    ignored_row,
    interruption_rows,
    match,
    tools_by_turn,
    turn_metrics,
)
from vagus.evals.simulated import SimulatedCaller, goal_checks
from vagus.evals.suite import Matrix, Prices, Scenario, Suite, combined, merged
from vagus.files import write_atomically

log = logging.getLogger("vagus.evals")


def unrecorded(config: AgentConfig) -> AgentConfig:
    """An evaluation keeps its own transcripts and metrics: its synthetic calls are not added to the
    agent's recorded conversations (`recording:`), which are for people's."""
    if not config.recording.enabled:
        return config
    return config.model_copy(update={"recording": config.recording.model_copy(update={"enabled": False})})


def run_path(out: Path, combination: str, scenario: str) -> Path:
    return out / "runs" / f"{combination}__{scenario}.json"


class _Combination:
    """One combination's models, loaded once per distinct set of settings its scenarios need."""

    def __init__(self) -> None:
        self._built: dict[str, Any] = {}

    def services(self, config: AgentConfig) -> Any:
        from vagus.agent.services import build_services, models_key

        key = models_key(config)
        if key not in self._built:
            self._built[key] = build_services(config)
        return self._built[key]

    async def close(self) -> None:
        for services in self._built.values():
            await services.close()


async def run_suite(
    suite: Suite,
    matrix: Matrix,
    out: Path,
    fresh: bool = False,
    on_progress: Callable[[str], None] | None = None,
    jobs: int = 1,
) -> list[dict[str, Any]]:
    """Every (combination, scenario) run, from `out/runs/` when already there (unless `fresh`)."""
    (out / "runs").mkdir(parents=True, exist_ok=True)
    if jobs > 1 and len(matrix.combinations) > 1:
        await _run_in_processes(suite, matrix, out, fresh, on_progress, jobs)
        return [json.loads(run_path(out, n, s.name).read_text()) for n in matrix.combinations for s in suite.scenarios]
    voices = Voices()
    judge = Judge(suite.judge) if suite.judge is not None else None
    tracks: dict[str, Any] = {}
    results: list[dict[str, Any]] = []
    try:
        for name, overrides in matrix.combinations.items():
            models = _Combination()
            try:
                for scenario in suite.scenarios:
                    path = run_path(out, name, scenario.name)
                    if path.exists() and not fresh:
                        results.append(json.loads(path.read_text()))
                        if on_progress is not None:
                            on_progress(f"{name} · {scenario.name} (kept)")
                        continue
                    config = unrecorded(combined(merged(suite.base, scenario.config), overrides))
                    services = models.services(config)
                    if scenario.caller is not None:
                        record = await _run_caller(scenario, config, services, voices, judge)
                    else:
                        if scenario.name not in tracks:
                            tracks[scenario.name] = await build_track(scenario, voices)
                        record = await _run_scripted(scenario, *tracks[scenario.name], config, services, judge)
                    _price(record, matrix.prices.get(name))
                    record = {"combination": name, "scenario": scenario.name, **record}
                    write_atomically(path, json.dumps(record, indent=1, ensure_ascii=False))
                    results.append(record)
                    if on_progress is not None:
                        on_progress(f"{name} · {scenario.name}")
            finally:
                await models.close()
    finally:
        if judge is not None:
            await judge.close()
    return results


async def _run_scripted(
    scenario: Scenario, track: Any, spoken: list[Spoken], config: AgentConfig, services: Any, judge: Judge | None
) -> dict[str, Any]:
    from vagus.transports.file import run_conversation

    echo = EchoPath() if scenario.conditions.echo else None
    start = time.perf_counter()
    result = await run_conversation(track, 16000, services, config, echo_path=echo)
    rows = _rows(spoken, result.turns, result.events)
    if judge is not None:
        await grade_turns(judge, spoken, rows)
    return _record(spoken, rows, result, time.perf_counter() - start)


async def _run_caller(
    scenario: Scenario, config: AgentConfig, services: Any, voices: Voices, judge: Judge | None
) -> dict[str, Any]:
    """A simulated caller's conversation: per-line measures as for scripted turns, and the goal."""
    from vagus.agent.services import build_provider
    from vagus.transports.file import run_conversation

    assert scenario.caller is not None
    section = AgentConfig.model_validate({"llm": {"temperature": 0.0, "max_tokens": 80, **scenario.caller.llm}}).llm
    llm = build_provider("llm", section, config)
    if hasattr(llm, "extra_body"):
        llm.extra_body = {**llm.extra_body, "seed": scenario.caller.seed}
    caller = SimulatedCaller(scenario, voices, llm)
    echo = EchoPath() if scenario.conditions.echo else None
    start = time.perf_counter()
    try:
        silent = np.zeros(0, np.float32)  # the caller's microphone is the source
        result = await run_conversation(silent, 16000, services, config, echo_path=echo, source=caller.frames)
    finally:
        close = getattr(llm, "close", None)
        if close is not None:
            await close()
    spoken = caller.spoken
    rows = _rows(spoken, result.turns, result.events)
    success = scenario.caller.success
    failures, found = goal_checks(success, result.events, caller.transcript)
    if caller.failure:
        failures.append(caller.failure)
    goal: dict[str, Any] = {"turn": "goal", "script": scenario.caller.goal, "heard": True, "goal": True, **found}
    if success.judge is not None and judge is not None:
        score, reason = await judge.grade_call(success.judge, caller.transcript)
        goal["judge_score"], goal["judge_reason"] = score, reason
        if score is None or score < judge.config.pass_score:
            failures.append(f"judge: {score if score is not None else 'no grade'} ({reason})")
    goal["hung_up"] = caller.hung_up and len(spoken) < scenario.caller.max_turns
    goal.update(failures=failures, passed=not failures)
    record = _record(spoken, [*rows, goal], result, time.perf_counter() - start)
    record["transcript"] = caller.transcript
    return record


def _rows(spoken: list[Spoken], turns: list[dict[str, Any]], events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    matched = match(spoken, turns)
    tools = tools_by_turn(events)
    rows = []
    for i, s in enumerate(spoken):
        if s.expect.keeps_talking:
            rows.append(backchannel_row(s, turns))
        elif s.expect.ignored:
            rows.append(ignored_row(s, matched[s.index]))
        else:
            later = [x.start for x in spoken[i + 1 :] if not x.expect.ignored]
            rows.append(turn_metrics(s, matched[s.index], tools, later[0] if later else None))
    stops, _ = interruption_rows(spoken, turns)
    for s, row in zip(spoken, rows, strict=True):
        if s.expect.interrupts and not stops:
            row["failures"].append("the answer was not interrupted")
            row["passed"] = False
    return rows


def _record(spoken: list[Spoken], rows: list[dict[str, Any]], result: Any, wall: float) -> dict[str, Any]:
    stops, false = interruption_rows(spoken, result.turns)
    return {
        "rows": rows,
        "stop_ms": stops,
        "false_barge_ins": false,
        "wall_seconds": round(wall, 2),
        "spoken": describe(spoken),
        "failures": {str(k): v for k, v in result.failures.items()},
        "timeline": result.turns,
    }


def _price(record: dict[str, Any], prices: Prices | None) -> None:
    if prices is None:
        return
    spans = {s["turn"]: s["end"] - s["start"] for s in record["spoken"]}
    for row in record["rows"]:
        if row["turn"] in spans:
            row["cost"] = round(prices.turn_cost(spans[row["turn"]], row.get("answer", "")), 6)


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


def _one_combination(suite: Suite, name: str, matrix: Matrix, out: Path, fresh: bool) -> None:
    """A worker process: one combination's scenarios (its results land in `out/runs/`)."""
    single = Matrix(combinations={name: matrix.combinations[name]}, prices={
        k: v for k, v in matrix.prices.items() if k == name
    })  # fmt: skip
    asyncio.run(run_suite(suite, single, out, fresh))


async def _run_in_processes(
    suite: Suite,
    matrix: Matrix,
    out: Path,
    fresh: bool,
    on_progress: Callable[[str], None] | None,
    jobs: int,
) -> None:
    """`jobs` combinations at once, each in a process of its own (models are not shared between them:
    each loads its own, as it would serve). Progress is read from the run files as they appear."""
    expected = {run_path(out, n, s.name): f"{n} · {s.name}" for n in matrix.combinations for s in suite.scenarios}
    reported = {p for p in expected if p.exists() and not fresh}
    for path in sorted(reported):
        if on_progress is not None:
            on_progress(f"{expected[path]} (kept)")
    if fresh:
        for path in expected:
            path.unlink(missing_ok=True)
    loop = asyncio.get_running_loop()
    context = multiprocessing.get_context("spawn")  # no forked copies of loaded models or event loops
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
        futures = [
            loop.run_in_executor(pool, _one_combination, suite, name, matrix, out, False)
            for name in matrix.combinations
        ]
        waiting = asyncio.gather(*futures)
        while not waiting.done():
            await asyncio.wait([waiting], timeout=0.5)
            for path in expected:
                if path not in reported and path.exists():
                    reported.add(path)
                    if on_progress is not None:
                        on_progress(expected[path])
        await waiting
