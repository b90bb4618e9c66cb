"""What the end-to-end scripts share about the servers they start (imported from the scripts' folder)."""

from __future__ import annotations

import subprocess


def reap(process: subprocess.Popen[str], report: dict, tail_chars: int = 2000) -> None:
    """Kill `process` if it is still running (a script that failed half-way), and keep its stderr's tail."""
    if process.poll() is None:
        process.kill()
        process.wait()
    report["stderr_tail"] = (process.stderr.read() if process.stderr else "")[-tail_chars:]
