"""The public API and the examples type-check under mypy --strict (what users' editors see)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_public_api_and_the_examples_are_typed():
    files = [
        "src/vagus/__init__.py",
        "src/vagus/api.py",
        "src/vagus/brain/tools.py",
        "src/vagus/brain/flow.py",
        "src/vagus/brain/memory.py",
        "src/vagus/brain/skills.py",
        "examples",
    ]
    proc = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--follow-imports=silent", "--ignore-missing-imports", *files],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-3000:]
