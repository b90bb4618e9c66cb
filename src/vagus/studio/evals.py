"""Evaluations started from the Studio: `vagus eval` on the agent's saved file, as a process of its own
(its models load there, the server's sessions are not slowed by an import), one at a time, each in
`.vagus-studio/evals/RUN/` beside the file. Progress is read from the result files as they appear; each
run is compared with the one before it; the winner's settings can be laid over the form.

    POST /studio/api/evals                {"suite": "builtin" | "PATH.yaml", "matrix": {...} | null}
    GET  /studio/api/evals                the runs, newest first, with progress and summary
    GET  /studio/api/evals/{run}/winner   the config with the best combination's settings laid over it
    GET  /studio/evals/{run}/report.html  the report
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

import yaml

from vagus.config import ConfigError
from vagus.evals.suite import load_matrix, load_suite, merged
from vagus.files import write_atomically

RUNS_DIR = Path(".vagus-studio") / "evals"
KEEP_STDERR = 3000


class EvalRuns:
    def __init__(self, agent_file: Path) -> None:
        self.agent_file = agent_file
        self.folder = agent_file.parent / RUNS_DIR / agent_file.stem
        self.process: asyncio.subprocess.Process | None = None
        self.current: str | None = None
        self._waiter: asyncio.Task[None] | None = None

    def _suite_path(self, suite: str) -> Path | None:
        if suite == "builtin":
            return None
        path = Path(suite)
        path = path if path.is_absolute() else self.agent_file.parent / path
        if path.suffix not in (".yaml", ".yml") or not path.is_file():
            raise ConfigError(f"suite {suite!r}: 'builtin' or a suite file (.yaml) beside the agent")
        return path

    async def start(self, suite: str, matrix: dict[str, Any] | None) -> str:
        if self.process is not None and self.process.returncode is None:
            raise ConfigError("an evaluation is already running: wait for it to finish")
        suite_path = self._suite_path(suite)
        loaded = load_suite(suite_path, agent=self.agent_file)  # checked here: errors before a process starts
        run = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
        out = self.folder / run
        while out.exists():
            run += "x"
            out = self.folder / run
        out.mkdir(parents=True)
        command = [sys.executable, "-m", "vagus", "--log-level", "warning", "eval"]
        command += ["--builtin"] if suite_path is None else [str(suite_path)]
        command += ["--config", str(self.agent_file), "--out", str(out)]
        combinations = 1
        if matrix:
            (out / "matrix.yaml").write_text(yaml.safe_dump(matrix, sort_keys=False))
            combinations = len(load_matrix(out / "matrix.yaml").combinations)
            command += ["--matrix", str(out / "matrix.yaml")]
        earlier = self._latest_done(exclude=run)
        if earlier is not None:
            command += ["--compare", str(self.folder / earlier)]
        meta = {"suite": suite, "total": combinations * len(loaded.scenarios), "started": time.time(),
                "compared_with": earlier}  # fmt: skip
        write_atomically(out / "studio.json", json.dumps(meta))
        self.process = await asyncio.create_subprocess_exec(
            *command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
        )
        self.current = run
        self._waiter = asyncio.ensure_future(self._wait(out, self.process))
        return run

    async def _wait(self, out: Path, process: asyncio.subprocess.Process) -> None:
        stdout, stderr = await process.communicate()
        meta = json.loads((out / "studio.json").read_text())
        meta.update(exit_code=process.returncode, finished=time.time(),
                    stderr=stderr.decode(errors="replace")[-KEEP_STDERR:],
                    stdout=stdout.decode(errors="replace")[-KEEP_STDERR:])  # fmt: skip
        write_atomically(out / "studio.json", json.dumps(meta))

    def _latest_done(self, exclude: str | None = None) -> str | None:
        for run in self.names():
            if run != exclude and (self.folder / run / "results.json").is_file():
                return run
        return None

    def names(self) -> list[str]:
        if not self.folder.is_dir():
            return []
        return sorted((p.name for p in self.folder.iterdir() if (p / "studio.json").is_file()), reverse=True)

    def folder_of(self, run: str) -> Path:
        if run not in self.names():
            raise ConfigError(f"no evaluation {run!r}")
        return self.folder / run

    def describe(self, run: str) -> dict[str, Any]:
        out = self.folder_of(run)
        meta = json.loads((out / "studio.json").read_text())
        done = len(list((out / "runs").glob("*.json"))) if (out / "runs").is_dir() else 0
        running = run == self.current and self.process is not None and self.process.returncode is None
        state = "running" if running else "done" if (out / "results.json").is_file() else "failed"
        if state != "running" and meta.get("exit_code") is None and not (out / "results.json").is_file():
            state = "stopped"  # the server went away while it ran
        info: dict[str, Any] = {"run": run, "suite": meta["suite"], "state": state, "done": done,
                                "total": meta["total"], "compared_with": meta.get("compared_with")}  # fmt: skip
        if state == "failed":
            info["error"] = (meta.get("stderr") or "").strip().splitlines()[-1:] or ["it stopped"]
        results = out / "results.json"
        if results.is_file():
            data = json.loads(results.read_text())
            info["summary"] = [
                {k: s.get(k) for k in ("combination", "score", "passed_turns", "turns", "latency_p50_ms", "pareto")}
                for s in data["summary"]
            ]
            info["report"] = f"/studio/evals/{run}/report.html"
            compare = out / "compare.json"
            if compare.is_file():
                info["regressions"] = [
                    f"{c['combination']}: {r}" for c in json.loads(compare.read_text()) for r in c["regressions"]
                ]
        return info

    def winner(self, run: str, current: dict[str, Any]) -> dict[str, Any]:
        """The form's values with the best combination's settings laid over them."""
        out = self.folder_of(run)
        results = out / "results.json"
        if not results.is_file():
            raise ConfigError(f"evaluation {run} has no results yet")
        best = json.loads(results.read_text())["summary"][0]["combination"]
        matrix = load_matrix(out / "matrix.yaml") if (out / "matrix.yaml").is_file() else None
        overrides = matrix.combinations[best] if matrix is not None else {}
        return {"combination": best, "data": merged(current, overrides)}

    async def close(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.terminate()
            try:
                await asyncio.wait_for(self.process.wait(), 10)
            except TimeoutError:
                self.process.kill()
