"""Per-user memory: a few facts (a name, a preference) kept between conversations, in a local SQLite
file. Off unless `memory.path` is set: nothing about a user persists otherwise.

The model sees what it remembers about the user in its instructions and keeps it up to date with
two tools, `remember(key, value)` and `forget(key)`. Facts are listed and deleted per user with
`vagus memory list|forget` (or this class). Who the user is comes from the session token's identity
(`sub`), or from `options.user` / `--user` where the server needs no token (a local one).
"""

from __future__ import annotations

import asyncio
import os
import re
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from vagus.brain.tools import Tool, make_tool

USER_ID = re.compile(r"^[A-Za-z0-9_.@+-]{1,128}$")
KEY = re.compile(r"^[a-z][a-z0-9_ ]{0,39}$")
MAX_VALUE_CHARS = 300
SCHEMA = """
CREATE TABLE IF NOT EXISTS facts (
    user TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    updated REAL NOT NULL,
    PRIMARY KEY (user, key)
)
"""


class MemoryError(ValueError):
    """A user id, key or value that cannot be stored; the message says why."""


def check_user(user: str) -> str:
    """A token's identity is any text up to 200 characters (ids a page may claim are narrower: USER_ID)."""
    if not isinstance(user, str) or not 0 < len(user) <= 200 or any(ord(c) < 32 for c in user):
        raise MemoryError("a user id is 1 to 200 printable characters")
    return user


class MemoryStore:
    """Facts per user in one SQLite file (created with owner-only permissions)."""

    def __init__(self, path: str | os.PathLike[str], max_facts: int = 50) -> None:
        self.path = Path(path).expanduser()
        self.max_facts = max_facts
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if not self.path.exists():
            self.path.touch(mode=0o600)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def facts(self, user: str) -> dict[str, str]:
        check_user(user)
        with self._lock:
            rows = self._db.execute("SELECT key, value FROM facts WHERE user = ? ORDER BY updated", (user,)).fetchall()
        return dict(rows)

    def remember(self, user: str, key: str, value: str) -> None:
        check_user(user)
        key = " ".join(key.lower().split())
        if not KEY.match(key):
            raise MemoryError("a key is a short lowercase name (letters, digits, spaces, _), e.g. 'name'")
        value = " ".join(str(value).split())
        if not value or len(value) > MAX_VALUE_CHARS:
            raise MemoryError(f"a value is 1 to {MAX_VALUE_CHARS} characters")
        with self._lock:
            known = self._db.execute("SELECT COUNT(*) FROM facts WHERE user = ? AND key != ?", (user, key)).fetchone()
            if known[0] >= self.max_facts:
                raise MemoryError(f"this user has {self.max_facts} facts already: forget one first")
            self._db.execute(
                "INSERT INTO facts (user, key, value, updated) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (user, key) DO UPDATE SET value = excluded.value, updated = excluded.updated",
                (user, key, value, time.time()),
            )

    def forget(self, user: str, key: str | None = None) -> int:
        """Delete one fact, or every fact of the user (key None); how many were deleted."""
        check_user(user)
        with self._lock:
            if key is None:
                cursor = self._db.execute("DELETE FROM facts WHERE user = ?", (user,))
            else:
                cursor = self._db.execute("DELETE FROM facts WHERE user = ? AND key = ?", (user, key.lower().strip()))
            deleted = cursor.rowcount
            if key is None:
                self._db.execute("VACUUM")  # deleted means gone from the file too
        return deleted

    def users(self) -> list[tuple[str, int, float]]:
        """(user, facts, last updated) for everyone with something remembered."""
        with self._lock:
            rows = self._db.execute(
                "SELECT user, COUNT(*), MAX(updated) FROM facts GROUP BY user ORDER BY user"
            ).fetchall()
        return [(str(u), int(n), float(t)) for u, n, t in rows]


def describe(facts: dict[str, str]) -> str:
    """The facts as a line of the instructions."""
    if not facts:
        return ""
    known = "; ".join(f"{k}: {v}" for k, v in facts.items())
    return f"What you remember about this user from earlier conversations: {known}."


def memory_tools(store: MemoryStore, user: str, on_change: Callable[[], None] | None = None) -> list[Tool]:
    """`remember` and `forget` for one user's session."""

    async def remember(key: str, value: str) -> str:
        """Remember a lasting fact about the user for future conversations (their name, a preference).
        Only what they said about themselves and want remembered.

        Args:
            key: a short name for the fact, e.g. "name" or "favourite music"
            value: the fact, e.g. "Anna" or "jazz"
        """
        try:
            await asyncio.to_thread(store.remember, user, key, value)
        except MemoryError as exc:
            return f"error: {exc}"
        if on_change is not None:
            on_change()
        return f"remembered {key}"

    async def forget(key: str) -> str:
        """Forget a fact about the user when they ask you to.

        Args:
            key: the fact's name, or "everything"
        """
        deleted = await asyncio.to_thread(store.forget, user, None if key.strip().lower() == "everything" else key)
        if on_change is not None:
            on_change()
        return f"forgot {deleted} fact{'s' if deleted != 1 else ''}"

    return [make_tool(remember, side_effects=True), make_tool(forget, side_effects=True)]


def open_store(path: str | os.PathLike[str] | None, max_facts: int = 50) -> MemoryStore | None:
    return MemoryStore(path, max_facts) if path else None


def as_json(store: MemoryStore, user: str | None = None) -> dict[str, Any]:
    if user is not None:
        return {"user": user, "facts": store.facts(user)}
    return {"users": [{"user": u, "facts": n, "updated": t} for u, n, t in store.users()]}
