"""Open an eval report (`report.html`) in headless Debian Chromium inside a loopback-only namespace:
console errors, the plots rendered, and a screenshot. Prints `REPORT {json}`.

    unshare -n bash -c 'ip link set lo up && exec python tests/e2e/eval_report_session.py REPORT.html SHOT.png'
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from chromium import CHROMIUM, QUIET, watched_page


async def main(page_path: str, shot: str) -> dict:
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=QUIET)
        page, errors, requests = await watched_page(browser)
        await page.goto(Path(page_path).resolve().as_uri())
        sizes = await page.evaluate(
            "[...document.querySelectorAll('figure svg')].map(s => { const b = s.getBoundingClientRect(); "
            "return [b.width, b.height, s.querySelectorAll('path').length]; })"
        )
        report = {
            "errors": errors,
            "figures": sizes,
            "other_requests": [u for u in requests if not u.startswith("file:")],
            "summary_rows": await page.evaluate("document.querySelectorAll('#summary tbody tr').length"),
            "grid": await page.inner_text("#grid"),
        }
        await page.screenshot(path=shot, full_page=True)
        await browser.close()
    return report


if __name__ == "__main__":
    print("REPORT " + json.dumps(asyncio.run(main(sys.argv[1], sys.argv[2]))), flush=True)
