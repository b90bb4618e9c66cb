"""What the end-to-end scripts share about the servers they start (imported from the scripts' folder)."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
VAGUS = [sys.executable, "-m", "vagus", "--log-level", "warning"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def reap(process: subprocess.Popen[str], report: dict, tail_chars: int = 2000) -> None:
    """Kill `process` if it is still running (a script that failed half-way), and keep its stderr's tail."""
    if process.poll() is None:
        process.kill()
        process.wait()
    report["stderr_tail"] = (process.stderr.read() if process.stderr else "")[-tail_chars:]
