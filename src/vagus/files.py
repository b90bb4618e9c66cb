"""Writing files whole or not at all: a reader (the Studio following an evaluation, a listing of
recordings) or a crash mid-write never meets half a file."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_atomically(path: str | Path, text: str, mode: int | None = None) -> None:
    """`text` into `path` through a temporary file beside it and a rename. `mode`: the new file's
    permissions (default: an existing file's, else 0644 less the umask)."""
    path = Path(path)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        if mode is None:
            if path.exists():
                mode = path.stat().st_mode & 0o777
            else:
                umask = os.umask(0)
                os.umask(umask)
                mode = 0o644 & ~umask
        os.chmod(temp, mode)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
