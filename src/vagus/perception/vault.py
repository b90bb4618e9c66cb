"""Voiceprints at rest: encrypted, consented, listable, deletable, and kept only so long.

A voiceprint is biometric data. Each is one file in the vault folder, named by a keyed hash of the
person's name (the folder does not list who is enrolled), holding an AES-256-GCM encrypted record
(the `cryptography` library): name, voiceprint, model, consent, creation time. The key comes from
the config (`perception.vault.key_file`, or the `VAGUS_VOICEPRINT_KEY` environment variable: 32 bytes,
base64) and is never logged. Nothing is stored without `consent=True`; records older than the
retention limit are deleted when the vault is opened or listed; `delete` removes the file.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vagus.config import AgentConfig

KEY_ENV = "VAGUS_VOICEPRINT_KEY"
SUFFIX = ".voiceprint"
NAME_CHARS = 64


class VaultError(ValueError):
    """The vault cannot do this (no key, a wrong key, no consent, a bad name); the message says why."""


def new_key() -> str:
    """A fresh key, base64 (keep it in a file readable only by the server's user)."""
    return base64.b64encode(os.urandom(32)).decode()


def read_key(key_file: str | Path | None = None, env: dict[str, str] | None = None) -> bytes:
    """The vault key from a file (first line) or the environment; a clear error without one."""
    env = os.environ if env is None else env
    if key_file is not None:
        path = Path(key_file).expanduser()
        if not path.is_file():
            raise VaultError(f"voiceprint key file not found: {path}")
        text = path.read_text().strip()
    elif env.get(KEY_ENV):
        text = env[KEY_ENV].strip()
    else:
        raise VaultError(
            f"no voiceprint key: set perception.vault.key_file or {KEY_ENV} "
            "(32 random bytes in base64, e.g. from `vagus voiceprints new-key`)"
        )
    try:
        key = base64.b64decode(text, validate=True)
    except ValueError:
        raise VaultError("the voiceprint key is not base64") from None
    if len(key) != 32:
        raise VaultError(f"the voiceprint key must be 32 bytes (this one is {len(key)})")
    return key


@dataclass(frozen=True, slots=True)
class Voiceprint:
    name: str
    embedding: np.ndarray
    model: str
    created: float


class VoiceprintVault:
    def __init__(self, folder: str | Path, key: bytes, retention_days: float = 365.0) -> None:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        self.folder = Path(folder).expanduser()
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._aead = AESGCM(key)
        self._name_key = hashlib.sha256(b"vagus voiceprint names" + key).digest()
        self.retention_s = retention_days * 86400
        self.expire()

    def _file(self, name: str) -> Path:
        digest = hmac.new(self._name_key, name.encode(), hashlib.sha256).hexdigest()[:32]
        return self.folder / f"{digest}{SUFFIX}"

    @staticmethod
    def check_name(name: str) -> str:
        name = " ".join(str(name).split())
        if not name or len(name) > NAME_CHARS or any(ord(c) < 32 for c in name):
            raise VaultError(f"a voiceprint's name is 1 to {NAME_CHARS} printable characters")
        return name

    def enroll(self, name: str, embedding: np.ndarray, model: str, consent: bool) -> Voiceprint:
        """Store (or replace) `name`'s voiceprint; refused without the person's consent."""
        if consent is not True:
            raise VaultError("a voiceprint is biometric data: it is stored only with the person's consent")
        name = self.check_name(name)
        vector = np.asarray(embedding, dtype=np.float32).reshape(-1)
        record = {
            "name": name,
            "model": model,
            "created": time.time(),
            "consent": True,
            "embedding": base64.b64encode(vector.tobytes()).decode(),
        }
        nonce = os.urandom(12)
        sealed = nonce + self._aead.encrypt(nonce, json.dumps(record).encode(), SUFFIX.encode())
        path = self._file(name)
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(sealed)
        tmp.replace(path)
        return Voiceprint(name, vector, model, record["created"])  # type: ignore[arg-type]

    def _open(self, path: Path) -> Voiceprint:
        from cryptography.exceptions import InvalidTag

        sealed = path.read_bytes()
        try:
            data = json.loads(self._aead.decrypt(sealed[:12], sealed[12:], SUFFIX.encode()))
        except InvalidTag:
            why = "the voiceprint key does not open it (a wrong key, or a damaged file)"
            raise VaultError(f"{path.name}: {why}") from None
        embedding = np.frombuffer(base64.b64decode(data["embedding"]), dtype=np.float32).copy()
        return Voiceprint(data["name"], embedding, data["model"], float(data["created"]))

    def get(self, name: str) -> Voiceprint | None:
        path = self._file(self.check_name(name))
        return self._open(path) if path.is_file() else None

    def all(self) -> list[Voiceprint]:
        """Every voiceprint still within its retention, by name."""
        prints = [self._open(p) for p in sorted(self.folder.glob(f"*{SUFFIX}"))]
        now = time.time()
        return sorted((p for p in prints if now - p.created <= self.retention_s), key=lambda p: p.name)

    def delete(self, name: str) -> bool:
        path = self._file(self.check_name(name))
        if not path.is_file():
            return False
        path.unlink()
        return True

    def expire(self) -> int:
        """Delete voiceprints older than the retention limit; how many went."""
        gone = 0
        now = time.time()
        for path in self.folder.glob(f"*{SUFFIX}"):
            try:
                created = self._open(path).created
            except VaultError:
                continue  # another key's file: not ours to judge
            if now - created > self.retention_s:
                path.unlink()
                gone += 1
        return gone


def open_vault(config: AgentConfig) -> VoiceprintVault | None:
    """The config's vault, or None when `perception.vault.path` is not set."""
    vc = config.perception.vault
    if not vc.path:
        return None
    return VoiceprintVault(vc.path, read_key(vc.key_file), vc.retention_days)
