"""API keys scoped to agent namespaces, kept hashed in a small JSON file.

A key reads ``tw_<id>_<secret>``: the id finds the entry, the secret is compared by its
SHA-256 digest in constant time. Secrets are 256 random bits, so a fast hash is enough (as for
GitHub or Stripe tokens); the file never holds one. A key names the agents it may use, or is an
admin key for all; ``read_only`` keys may not record, observe or forget.

The file (``<store>/keys.json`` by default, mode 0600) is rewritten atomically; a running
server notices changes within a second, so ``toolwise keys revoke`` takes effect without a
restart.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import secrets
import threading
import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from toolwise.errors import InvalidArgumentError, ToolwiseError
from toolwise.models import has_control_characters, utcnow
from toolwise.storage.naming import check_agent_id

__all__ = ["ApiKey", "KeyRing"]

log = logging.getLogger("toolwise.service")

_PREFIX = "tw_"
_RELOAD_EVERY = 1.0  # seconds between checks of the file's modification time


class ApiKey(BaseModel):
    """One key as stored: who it is for, what it may do, and the digest of its secret."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    agents: tuple[str, ...] = ()
    admin: bool = False
    read_only: bool = False
    label: str = ""
    digest: str = Field(repr=False)
    created_at: datetime
    revoked_at: datetime | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def allows(self, agent_id: str) -> bool:
        """Whether this key may see ``agent_id``'s resources."""
        return self.admin or agent_id in self.agents

    def describe(self) -> dict[str, object]:
        """What ``keys list`` shows: everything but the digest."""
        return self.model_dump(mode="json", exclude={"digest"})


class _KeyFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int = 1
    keys: list[ApiKey] = Field(default_factory=list)


def _unreadable(path: Path, exc: Exception) -> str:
    """One line on a key file that cannot be read (pydantic's message spans several)."""
    reason = str(exc).splitlines()
    detail = reason[-2].strip() if len(reason) > 1 else (reason[0] if reason else repr(exc))
    return (
        f"the key file {path} cannot be read ({detail}); every key is refused until it is "
        "fixed or removed"
    )


MAX_LABEL = 200


def _check_label(label: object) -> None:
    """A note of at most 200 characters on one line: ``keys list`` prints one line per key,
    and a newline in a label printed a line that reads as another key."""
    if not isinstance(label, str):
        raise InvalidArgumentError("label", label, "must be text")
    if len(label) > MAX_LABEL:
        raise InvalidArgumentError("label", label, f"must be at most {MAX_LABEL} characters")
    if has_control_characters(label):
        raise InvalidArgumentError("label", label, "must be one line, without control characters")


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class KeyRing:
    """The keys of one server: create, list, revoke, and check a presented key.

    Args:
        path: the JSON file; missing means "no keys configured".

    Thread-safe. Checking a key costs a dictionary lookup and one SHA-256 (≈ 1 µs).
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._keys: dict[str, ApiKey] = {}
        self._problem = ""
        self._mtime: int | None = None
        self._checked = -float("inf")
        self._reload(force=True)

    # -- reading ----------------------------------------------------------------------------

    @property
    def configured(self) -> bool:
        """True once any key was ever created here (revoking every key does not open the
        server: it then refuses everyone)."""
        self._reload()
        return bool(self._keys) or bool(self._problem)

    @property
    def problem(self) -> str:
        """Why the file cannot be read (every key is then refused); ``""`` when it can."""
        self._reload()
        return self._problem

    def keys(self) -> list[ApiKey]:
        self._reload()
        return sorted(self._keys.values(), key=lambda k: k.created_at)

    def authenticate(self, token: str) -> ApiKey | None:
        """The active key ``token`` is, or ``None`` (unknown, malformed or revoked)."""
        self._reload()
        if not token.startswith(_PREFIX):
            return None
        key_id, _, secret = token[len(_PREFIX) :].partition("_")
        key = self._keys.get(key_id)
        if key is None or not secret:
            return None
        if not hmac.compare_digest(key.digest, _digest(secret)):
            return None
        return key if key.active else None

    def _reload(self, *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._checked < _RELOAD_EVERY:
            return
        with self._lock:
            self._checked = now
            try:
                mtime = self.path.stat().st_mtime_ns
            except FileNotFoundError:
                self._keys, self._mtime, self._problem = {}, None, ""
                return
            if mtime == self._mtime and not force:
                return
            self._mtime = mtime
            try:
                loaded = _KeyFile.model_validate_json(self.path.read_bytes())
            except (OSError, ValueError) as exc:  # refuse every key rather than open up
                self._keys, self._problem = {}, _unreadable(self.path, exc)
                log.error("toolwise: %s", self._problem)
                return
            self._keys = {k.id: k for k in loaded.keys}
            self._problem = ""

    # -- changing ---------------------------------------------------------------------------

    def create(
        self,
        agents: Sequence[str] = (),
        *,
        admin: bool = False,
        read_only: bool = False,
        label: str = "",
    ) -> tuple[ApiKey, str]:
        """Make a key; returns it and the secret token, which is shown this once only.

        Raises:
            InvalidArgumentError: naming ``agents`` (none for a non-admin key, or one an
                agent id cannot be), ``admin`` (with agents as well) or ``label`` (over 200
                characters, or with a newline or another control character).
        """
        if admin and agents:
            raise InvalidArgumentError("admin", admin, "an admin key is for every agent")
        if not admin and not agents:
            raise InvalidArgumentError("agents", list(agents), "name an agent, or make admin")
        for agent in agents:
            check_agent_id(agent)
        _check_label(label)
        key_id = secrets.token_hex(6)
        secret = secrets.token_urlsafe(32)
        key = ApiKey(
            id=key_id,
            agents=tuple(dict.fromkeys(agents)),
            admin=admin,
            read_only=read_only,
            label=label,
            digest=_digest(secret),
            created_at=utcnow(),
        )
        with self._lock:
            current = self._read()
            current.keys.append(key)
            self._write(current)
        self._reload(force=True)
        return key, f"{_PREFIX}{key_id}_{secret}"

    def revoke(self, key_id: str) -> ApiKey:
        """Revoke a key by id (kept in the file, marked revoked).

        Raises:
            InvalidArgumentError: naming ``key_id`` when there is no such key.
        """
        with self._lock:
            current = self._read()
            for index, key in enumerate(current.keys):
                if key.id == key_id:
                    revoked = key.model_copy(update={"revoked_at": key.revoked_at or utcnow()})
                    current.keys[index] = revoked
                    self._write(current)
                    break
            else:
                raise InvalidArgumentError("key_id", key_id, "no such key")
        self._reload(force=True)
        return revoked

    def _read(self) -> _KeyFile:
        try:
            return _KeyFile.model_validate_json(self.path.read_bytes())
        except FileNotFoundError:
            return _KeyFile()
        except (OSError, ValueError) as exc:  # never rewritten over: its keys would be lost
            raise ToolwiseError(_unreadable(self.path, exc)) from None

    def _write(self, content: _KeyFile) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        data = json.dumps(content.model_dump(mode="json"), indent=2).encode()
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temporary, self.path)
