"""`vagus eval` end to end: a small suite (3 scenarios) over 2 combinations with the offline models,
as a user runs it: the runs, the ranking, the report files, `--write-config`, resuming, and the HTML
report in headless Chromium."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.e2e.netns import run_report

pytestmark = pytest.mark.slow

SUITE = """
name: small
scenarios:
  - name: greeting
    turns:
      - say: "Hello there."
        expect: {max_words: 40}
  - name: arithmetic
    turns:
      - say: "What is seven times six?"
        expect: {keywords: ["42|forty two"]}
  - name: barge_in
    turns:
      - say: "Tell me everything about the history of Rome."
        then_s: 3.5
      - say: "Wait, stop please."
        expect: {interrupts: true}
"""
MATRIX = """
combinations:
  smart_turn: {}
  slow_silence: {turns: {end_of_turn: {model: none}, silence_ms: 2000}}
prices:
  slow_silence: {stt_per_minute: 0.006, tts_per_1k_chars: 0.015}
"""


def vagus(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "vagus", "--log-level", "warning", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("eval")
    (folder / "suite.yaml").write_text(SUITE)
    (folder / "matrix.yaml").write_text(MATRIX)
    proc = vagus("eval", str(folder / "suite.yaml"), "--matrix", str(folder / "matrix.yaml"),
                 "--out", str(folder / "out"), "--write-config", str(folder / "best.yaml"))  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    (folder / "stdout.txt").write_text(proc.stdout)
    return folder


def test_the_runs_are_measured_and_ranked(evaluated):
    results = json.loads((evaluated / "out" / "results.json").read_text())
    runs = results["runs"]
    assert sorted((r["combination"], r["scenario"]) for r in runs) == sorted(
        (c, s) for c in ("smart_turn", "slow_silence") for s in ("greeting", "arithmetic", "barge_in")
    )
    summary = {s["combination"]: s for s in results["summary"]}
    good, slow = summary["smart_turn"], summary["slow_silence"]
    assert good["passed_turns"] == good["turns"] == 4, [r["rows"] for r in runs if r["combination"] == "smart_turn"]
    assert good["latency_p50_ms"] > 0 and good["asr_ttlw_p50_ms"] > 0 and good["tts_ttfb_p50_ms"] > 0
    assert good["interruption_stop_ms_p50"] is not None and good["false_barge_ins"] == 0
    assert good["wer"] < 0.2 and slow["wer"] < 0.2
    assert slow["latency_p50_ms"] > good["latency_p50_ms"]  # two seconds of silence before each answer
    assert good["cost_per_turn"] is None and 0 < slow["cost_per_turn"] < 0.01  # priced: a hosted stand-in
    assert results["summary"][0]["combination"] == "smart_turn" and good["pareto"]
    assert "smart_turn" in (evaluated / "stdout.txt").read_text()


def test_the_report_files_and_the_winning_config(evaluated):
    out = evaluated / "out"
    lines = (out / "turns.csv").read_text().splitlines()
    assert lines[0].startswith("combination,scenario,turn") and len(lines) == 1 + 2 * 4
    best = yaml.safe_load((evaluated / "best.yaml").read_text()) or {}
    assert best == {}  # the winner is the suite's base config as it is
    html = (out / "report.html").read_text()
    assert "<script" not in html and "http" not in html.split("</style>")[0]  # nothing fetched
    assert html.count("<svg") == 3


def test_a_second_run_resumes(evaluated):
    before = {p.name: p.stat().st_mtime_ns for p in (evaluated / "out" / "runs").iterdir()}
    proc = vagus("eval", str(evaluated / "suite.yaml"), "--matrix", str(evaluated / "matrix.yaml"),
                 "--out", str(evaluated / "out"))  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    after = {p.name: p.stat().st_mtime_ns for p in (evaluated / "out" / "runs").iterdir()}
    assert before == after  # nothing ran again


@pytest.mark.browser
def test_the_report_opens_in_a_browser(evaluated):
    shot = evaluated / "report.png"
    report = run_report(Path(__file__).parents[1] / "e2e" / "eval_report_session.py",
                        str(evaluated / "out" / "report.html"), str(shot), browser=True, timeout=120)  # fmt: skip
    assert report["errors"] == [] and report["other_requests"] == []
    assert len(report["figures"]) == 3 and all(w > 200 and h > 100 and paths > 3 for w, h, paths in report["figures"])
    assert report["summary_rows"] == 2 and "pass" in report["grid"]
    assert shot.stat().st_size > 20_000


def test_compare_with_an_earlier_run(evaluated, tmp_path):
    """The same runs compared with themselves: no regression; with a doctored earlier run that was
    faster: a regression, exit 1, and the report says which."""
    same = vagus("eval", str(evaluated / "suite.yaml"), "--matrix", str(evaluated / "matrix.yaml"),
                 "--out", str(evaluated / "out"), "--compare", str(evaluated / "out"))  # fmt: skip
    assert same.returncode == 0 and "no regression" in same.stdout, same.stderr[-2000:]
    earlier = tmp_path / "earlier"
    earlier.mkdir()
    results = json.loads((evaluated / "out" / "results.json").read_text())
    for row in results["summary"]:
        row["latency_p50_ms"] = row["latency_p50_ms"] - 500
    (earlier / "results.json").write_text(json.dumps(results))
    worse = vagus("eval", str(evaluated / "suite.yaml"), "--matrix", str(evaluated / "matrix.yaml"),
                  "--out", str(evaluated / "out"), "--compare", str(earlier))  # fmt: skip
    assert worse.returncode == 1 and "regression in smart_turn: latency_p50_ms" in worse.stdout
    compared = json.loads((evaluated / "out" / "compare.json").read_text())
    assert all(c["regressions"] for c in compared)
    assert 'id="compare"' in (evaluated / "out" / "report.html").read_text()


async def test_an_llm_judge_grades_the_turns_that_ask(tmp_path):
    """A judge over an OpenAI-compatible endpoint (a scripted one here): a grade under the pass score
    fails the turn with the judge's reason; the rubric and both sides of the turn reach the judge."""
    from tests.fake_openai import FakeOpenAI
    from vagus.evals.runner import run_suite
    from vagus.evals.suite import Matrix, Suite

    fake = FakeOpenAI()
    fake.scripts = [[{"content": 'Sure: {"score": 5, "reason": "correct and short"}'}],
                    [{"content": '{"score": 2, "reason": "does not greet"}'}]]  # fmt: skip
    async with fake.serve() as url:
        suite = Suite.model_validate({
            "judge": {"base_url": url, "model": "grader"},
            "scenarios": [{"name": "two", "turns": [
                {"say": "What is seven times six?", "expect": {"judge": "gives the right number"}},
                {"say": "Hello there.", "expect": {"judge": "greets back warmly"}},
            ]}],
        })  # fmt: skip
        (run,) = await run_suite(suite, Matrix(combinations={"default": {}}), tmp_path)
    first, second = run["rows"]
    assert first["judge_score"] == 5 and first["passed"], first
    assert second["judge_score"] == 2 and not second["passed"]
    assert second["failures"] == ["judge: 2 (does not greet)"]
    asked = fake.requests[0]["body"]["messages"]
    assert "Score it from 1 to 5" in asked[0]["content"] and fake.requests[0]["body"]["temperature"] == 0
    assert "gives the right number" in asked[1]["content"] and "42" in asked[1]["content"]


def test_combinations_run_at_once_with_jobs(tmp_path):
    """`--jobs 2`: each combination in its own process; the results are the same files, ranked."""
    (tmp_path / "suite.yaml").write_text(
        'scenarios:\n  - name: arithmetic\n    turns:\n      - say: "What is seven times six?"\n'
        '        expect: {keywords: ["42|forty two"]}\n'
    )
    (tmp_path / "matrix.yaml").write_text(MATRIX)
    proc = vagus("eval", str(tmp_path / "suite.yaml"), "--matrix", str(tmp_path / "matrix.yaml"),
                 "--out", str(tmp_path / "out"), "--jobs", "2")  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    runs = sorted(p.name for p in (tmp_path / "out" / "runs").iterdir())
    assert runs == ["slow_silence__arithmetic.json", "smart_turn__arithmetic.json"]
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    assert {s["combination"]: s["passed_turns"] for s in results["summary"]} == {"smart_turn": 1, "slow_silence": 1}
    bad = vagus("eval", str(tmp_path / "suite.yaml"), "--out", str(tmp_path / "x"), "--jobs", "0")
    assert bad.returncode != 0 and "--jobs" in bad.stderr
