"""The agent's YAML file as the Studio edits it: read with its comments and layout, changed only where
a value changed, checked with the same rules `vagus serve --config` applies, shown as a diff before it
is written, and kept in a history of earlier versions that can be restored.

Edits arrive as the whole config the form holds (plain JSON). They are laid onto the round-trip tree
key by key: a value that did not change keeps its line, its comment and its quoting; a mapping that
changed is updated in place; a removed key goes with its line; a list that changed is replaced. So a
save's diff is exactly the change, and the file stays the builder's own (diffable in git).
"""

from __future__ import annotations

import difflib
import hashlib
import io
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError

from vagus.config import AgentConfig, ConfigError
from vagus.files import write_atomically

HISTORY_DIR = ".vagus-history"
VERSION = re.compile(r"^\d{8}T\d{6}\.\d{9}Z$")
"""A history entry's name: when it was replaced (UTC, nanoseconds so two saves in a second differ)."""
MAX_FILE_BYTES = 1_000_000


@dataclass(frozen=True, slots=True)
class FieldError:
    path: str
    """Dotted, as in the config (`turns.silence_ms`, `flow.nodes.party.next`); empty for the whole file."""
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"path": self.path, "message": self.message}


def _yaml() -> YAML:
    yaml = YAML()  # round-trip: comments, key order, quoting and flow style survive
    yaml.preserve_quotes = True
    yaml.width = 100
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def validate(data: Any) -> tuple[AgentConfig | None, list[FieldError]]:
    """The config these values make, or the errors at their fields (no values echoed: keys live here)."""
    if not isinstance(data, dict):
        return None, [FieldError("", "the config must be a mapping at the top level")]
    try:
        return AgentConfig.model_validate(data), []
    except ValidationError as exc:
        errors = []
        for error in exc.errors(include_input=False, include_url=False):
            path = ".".join(str(p) for p in error["loc"] if not str(p).startswith("function-"))
            message = error["msg"].removeprefix("Value error, ")
            errors.append(FieldError(path, message))
        return None, errors


def plain(node: Any) -> Any:
    """The round-trip tree as plain JSON-able values."""
    if isinstance(node, dict):
        return {str(k): plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [plain(v) for v in node]
    if isinstance(node, str):
        return str(node)
    return node


def _lay(tree: CommentedMap, new: dict[str, Any]) -> None:
    """Make `tree` hold `new`, touching only what differs."""
    for key in [k for k in tree if str(k) not in new]:
        del tree[key]
    for key, value in new.items():
        if key in tree and plain(tree[key]) == value:
            continue
        if isinstance(value, dict) and isinstance(tree.get(key), CommentedMap):
            _lay(tree[key], value)
        elif isinstance(value, dict):
            fresh = CommentedMap()
            _lay(fresh, value)
            tree[key] = fresh
        elif isinstance(value, list):
            old = tree.get(key)
            seq = _seq(value)
            if isinstance(old, CommentedSeq) and old.fa.flow_style():
                seq.fa.set_flow_style()  # [date, time] stays on its line
            tree[key] = seq
        else:
            tree[key] = value


def _seq(values: list[Any]) -> CommentedSeq:
    seq = CommentedSeq()
    for value in values:
        if isinstance(value, dict):
            item = CommentedMap()
            _lay(item, value)
            seq.append(item)
        elif isinstance(value, list):
            seq.append(_seq(value))
        else:
            seq.append(value)
    return seq


class ConfigDocument:
    """One agent config file. `text` is what is on disk (or would be: a new file starts empty)."""

    def __init__(self, path: Path) -> None:
        self.path = path.resolve()
        if self.path.suffix not in (".yaml", ".yml"):
            raise ConfigError(f"the Studio edits YAML configs (.yaml/.yml), not {self.path.name}")

    def read(self) -> str:
        try:
            if self.path.stat().st_size > MAX_FILE_BYTES:
                raise ConfigError(f"{self.path} is larger than {MAX_FILE_BYTES} bytes: not an agent config")
            return self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return ""

    def tree(self, text: str | None = None) -> CommentedMap:
        text = self.read() if text is None else text
        try:
            loaded = _yaml().load(text) if text.strip() else None
        except YAMLError as exc:
            raise ConfigError(f"{self.path.name} is not valid YAML: {exc}") from None
        if loaded is None:
            return CommentedMap()
        if not isinstance(loaded, CommentedMap):
            raise ConfigError(f"{self.path.name} must be a mapping at the top level")
        return loaded

    def data(self, text: str | None = None) -> dict[str, Any]:
        """The values of the file (or of `text`, an earlier version of it) as plain JSON."""
        return plain(self.tree(text))  # type: ignore[no-any-return]

    def render(self, data: dict[str, Any], base_text: str | None = None) -> str:
        """The file's text with `data` laid over it."""
        tree = self.tree(base_text)
        _lay(tree, data)
        if not tree:
            return ""
        out = io.StringIO()
        _yaml().dump(tree, out)
        return out.getvalue()

    def diff(self, data: dict[str, Any]) -> str:
        before = self.read()
        after = self.render(data, before)
        lines = difflib.unified_diff(
            before.splitlines(keepends=True), after.splitlines(keepends=True),
            fromfile=f"{self.path.name} (on disk)", tofile=f"{self.path.name} (edited)",
        )  # fmt: skip
        return "".join(lines)

    def save(self, data: dict[str, Any], base_sha256: str | None) -> tuple[str, list[FieldError]]:
        """Write `data` if it is a valid config and the file is still the one the editor loaded
        (`base_sha256`; None: do not check). The version replaced goes to the history first. Returns the
        new text's digest, or the errors (nothing written)."""
        config, errors = validate(data)
        if config is None:
            return "", errors
        before = self.read()
        if base_sha256 is not None and digest(before) != base_sha256:
            raise Conflict(f"{self.path.name} changed on disk since it was loaded: reload it first")
        after = self.render(data, before)
        if after != before:
            if before:
                self._keep(before)
            self._write(after)
        return digest(after), []

    def history(self) -> list[dict[str, Any]]:
        folder = self._history_dir()
        if not folder.is_dir():
            return []
        versions = sorted(folder.glob("*.yaml"), reverse=True)
        return [{"version": v.stem, "bytes": v.stat().st_size} for v in versions]

    def version(self, version: str) -> str:
        path = self._history_dir() / f"{version}.yaml"
        if not VERSION.match(version) or not path.is_file():
            raise ConfigError(f"no version {version!r} in the history of {self.path.name}")
        return path.read_text(encoding="utf-8")

    def restore(self, version: str) -> str:
        """Put an earlier version back (the current one goes to the history first)."""
        text = self.version(version)
        before = self.read()
        if before and before != text:
            self._keep(before)
        self._write(text)
        return digest(text)

    def _history_dir(self) -> Path:
        return self.path.parent / HISTORY_DIR / self.path.stem

    def _keep(self, text: str) -> None:
        folder = self._history_dir()
        folder.mkdir(parents=True, exist_ok=True)
        stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime()) + f".{time.time_ns() % 1_000_000_000:09d}Z"
        (folder / f"{stamp}.yaml").write_text(text, encoding="utf-8")

    def _write(self, text: str) -> None:
        """Atomically: a crash mid-save leaves the old file, never half a new one."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(self.path, text)


class Conflict(Exception):
    """The file changed on disk under the editor."""
