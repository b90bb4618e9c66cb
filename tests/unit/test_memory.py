"""Per-user memory: SQLite facts, tools for the model, instructions per user, deletion, the CLI."""

from __future__ import annotations

import os
import stat

import pytest

from tests.fakes import Step, make_rig, offline_config, tone
from vagus.brain.memory import MemoryError, MemoryStore, check_user
from vagus.cli import main


def test_facts_are_kept_per_user_updated_listed_and_deleted(tmp_path):
    path = tmp_path / "mem" / "memory.sqlite3"
    store = MemoryStore(path, max_facts=2)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600  # biometrics-grade care for personal facts
    store.remember("anna", "Name", "Anna  Berg")
    store.remember("anna", "favourite music", "jazz")
    store.remember("anna", "favourite music", "blues")  # an update, not a third fact
    store.remember("bob", "name", "Bob")
    assert store.facts("anna") == {"name": "Anna Berg", "favourite music": "blues"}
    assert [(u, n) for u, n, _ in store.users()] == [("anna", 2), ("bob", 1)]
    with pytest.raises(MemoryError, match="2 facts already"):
        store.remember("anna", "city", "Oslo")
    with pytest.raises(MemoryError, match="short lowercase name"):
        store.remember("anna", "what? no!", "x")
    with pytest.raises(MemoryError, match="1 to 300 characters"):
        store.remember("anna", "essay", "x" * 301)
    with pytest.raises(MemoryError, match="printable"):
        check_user("bad\nuser")
    assert store.forget("anna", "favourite music") == 1
    assert store.forget("anna") == 1
    assert store.facts("anna") == {} and [u for u, _, _ in store.users()] == ["bob"]
    store.close()
    assert b"Anna Berg" not in path.read_bytes()  # deleted is gone from the file, not just hidden


async def test_the_model_remembers_a_user_and_the_next_session_knows_them(tmp_path):
    path = str(tmp_path / "memory.sqlite3")
    config = offline_config(memory={"path": path})
    rig = make_rig(
        config=config,
        turns=[Step("I'm Anna and I love jazz.")],
        answers=[Step("", calls=[("remember", '{"key": "name", "value": "Anna"}')]), Step("Nice to meet you.")],
        sessions=4,
    )
    first = rig.host.open(16000, user="u-1")
    rig.hosted = first
    assert [t["function"]["name"] for t in first.session.answers._tool_specs() or []] == ["remember", "forget"]
    await rig.play(tone(0.6), tail_s=3.0)
    assert rig.host.memory.facts("u-1") == {"name": "Anna"}
    # the instructions now say it, in this session and the next one of the same user
    assert "name: Anna" in first.session.conversation.messages()[0]["content"]
    again = rig.host.open(16000, user="u-1")
    assert "What you remember about this user" in again.session.conversation.messages()[0]["content"]
    stranger = rig.host.open(16000, user="u-2")
    assert "remember" not in stranger.session.conversation.messages()[0]["content"]
    await rig.host.close()


def test_without_a_memory_path_nothing_is_remembered():
    rig = make_rig(config=offline_config(), sessions=2)
    hosted = rig.host.open(16000, user="u-1")
    assert rig.host.memory is None and hosted.session.answers.toolbox is None


def test_the_memory_command_lists_and_forgets(tmp_path, capsys):
    path = tmp_path / "memory.sqlite3"
    config = tmp_path / "agent.yaml"
    config.write_text(f"memory: {{path: {path}}}\n")
    assert main(["memory", "list", "--config", str(config)]) == 2  # no file yet: said plainly
    assert "nothing has been remembered" in capsys.readouterr().err
    store = MemoryStore(path)
    store.remember("anna", "name", "Anna")
    store.remember("anna", "city", "Oslo")
    store.close()
    assert main(["memory", "list", "--config", str(config)]) == 0
    assert "anna\t2 facts" in capsys.readouterr().out
    assert main(["memory", "list", "anna", "--config", str(config)]) == 0
    assert capsys.readouterr().out.splitlines() == ["name: Anna", "city: Oslo"]
    assert main(["memory", "forget", "anna", "city", "--config", str(config)]) == 0
    assert "deleted 1 fact of anna" in capsys.readouterr().out
    assert main(["memory", "forget", "--config", str(config)]) == 2
    assert main(["memory", "forget", "anna", "--config", str(config)]) == 0
    assert main(["memory", "list", "--config", str(config), "--json"]) == 0
    assert '"users": []' in capsys.readouterr().out
