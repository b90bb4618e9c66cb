"""Running an end-to-end script inside a loopback-only network namespace (`unshare -n`), so that no
ICE check can leave the machine, and reading the `REPORT {json}` line it prints."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REQUIRED = os.environ.get("CI") == "true" or os.environ.get("VAGUS_REQUIRE_BROWSER") == "1"


def missing(browser: bool = False) -> str | None:
    if browser and not Path("/usr/bin/chromium").exists():
        return "Debian chromium is not installed (scripts/setup.sh --test installs it)"
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        return "unshare/ip are needed for the loopback-only network namespace"
    if os.geteuid() != 0:
        return "creating a network namespace needs root"
    return None


def run_report(script: Path, *args: str, browser: bool = False, timeout: float = 400) -> dict:
    """Run `python script args…` in a fresh namespace with only `lo` up; its last REPORT line."""
    reason = missing(browser)
    if reason:
        if REQUIRED:
            pytest.fail(reason)
        pytest.skip(reason)
    quoted = " ".join(f"'{a}'" for a in args)
    command = f"ip link set lo up && exec {sys.executable} {script} {quoted}"
    proc = subprocess.run(["unshare", "-n", "bash", "-c", command], capture_output=True, text=True, timeout=timeout)
    reports = [line for line in proc.stdout.splitlines() if line.startswith("REPORT ")]
    assert proc.returncode == 0 and reports, proc.stderr[-3000:]
    return json.loads(reports[-1][len("REPORT ") :])
