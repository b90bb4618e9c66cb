"""The Studio's file handling: comments and layout survive a save, the diff is exactly the change,
errors are reported at their fields and nothing is written, a file changed under the editor is not
overwritten, and every save keeps the version it replaced."""

from __future__ import annotations

import pytest

from vagus.config import ConfigError, load_config
from vagus.studio.document import ConfigDocument, Conflict, digest, validate

AGENT = """\
# Luigi's booking agent
name: Luigi's   # shown on the talk page
system_prompt: You take table bookings. Speak briefly.
turns:
  silence_ms: 600      # how long a pause ends a turn
  barge_in: true
tools:
  builtin: [date, time]   # flow style kept
"""


@pytest.fixture
def document(tmp_path):
    path = tmp_path / "agent.yaml"
    path.write_text(AGENT)
    return ConfigDocument(path)


def test_a_change_touches_only_its_line(document):
    data = document.data()
    data["turns"]["silence_ms"] = 750
    data["tools"]["builtin"] = ["date"]
    diff = document.diff(data)
    changed = [line for line in diff.splitlines() if line[:1] in "+-" and line[:3] not in ("+++", "---")]
    assert changed == [
        "-  silence_ms: 600      # how long a pause ends a turn",
        "+  silence_ms: 750      # how long a pause ends a turn",
        "-  builtin: [date, time]   # flow style kept",
        "+  builtin: [date]         # flow style kept",
    ], diff
    sha, errors = document.save(data, digest(AGENT))
    assert not errors and sha == digest(document.read())
    text = document.read()
    assert text.startswith("# Luigi's booking agent\nname: Luigi's   # shown on the talk page\n")
    assert load_config(document.path).turns.silence_ms == 750  # the server reads what was written


def test_keys_added_and_removed(document):
    data = document.data()
    del data["turns"]["barge_in"]
    data["speech"] = {"max_words": 60}
    document.save(data, None)
    text = document.read()
    assert "barge_in" not in text and "speech:\n  max_words: 60\n" in text
    assert "silence_ms: 600      # how long a pause ends a turn" in text


def test_errors_are_at_their_fields_and_nothing_is_written(document):
    data = document.data()
    data["turns"]["silence_ms"] = -5
    data["llm"] = {"provider": "openai", "temperature": 9}
    sha, errors = document.save(data, None)
    assert sha == "" and document.read() == AGENT
    assert {e.path for e in errors} == {"turns.silence_ms", "llm.temperature"}, errors
    _, errors = validate({"flow": {"nodes": {"a": {"instructions": "x", "next": "nowhere"}}}})
    assert errors and errors[0].path.startswith("flow") and "nowhere" in errors[0].message
    assert validate([1, 2])[1][0].message == "the config must be a mapping at the top level"


def test_a_file_changed_on_disk_is_not_overwritten(document):
    loaded = digest(document.read())
    document.path.write_text(AGENT.replace("600", "650"))
    with pytest.raises(Conflict, match="changed on disk"):
        document.save(document.data() | {"name": "Mario's"}, loaded)
    assert "650" in document.read()


def test_history_keeps_each_replaced_version_and_restores(document):
    data = document.data()
    data["name"] = "Mario's"
    document.save(data, None)
    data["name"] = "Peppe's"
    document.save(data, None)
    versions = [v["version"] for v in document.history()]
    assert len(versions) == 2
    assert document.version(versions[-1]) == AGENT  # the oldest is the first file
    document.restore(versions[-1])
    assert document.read() == AGENT and len(document.history()) == 3  # Peppe's kept too
    with pytest.raises(ConfigError, match="no version"):
        document.version("../../etc/passwd")


def test_bad_files_say_so(tmp_path):
    with pytest.raises(ConfigError, match="YAML"):
        ConfigDocument(tmp_path / "agent.json")
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        ConfigDocument(broken).data()
    listed = tmp_path / "list.yaml"
    listed.write_text("- a\n- b\n")
    with pytest.raises(ConfigError, match="mapping"):
        ConfigDocument(listed).data()
    fresh = ConfigDocument(tmp_path / "new.yaml")
    assert fresh.data() == {} and fresh.history() == []
    fresh.save({"name": "New"}, None)
    assert fresh.read() == "name: New\n" and fresh.history() == []  # nothing to keep yet
