"""The results of a suite over a matrix: per combination the latency (p50/p95 of end of speech →
first audio, and per stage), quality (expectations met, WER, words per answer, markup spoken) and
turn-taking (interruption stop time, false barge-ins, cut-ins); a score with the suite's weights; the
Pareto front of latency against quality; and the files: `results.json`, `turns.csv`, and a
self-contained `report.html` (its plots are inline SVG from matplotlib; it opens offline)."""

from __future__ import annotations

import csv
import html
import io
import json
from pathlib import Path
from typing import Any

import numpy as np

from vagus.evals.suite import Suite
from vagus.files import write_atomically

STAGES = ("asr_ttlw", "llm_ttfb", "llm_ttfs", "tts_ttfb")


def _pct(values: list[float], q: float) -> float | None:
    return round(float(np.percentile(values, q)), 1) if values else None


def summarise(suite: Suite, runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per combination, best score first."""
    by: dict[str, list[dict[str, Any]]] = {}
    for run in runs:
        by.setdefault(run["combination"], []).append(run)
    w = suite.weights
    out = []
    for name, combo in by.items():
        rows = [r for run in combo for r in run["rows"]]
        latencies = [r["latency_ms"] for r in rows if "latency_ms" in r]
        wers = [r["wer"] for r in rows if "wer" in r]
        words = [r["words"] for r in rows if r.get("words")]
        stops = [s for run in combo for s in run["stop_ms"]]
        passed = sum(1 for r in rows if r["passed"])
        graded = [r["judge_score"] for r in rows if r.get("judge_score") is not None]
        costs = [r["cost"] for r in rows if "cost" in r]
        goals = sum(1 for r in rows if r.get("goal"))
        p50 = _pct(latencies, 50)
        quality = passed / len(rows) if rows else 0.0
        speed = max(0.0, 1.0 - (p50 or w.latency_budget_ms) / w.latency_budget_ms)
        out.append({
            "combination": name,
            "score": round(w.quality * quality + w.latency * speed, 4),
            "passed_turns": passed,
            "turns": len(rows),
            "pass_rate": round(quality, 3),
            "scenarios_passed": sum(1 for run in combo if all(r["passed"] for r in run["rows"])),
            "scenarios": len(combo),
            "latency_p50_ms": p50,
            "latency_p95_ms": _pct(latencies, 95),
            **{f"{stage}_p50_ms": _pct([r[stage] for r in rows if stage in r], 50) for stage in STAGES},
            "wer": round(float(np.mean(wers)), 3) if wers else None,
            "words_per_answer": round(float(np.mean(words)), 1) if words else None,
            "markup_leaks": sum(r.get("markup_leaks", 0) for r in rows),
            "judge_mean": round(float(np.mean(graded)), 2) if graded else None,
            "cost_per_turn": round(float(np.mean(costs)), 6) if costs else None,
            "interruption_stop_ms_p50": _pct(stops, 50),
            "false_barge_ins": sum(run["false_barge_ins"] for run in combo),
            "cut_ins": sum(1 for r in rows if r.get("cut_in")),
            "not_heard": sum(1 for r in rows if not r["heard"]),
            "others_answered": sum(1 for r in rows if "ignored" in r and not r["ignored"]),
            "goals_reached": sum(1 for r in rows if r.get("goal") and r["passed"]) if goals else None,
            "goals": goals,
            "wall_seconds": round(sum(run["wall_seconds"] for run in combo), 1),
        })  # fmt: skip
    front = pareto(out)
    for row in out:
        row["pareto"] = row["combination"] in front
    return sorted(out, key=lambda r: -r["score"])


def pareto(rows: list[dict[str, Any]]) -> set[str]:
    """Combinations no other beats on both latency (p50, lower) and quality (pass rate, higher)."""

    def key(r: dict[str, Any]) -> tuple[float, float]:
        return (r["latency_p50_ms"] if r["latency_p50_ms"] is not None else float("inf"), -r["pass_rate"])

    front = set()
    for r in rows:
        a = key(r)
        if not any(key(o)[0] <= a[0] and key(o)[1] <= a[1] and key(o) != a for o in rows):
            front.add(r["combination"])
    return front


COMPARED = (
    # (field, worse when it goes, how much worse counts as a regression)
    ("pass_rate", "down", 0.0),
    ("latency_p50_ms", "up", 50.0),
    ("latency_p95_ms", "up", 100.0),
    ("wer", "up", 0.02),
    ("interruption_stop_ms_p50", "up", 40.0),
    ("false_barge_ins", "up", 0.0),
    ("cut_ins", "up", 0.0),
    ("markup_leaks", "up", 0.0),
    ("others_answered", "up", 0.0),
    ("goals_reached", "down", 0.0),
)


def compare(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per combination in both runs: each measure before and after, and the regressions (worse by
    more than its margin: latency by 50 ms at p50, WER by 0.02, any expectation lost …)."""
    before = {s["combination"]: s for s in old}
    out = []
    for s in new:
        o = before.get(s["combination"])
        if o is None:
            continue
        changes, regressions = {}, []
        for field, worse, margin in COMPARED:
            a, b = o.get(field), s.get(field)
            if a is None or b is None:
                continue
            changes[field] = {"before": a, "after": b}
            delta = (b - a) if worse == "up" else (a - b)
            if delta > margin:
                regressions.append(f"{field} {a} → {b}")
        out.append({"combination": s["combination"], "changes": changes, "regressions": regressions})
    return out


def write_reports(
    out: Path,
    suite: Suite,
    runs: list[dict[str, Any]],
    summary: list[dict[str, Any]],
    compared: list[dict[str, Any]] | None = None,
) -> None:
    write_atomically(out / "results.json", json.dumps({"suite": suite.name, "summary": summary, "runs": runs},
                                                 indent=1, ensure_ascii=False))  # fmt: skip
    if compared is not None:
        write_atomically(out / "compare.json", json.dumps(compared, indent=1, ensure_ascii=False))
    fields = ["combination", "scenario", "turn", "script", "user_text", "answer", "passed", "failures", "latency_ms",
              *STAGES, "wer", "words", "markup_leaks", "cut_in", "tools", "judge_score", "cost"]  # fmt: skip
    with (out / "turns.csv").open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields, extrasaction="ignore")
        writer.writeheader()
        for run in runs:
            for row in run["rows"]:
                writer.writerow({**row, "combination": run["combination"], "scenario": run["scenario"],
                                 "failures": "; ".join(row.get("failures", [])),
                                 "tools": " ".join(row.get("tools", []))})  # fmt: skip
    (out / "report.html").write_text(render_html(suite, runs, summary, compared))


