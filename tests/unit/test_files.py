"""Files written whole or not at all (evaluation results the Studio reads while they are written,
recordings' summaries, the agent's YAML)."""

from __future__ import annotations

import os
import stat

import pytest

from vagus.files import write_atomically


def test_a_new_file_an_existing_files_mode_and_an_owner_only_one(tmp_path):
    path = tmp_path / "a.json"
    write_atomically(path, "{}")
    umask = os.umask(0)
    os.umask(umask)
    assert path.read_text() == "{}" and stat.S_IMODE(path.stat().st_mode) == 0o644 & ~umask
    path.chmod(0o640)
    write_atomically(path, '{"b": 1}')
    assert path.read_text() == '{"b": 1}' and stat.S_IMODE(path.stat().st_mode) == 0o640
    write_atomically(tmp_path / "secret.json", "x", 0o600)
    assert stat.S_IMODE((tmp_path / "secret.json").stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json", "secret.json"]  # no temporary left


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "a.json"
    path.write_text("old")

    with pytest.raises(TypeError):
        write_atomically(path, 42)  # type: ignore[arg-type]
    assert path.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["a.json"]
