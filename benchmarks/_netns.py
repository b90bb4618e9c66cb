"""Benchmarks that talk over WebRTC run inside a loopback-only network namespace, as the tests do, so
no ICE check can leave the machine: the script runs itself again under `unshare -n` (root)."""

from __future__ import annotations

import os
import shutil
import socket
import sys

MARK = "VAGUS_BENCH_NS"


def inside() -> bool:
    return os.environ.get(MARK) == "1"


def reexec_in_namespace() -> None:
    """Run this script again in a fresh namespace with only `lo` up (never returns)."""
    name = os.path.basename(sys.argv[0])
    if shutil.which("unshare") is None or shutil.which("ip") is None or os.geteuid() != 0:
        sys.exit(f"{name} needs root, unshare and ip: it runs inside a loopback-only network namespace")
    args = " ".join(f"'{a}'" for a in [sys.executable, *sys.argv])
    os.execvp("unshare", ["unshare", "-n", "bash", "-c", f"ip link set lo up && {MARK}=1 exec {args}"])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