def _svg(fig: Any) -> str:
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight")
    text = buffer.getvalue()
    return text[text.index("<svg") :]


def plots(runs: list[dict[str, Any]], summary: list[dict[str, Any]]) -> dict[str, str]:
    """Inline SVG plots: latency CDFs, per-stage waterfall, quality against latency."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [s["combination"] for s in summary]
    figures: dict[str, str] = {}
    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    for name in names:
        values = sorted(r["latency_ms"] for run in runs if run["combination"] == name for r in run["rows"]
                        if "latency_ms" in r)  # fmt: skip
        if values:
            ax.step(values, np.arange(1, len(values) + 1) / len(values), where="post", label=name)
    ax.set_xlabel("end of speech → first agent audio (ms)")
    ax.set_ylabel("share of turns")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    figures["latency_cdf"] = _svg(fig)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(6.4, 0.6 + 0.5 * len(names)))
    left = np.zeros(len(names))
    for stage in ("asr_ttlw", "llm_ttfb", "tts_ttfb"):
        widths = np.array([s[f"{stage}_p50_ms"] or 0.0 for s in summary])
        ax.barh(names, widths, left=left, label=stage)
        left += widths
    ax.set_xlabel("median per stage (ms)")
    ax.legend(fontsize=8, ncols=3)
    figures["stages"] = _svg(fig)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    for s in summary:
        if s["latency_p50_ms"] is None:
            continue
        ax.scatter(s["latency_p50_ms"], s["pass_rate"], s=60, marker="o" if s["pareto"] else "x")
        ax.annotate(s["combination"], (s["latency_p50_ms"], s["pass_rate"]), fontsize=8, xytext=(4, 4),
                    textcoords="offset points")  # fmt: skip
    ax.set_xlabel("latency p50 (ms)")
    ax.set_ylabel("expectations met")
    ax.set_ylim(-0.05, 1.05)
    ax.grid(alpha=0.3)
    figures["quality_latency"] = _svg(fig)
    plt.close(fig)
    return figures


def _heard(row: dict[str, Any]) -> str:
    """What the session made of a turn (for speech it had to let pass: why it did)."""
    if row.get("skipped"):
        return f"({row.get('speaker', 'someone')} — let pass: {row['skipped']})"
    return str(row.get("user_text", ""))


def render_html(
    suite: Suite,
    runs: list[dict[str, Any]],
    summary: list[dict[str, Any]],
    compared: list[dict[str, Any]] | None = None,
) -> str:
    e = html.escape
    columns = [("combination", "combination"), ("score", "score"), ("pass_rate", "expectations met"),
               ("scenarios_passed", "scenarios passed"), ("latency_p50_ms", "latency p50 ms"),
               ("latency_p95_ms", "p95 ms"), ("asr_ttlw_p50_ms", "asr_ttlw"), ("llm_ttfb_p50_ms", "llm_ttfb"),
               ("tts_ttfb_p50_ms", "tts_ttfb"), ("wer", "WER"), ("words_per_answer", "words/answer"),
               ("interruption_stop_ms_p50", "stop ms"), ("false_barge_ins", "false barge-ins"),
               ("cut_ins", "cut-ins"), ("others_answered", "TV/others answered"),
               ("goals_reached", "caller goals"), ("markup_leaks", "markup"), ("judge_mean", "judge"),
               ("cost_per_turn", "cost/turn"), ("pareto", "Pareto")]  # fmt: skip
    head = "".join(f"<th>{e(label)}</th>" for _, label in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{e('' if s[k] is None else str(s[k]))}</td>" for k, _ in columns) + "</tr>"
        for s in summary
    )
    scenarios = list(dict.fromkeys(run["scenario"] for run in runs))
    grid_head = "".join(f"<th>{e(n)}</th>" for n in scenarios)
    grid = ""
    for s in summary:
        cells = ""
        for scenario in scenarios:
            run = next((r for r in runs if r["combination"] == s["combination"] and r["scenario"] == scenario), None)
            if run is None:
                cells += "<td></td>"
                continue
            ok = all(row["passed"] for row in run["rows"])
            why = "; ".join(f for row in run["rows"] for f in row.get("failures", []))
            cells += f'<td class="{"pass" if ok else "fail"}" title="{e(why)}">{"pass" if ok else "fail"}</td>'
        grid += f"<tr><th>{e(s['combination'])}</th>{cells}</tr>"
    try:
        figures = plots(runs, summary)
        figure_html = "".join(f'<figure id="{k}">{v}</figure>' for k, v in figures.items())
    except ImportError:
        figure_html = "<p>(install matplotlib — <code>pip install 'vagus[eval]'</code> — for the plots)</p>"
    turns = ""
    for run in runs:
        for row in run["rows"]:
            turns += (f"<tr><td>{e(run['combination'])}</td><td>{e(run['scenario'])}</td><td>{row['turn']}</td>"
                      f"<td>{e(row['script'])}</td><td>{e(_heard(row))}</td>"
                      f"<td>{e(row.get('answer', ''))}</td><td>{row.get('latency_ms', '')}</td>"
                      f"<td>{'yes' if row['passed'] else e('; '.join(row.get('failures', [])))}</td></tr>")  # fmt: skip
    calls = ""
    for run in runs:
        if run.get("transcript"):
            lines = "".join(f"<li><b>{e(line['who'])}</b>: {e(line['text'])}</li>" for line in run["transcript"])
            goal = next((r for r in run["rows"] if r.get("goal")), {})
            verdict = "goal reached" if goal.get("passed") else "goal missed: " + "; ".join(goal.get("failures", []))
            calls += (f"<h3>{e(run['combination'])} · {e(run['scenario'])} — {e(verdict)}</h3>"
                      f'<ol class="call">{lines}</ol>')  # fmt: skip
    if calls:
        calls = f"<h2>Simulated calls</h2>{calls}"
    best = summary[0]["combination"] if summary else ""
    comparison = ""
    if compared is not None:
        rows = "".join(
            f'<tr><td>{e(c["combination"])}</td><td class="{"fail" if c["regressions"] else "pass"}">'
            f"{e('; '.join(c['regressions']) or 'none')}</td><td>"
            + e(", ".join(f"{k} {v['before']} → {v['after']}" for k, v in c["changes"].items()))
            + "</td></tr>"
            for c in compared
        )
        comparison = ("<h2>Compared with the earlier run</h2><table id=\"compare\"><thead><tr><th>combination</th>"
                      f"<th>regressions</th><th>changes</th></tr></thead><tbody>{rows}</tbody></table>")  # fmt: skip
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>Vagus eval — {e(suite.name)}</title>
<style>
body {{ font: 14px system-ui, sans-serif; margin: 1.5em; color: #222; }}
table {{ border-collapse: collapse; margin: 0.5em 0 1.5em; }} th, td {{ border: 1px solid #ccc; padding: 3px 6px; }}
td.pass {{ background: #d9f2d9; }} td.fail {{ background: #f7d4d4; }} figure {{ display: inline-block; margin: 0.5em; }}
figure svg {{ max-width: 100%; height: auto; }} .wide {{ overflow-x: auto; max-width: 100%; }}
</style></head><body>
<h1>Vagus eval — {e(suite.name)}</h1>
<p>Best by score (quality weight {suite.weights.quality}, latency weight {suite.weights.latency}):
<strong>{e(best)}</strong>. Latency is from the end of the user's speech to the agent's first audio.</p>
{comparison}
<h2>Combinations</h2><div class="wide"><table id="summary"><thead><tr>{head}</tr></thead>
<tbody>{body}</tbody></table></div>
<h2>Plots</h2>{figure_html}
<h2>Scenarios</h2><div class="wide"><table id="grid"><thead><tr><th></th>{grid_head}</tr></thead>
<tbody>{grid}</tbody></table></div>
<h2>Turns</h2><table id="turns"><thead><tr><th>combination</th><th>scenario</th><th>turn</th><th>script</th>
<th>heard</th><th>answer</th><th>latency ms</th><th>passed</th></tr></thead><tbody>{turns}</tbody></table>
{calls}
</body></html>
"""
