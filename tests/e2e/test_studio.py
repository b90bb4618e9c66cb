"""End to end: the Studio in headless Chromium, `vagus studio FILE` in a loopback-only namespace."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from tests.e2e.netns import run_report

pytestmark = [pytest.mark.browser, pytest.mark.slow]

HERE = Path(__file__).parent

AGENT = """\
# The Studio test agent: comments and layout must survive the Studio's saves.
name: Helper            # shown on the talk page
system_prompt: You are a helpful voice assistant.
turns:
  silence_ms: 600       # a pause this long ends a turn
# a busy test machine must not turn the conversation away
server: {admit_max_cpu: 1024, admit_max_lateness_ms: 1000, admit_max_tick_fraction: 1.0}
"""


@pytest.fixture(scope="module")
def studio(tmp_path_factory, fixtures_dir) -> tuple[dict, Path, Path]:
    folder = tmp_path_factory.mktemp("studio")
    audio, rate = sf.read(fixtures_dir / "two_questions.wav", dtype="int16")
    mic = folder / "mic.wav"
    sf.write(mic, np.concatenate([np.zeros(rate, np.int16), audio[: 4 * rate], np.zeros(3 * rate, np.int16)]), rate)
    agent = folder / "agent.yaml"
    agent.write_text(AGENT + f"recording:\n  path: {folder / 'recordings'}\n")
    (folder / "suite.yaml").write_text((fixtures_dir / "arithmetic_suite.yaml").read_text())
    report = run_report(HERE / "studio_session.py", str(agent), str(mic), str(folder / "shots"), browser=True,
                        timeout=400)  # fmt: skip
    report["recordings_on_disk"] = sorted(p.name for p in (folder / "recordings").iterdir())
    return report, agent, folder / "shots"


def test_the_page_works_offline_without_errors(studio):
    report, _, shots = studio
    assert report["errors"] == [] and report["other_requests"] == [], report
    assert {p.name for p in shots.iterdir()} >= {"build.png", "build_error.png", "review.png", "flow.png",
                                                 "talk.png", "history.png", "phone.png", "evaluate.png",
                                                 "report.png", "inspect.png", "phone_inspect.png"}  # fmt: skip
    assert report["phone_overflow"] <= 0 and report["phone_inspect_overflow"] <= 0  # nothing wider than a phone
    assert report["keyboard_tab"] == "tab-inspect"  # ← from History


def test_build_shows_errors_at_the_field_and_saves_exactly_the_change(studio):
    report = studio[0]
    assert report["field_error"] == "Input should be greater than 0"
    lines = [line for line in report["diff"].splitlines() if line]
    changed = [line for line in lines if line[:1] in "+-" and line[:3] not in ("+++", "---")]
    assert sorted(changed) == sorted([
        "-name: Helper            # shown on the talk page",
        "+name: Studio Test       # shown on the talk page",
        "-system_prompt: You are a helpful voice assistant.",
        "+system_prompt: You help with sums. Answer in one short sentence.",
        "-  silence_ms: 600       # a pause this long ends a turn",
        "+  silence_ms: 800       # a pause this long ends a turn",
        "+tts:",
        "+  noise_scale: 0.3",
    ]), report["diff"]  # fmt: skip
    text = report["file_after_build"]
    assert text.startswith("# The Studio test agent: comments and layout must survive the Studio's saves.\n")
    assert "# a busy test machine must not turn the conversation away\n" in text
    assert "server: {admit_max_cpu: 1024" in text  # flow style kept
    assert report["saved_notice"] == "Saved. The next conversation uses it."


def test_the_flow_is_drawn_and_edited_on_the_graph(studio):
    import yaml

    report, agent, _ = studio
    assert report["edges"] == [["start", "step_2", "choice"]]
    assert report["flow_errors_in_review"] == ""
    flow = yaml.safe_load(report["file_after_flow"])["flow"]["nodes"]
    assert flow["step_2"] == {"instructions": "Say goodbye in one sentence.", "end": True}
    assert list(flow["start"]["choices"]) == ["step_2"]
    assert yaml.safe_load(agent.read_text())["flow"] == yaml.safe_load(report["file_after_flow"])["flow"]


def test_talking_in_the_studio_uses_the_saved_agent(studio):
    report = studio[0]
    assert report["brain"].startswith("Studio Test:"), report["brain"]  # the saved name, no restart
    assert report["waterfall_rows"] >= 1 and report["transcript"].strip(), report["transcript"]
    assert report["versions"] >= 2


def test_an_evaluation_runs_from_the_studio_and_its_report_opens(studio):
    report = studio[0]
    assert report["eval_state"] == "done", report["eval_text"]
    assert "default" in report["eval_text"] and "1/1" in report["eval_text"], report["eval_text"]
    assert report["report_rows"] == 1
    assert report["winner_notice"] == "The settings of “default” are in the form: review and save them."


def test_a_recorded_conversation_is_inspected_and_deleted(studio):
    report = studio[0]
    assert report["recorded_notice"]  # the talk page told the caller
    assert report["recordings_listed"] == 1
    users, agents = report["inspect_lines"]
    assert users >= 1 and agents >= 1, report["inspect_transcript"]
    assert report["inspect_waterfall_rows"] >= 1
    timeline = report["timeline"]
    assert timeline["you"] >= 1 and timeline["agent"] >= 1 and timeline["wave"] == 2, timeline
    assert "turn_ended" in timeline["marks"] and timeline["duration"] > 3, timeline
    minutes, seconds = report["seek_target"].split(":")
    assert report["seeked_to"] >= int(minutes) * 60 + float(seconds) - 0.35  # played from that line
    assert report["recordings_after_delete"] == 0 and report["recordings_on_disk"] == []
