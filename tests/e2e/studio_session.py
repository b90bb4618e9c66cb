"""The Studio as a builder uses it, inside a loopback-only network namespace: `vagus studio FILE` started
as a user starts it, Debian's headless Chromium (Playwright) with a WAV file as the microphone.

Build: change the instructions and a provider setting, see the error at a field for a bad value, fix
it, review the diff, save. Flow: start a flow, add a step, connect the two by clicking them on the
graph, mark the end, save. Talk: the talk page inside the Studio, a conversation with the saved agent
(its new name on the page: no restart). History: the earlier versions listed. A screenshot of each
screen (and the Build screen at phone size) goes to OUT. Prints `REPORT {json}`.

    unshare -n bash -c 'ip link set lo up && exec python tests/e2e/studio_session.py AGENT.yaml MIC.wav OUT'
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path

from chromium import CHROMIUM, free_port, watched_page, with_microphone


async def wait_for_port(port: int, proc: asyncio.subprocess.Process, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.returncode is not None:
            raise RuntimeError(f"vagus studio exited with {proc.returncode}")
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        except OSError:
            await asyncio.sleep(0.3)
    raise TimeoutError("vagus studio did not start listening")


async def main(agent: str, mic_wav: str, out: str) -> dict:
    from playwright.async_api import async_playwright

    shots = Path(out)
    shots.mkdir(parents=True, exist_ok=True)
    port = free_port()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "vagus", "--log-level", "warning", "studio", agent, "--port", str(port),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    report: dict = {}
    try:
        await wait_for_port(port, proc)
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=with_microphone(mic_wav))
            report = await builder(browser, port, shots, Path(agent))
            await browser.close()
    finally:
        proc.terminate()
        _, err = await asyncio.wait_for(proc.communicate(), 60)
        report["server_stderr"] = err.decode(errors="replace")[-1500:]
    return report


async def builder(browser, port: int, shots: Path, agent: Path) -> dict:  # type: ignore[no-untyped-def]
    report: dict = {}
    page, errors, requests = await watched_page(browser)
    await page.goto(f"http://127.0.0.1:{port}/studio")
    await page.wait_for_selector('[data-path="system_prompt"] textarea')
    await page.screenshot(path=str(shots / "build.png"))

    # Build: instructions, a provider setting, a bad value then a good one, the diff, save.
    await page.fill('[data-path="name"] input', "Studio Test")
    await page.fill('[data-path="system_prompt"] textarea', "You help with sums. Answer in one short sentence.")
    await page.press('[data-path="system_prompt"] textarea', "Tab")
    await page.click("#section-tts summary")
    await page.fill('[data-path="tts.noise_scale"] input', "0.3")
    await page.press('[data-path="tts.noise_scale"] input', "Tab")
    await page.click("#section-turns summary")
    await page.fill('[data-path="turns.silence_ms"] input', "-5")
    await page.press('[data-path="turns.silence_ms"] input', "Tab")
    await page.wait_for_selector('[data-path="turns.silence_ms"] .error')
    report["field_error"] = await page.inner_text('[data-path="turns.silence_ms"] .error')
    await page.locator('[data-path="turns.silence_ms"]').scroll_into_view_if_needed()
    await page.screenshot(path=str(shots / "build_error.png"))
    await page.fill('[data-path="turns.silence_ms"] input', "800")
    await page.press('[data-path="turns.silence_ms"] input', "Tab")
    await page.wait_for_selector('[data-path="turns.silence_ms"] .error', state="detached")
    await page.click("#review")
    await page.wait_for_selector("#review-dialog[open]")
    report["diff"] = await page.inner_text("#diff")
    await page.screenshot(path=str(shots / "review.png"))
    await page.click("#save")
    await page.wait_for_function("document.getElementById('notice').textContent.startsWith('Saved')", timeout=120000)
    report["saved_notice"] = await page.inner_text("#notice")
    report["file_after_build"] = agent.read_text()

    # Flow: start one, add a step, connect them on the graph, end it, save.
    await page.click("#tab-flow")
    await page.click("#flow-create")
    await page.click("#flow-add")
    await page.fill("#node-instructions", "Say goodbye in one sentence.")
    await page.press("#node-instructions", "Tab")
    await page.check("#node-end")
    await page.click("#flow-connect")
    for name in ("start", "step_2"):
        box = await page.locator("#graph").bounding_box()
        spot = await page.evaluate(f"state.cy.getElementById('{name}').renderedPosition()")
        await page.mouse.click(box["x"] + spot["x"], box["y"] + spot["y"])
    await page.wait_for_function("state.cy.edges().length === 1")
    report["edges"] = await page.evaluate(
        "state.cy.edges().map(e => [e.source().id(), e.target().id(), e.data('kind')])"
    )
    await page.screenshot(path=str(shots / "flow.png"))
    # ... and turn recording on for the conversations that follow (Inspect)
    await page.click("#tab-build")
    await page.click("#section-recording summary")
    await page.check('[data-path="recording.enabled"] input')
    await page.click("#review")
    await page.wait_for_selector("#review-dialog[open]")
    report["flow_errors_in_review"] = await page.inner_text("#review-errors")
    await page.click("#save")
    await page.wait_for_function("document.getElementById('notice').textContent.startsWith('Saved')", timeout=120000)
    report["file_after_flow"] = agent.read_text()

    # Talk: the agent's page inside the Studio, with the saved config.
    await page.click("#tab-talk")
    frame = page.frame_locator("#talk-frame")
    await frame.locator("#connect").click()
    deadline = time.monotonic() + 90
    talk = page.frames[-1]
    while time.monotonic() < deadline:
        await asyncio.sleep(0.5)
        rows = await frame.locator("#latency tbody tr").count()
        agent_lines = await frame.locator("#transcript li.agent").count()
        if rows and agent_lines:
            break
    report["transcript"] = await frame.locator("#transcript").inner_text()
    report["waterfall_rows"] = await frame.locator("#latency tbody tr").count()
    report["brain"] = await frame.locator("#brain").inner_text()
    report["talk_state"] = await talk.evaluate("window.vagus && window.vagus.state")
    report["recorded_notice"] = await frame.locator("#recorded").is_visible()
    await page.screenshot(path=str(shots / "talk.png"))
    await frame.locator("#connect").click()  # hang up: the recording is finished

    # Inspect: the conversation just had, with its audio, timeline and waterfall; then delete it.
    await page.click("#tab-inspect")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not await page.locator(".rec-open:not(:has(.live))").count():
        await asyncio.sleep(0.5)
        await page.click("#rec-refresh")
    report["recordings_listed"] = await page.locator(".rec-open").count()
    await page.click(".rec-open")
    await page.wait_for_function("studioInspect.peaks !== null && document.getElementById('rec-audio').duration > 0",
                                 timeout=30000)  # fmt: skip
    report["inspect_transcript"] = await page.inner_text("#rec-transcript")
    report["inspect_lines"] = [await page.locator(f"#rec-transcript li.{k}").count() for k in ("user", "agent")]
    report["inspect_waterfall_rows"] = await page.locator("#rec-latency tbody tr").count()
    report["timeline"] = await page.evaluate("""() => ({
        you: document.querySelectorAll('#timeline rect[data-lane=you]').length,
        agent: document.querySelectorAll('#timeline rect[data-lane=agent]').length,
        marks: [...document.querySelectorAll('#timeline circle')].map(c => c.dataset.type),
        wave: document.querySelectorAll('#timeline path.wave').length,
        duration: document.getElementById('rec-audio').duration })""")
    await page.screenshot(path=str(shots / "inspect.png"), full_page=True)
    agent_line = page.locator("#rec-transcript li.agent .at").first
    report["seek_target"] = await agent_line.inner_text()
    await agent_line.click()
    await page.wait_for_timeout(300)
    report["seeked_to"] = await page.evaluate("document.getElementById('rec-audio').currentTime")
    small = await browser.new_page(viewport={"width": 390, "height": 844})
    await small.goto(f"http://127.0.0.1:{port}/studio#inspect")
    await small.click(".rec-open")
    await small.wait_for_function("studioInspect.peaks !== null")
    report["phone_inspect_overflow"] = await small.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    await small.screenshot(path=str(shots / "phone_inspect.png"), full_page=True)
    await small.close()
    page.once("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))
    await page.click("#rec-delete")
    await page.wait_for_function("document.getElementById('notice').textContent === 'Recording deleted.'")
    await page.click("#rec-refresh")  # the list as the server has it now
    await page.wait_for_function("!document.querySelector('.rec-open') && !!document.querySelector('#recordings li')")
    report["recordings_after_delete"] = await page.locator(".rec-open").count()

    # Evaluate: a small suite on the saved agent, its report, the winner into the form.
    await page.click("#tab-evaluate")
    await page.fill("#eval-suite", "suite.yaml")
    await page.click("#eval-run")
    await page.wait_for_selector('#eval-runs li[data-state="done"], #eval-runs li[data-state="failed"]', timeout=300000)
    report["eval_state"] = await page.get_attribute("#eval-runs li", "data-state")
    report["eval_text"] = await page.inner_text("#eval-runs li")
    await page.screenshot(path=str(shots / "evaluate.png"))
    async with page.context.expect_page() as opened:
        await page.click("#eval-runs a.report")
    shown = await opened.value
    await shown.wait_for_load_state()
    report["report_rows"] = await shown.evaluate("document.querySelectorAll('#summary tbody tr').length")
    await shown.screenshot(path=str(shots / "report.png"))
    await shown.close()
    await page.click("#eval-runs button.winner")
    await page.wait_for_function("document.getElementById('notice').textContent.includes('review and save')")
    report["winner_notice"] = await page.inner_text("#notice")

    # History: both saves kept the versions they replaced.
    await page.click("#tab-history")
    await page.wait_for_function("document.querySelectorAll('#versions li').length >= 2")
    report["versions"] = await page.locator("#versions li").count()
    await page.screenshot(path=str(shots / "history.png"))

    # Keyboard: the tabs move with the arrow keys.
    await page.focus("#tab-history")
    await page.keyboard.press("ArrowLeft")
    report["keyboard_tab"] = await page.evaluate("document.activeElement.id")

    # A phone-sized screen.
    phone = await browser.new_page(viewport={"width": 390, "height": 844})
    await phone.goto(f"http://127.0.0.1:{port}/studio")
    await phone.wait_for_selector('[data-path="system_prompt"] textarea')
    report["phone_overflow"] = await phone.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    await phone.screenshot(path=str(shots / "phone.png"))
    report["errors"] = errors
    here = (f"http://127.0.0.1:{port}/", f"blob:http://127.0.0.1:{port}/")  # blob: the recording fetched
    report["other_requests"] = [u for u in requests if not u.startswith(here)]
    return report


if __name__ == "__main__":
    print("REPORT " + json.dumps(asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3]))), flush=True)
