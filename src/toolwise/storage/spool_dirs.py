"""The spool's directories on disk: one per live process, taken over when its process dies.

Layout: ``<root>/inst-<pid>-<random>/``, each with a ``.lock`` file its process holds with an
exclusive ``flock`` for as long as it runs (the kernel releases it when the process ends,
however it ends), its segments ``seg-NNNNNNNN.jsonl``, and ``.process.json``: how the owner
records (its durability and the seconds of finished calls a kill can lose), for whoever adopts
the directory. A clean close that could not store everything leaves ``.closed``.

A directory whose lock is free belongs to a process that ended: :class:`DeadDirectories`
takes its lock (so no second process adopts it too), logs what may be missing — from the dead
process's own note, never more or less than it risked — and hands its segments to the spool
to replay. :func:`inspect_spool` reads the same layout for ``toolwise spool`` without taking
anything over.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from toolwise.errors import SpoolError

__all__ = [
    "DeadDirectories",
    "SpoolDirectory",
    "count_lines",
    "inspect_spool",
    "mark_closed",
    "own_directory",
    "remove_directory",
    "write_note",
]

log = logging.getLogger("toolwise.spool")

_PREFIX = "inst-"
_LOCK = ".lock"
_CLOSED_MARKER = ".closed"  # left by a clean close that could not store everything
_PROCESS_NOTE = ".process.json"  # how the owner recorded: durability mode and loss window


def own_directory(root: Path) -> tuple[Path, int]:
    """A new directory for this process under ``root``, and the fd of its held lock.

    Raises:
        SpoolError: the directory cannot be created or locked.
    """
    try:
        root.mkdir(parents=True, exist_ok=True)
        directory = root / f"{_PREFIX}{os.getpid()}-{uuid.uuid4().hex[:8]}"
        directory.mkdir()
        fd = os.open(directory / _LOCK, os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        raise SpoolError(f"cannot create spool under {root}: {exc}") from exc
    return directory, fd


def count_lines(path: Path) -> int:
    """Complete lines in a file (a torn last line was never acknowledged); 0 if unreadable."""
    try:
        with path.open("rb") as handle:
            return sum(1 for line in handle if line.endswith(b"\n"))
    except OSError:
        return 0


def remove_directory(directory: Path) -> None:
    shutil.rmtree(directory, ignore_errors=True)


def mark_closed(directory: Path) -> None:
    """Note that the owner closed before the store took everything (not a crash)."""
    with contextlib.suppress(OSError):
        (directory / _CLOSED_MARKER).touch()


def write_note(directory: Path, *, durability: str, window: float) -> None:
    """Leave in ``directory`` how its process records, for whoever adopts it should the
    process die: ``durability`` and ``window``, the seconds of finished calls not yet
    spooled that a kill can lose (0 when every call is spooled before it returns)."""
    note = {"durability": durability, "window_s": window, "pid": os.getpid()}
    try:
        (directory / _PROCESS_NOTE).write_text(json.dumps(note))
    except OSError as exc:  # only the restart warning gets vaguer
        log.warning("toolwise: cannot write %s: %s", directory / _PROCESS_NOTE, exc)


class DeadDirectories:
    """The directories of ended processes that this spool took over, locks held until their
    records are stored. For one spool; not thread-safe (its owner serialises the calls)."""

    def __init__(self, root: Path, own: Path) -> None:
        self._root = root
        self._own = own
        self._locks: dict[Path, int] = {}  # adopted directory -> its lock, held

    def adopt(self) -> list[tuple[Path, list[Path]]]:
        """Take over every directory whose process ended since the last look: each with its
        segments, oldest first. Directories with no segment left are removed at once."""
        adopted: list[tuple[Path, list[Path]]] = []
        for directory in sorted(p for p in self._root.iterdir() if p.is_dir()):
            if directory == self._own or not directory.name.startswith(_PREFIX):
                continue
            fd = _take_lock(directory / _LOCK)
            if fd is None:
                continue  # a live process owns it (or this spool adopted it already)
            # We hold the dead owner's lock until its records are stored; keep the fd open.
            self._locks[directory] = fd
            if not (directory / _CLOSED_MARKER).exists():
                log.warning(
                    "toolwise: the process that owned %s ended without closing toolwise "
                    "(killed or crashed); its spooled records are replayed. %s",
                    directory,
                    _what_was_lost(_read_note(directory)),
                )
            segments = sorted(directory.glob("seg-*.jsonl"))
            if segments:
                log.warning(
                    "toolwise: replaying %d spool segment(s) from %s", len(segments), directory
                )
                adopted.append((directory, segments))
            else:
                self.release(directory, remove=True)
        return adopted

    def release(self, directory: Path, *, remove: bool) -> None:
        """Let go of an adopted directory (its records are stored), deleting it if asked."""
        if remove:
            remove_directory(directory)
        fd = self._locks.pop(directory, None)
        if fd is not None:
            with contextlib.suppress(OSError):
                os.close(fd)

    def fds(self) -> list[int]:
        """The held locks' descriptors (a forked child closes its copies)."""
        return list(self._locks.values())

    def close(self) -> None:
        """Release every lock, keeping the directories for the next process."""
        for fd in self._locks.values():
            with contextlib.suppress(OSError):
                os.close(fd)
        self._locks.clear()


def _take_lock(path: Path) -> int | None:
    """The fd of ``path`` locked exclusively, or None when another holder has it."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return None
    return fd


@dataclass(frozen=True, slots=True)
class SpoolDirectory:
    """One process's spool directory, as an operator sees it.

    ``state``: ``running`` (a live process holds it; its writer knows what is stored, so
    ``records`` is None), ``closed`` (closed before the store took everything: kept for the
    next process), or ``ended`` (its process died without closing). ``records``: complete
    lines on disk, all waiting for the store.
    """

    name: str
    state: Literal["running", "closed", "ended"]
    records: int | None


def inspect_spool(root: Path | str) -> tuple[list[SpoolDirectory], int]:
    """What waits in a spool, read without taking anything over; and how many records sit in
    ``rejected.jsonl`` (refused by the store for good). For ``toolwise spool``."""
    root = Path(root)
    if not root.is_dir():
        return [], 0
    found: list[SpoolDirectory] = []
    for directory in sorted(p for p in root.iterdir() if p.is_dir() and p.name.startswith(_PREFIX)):
        if _held(directory / _LOCK):
            found.append(SpoolDirectory(directory.name, "running", None))
            continue
        records = sum(count_lines(path) for path in directory.glob("seg-*.jsonl"))
        state: Literal["closed", "ended"] = (
            "closed" if (directory / _CLOSED_MARKER).exists() else "ended"
        )
        found.append(SpoolDirectory(directory.name, state, records))
    rejected = root / "rejected.jsonl"
    return found, count_lines(rejected) if rejected.exists() else 0


def _held(lock_path: Path) -> bool:
    """True when a live process holds this lock (probed, and released at once if free)."""
    try:
        fd = os.open(lock_path, os.O_RDWR)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return True
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)


def _read_note(directory: Path) -> dict[str, object]:
    """What a dead process left about how it recorded (empty: nothing, or unreadable)."""
    try:
        note = json.loads((directory / _PROCESS_NOTE).read_text())
    except (OSError, ValueError):
        return {}
    return note if isinstance(note, dict) else {}


def _what_was_lost(note: dict[str, object]) -> str:
    """The restart warning's account of what the dead process may not have spooled."""
    durability, window = note.get("durability"), note.get("window_s")
    if durability == "immediate":
        return (
            "It ran durability='immediate': every call it recorded was spooled before the "
            "call returned, so none is missing"
        )
    if durability == "deferred" and isinstance(window, int | float):
        return (
            f"It ran durability='deferred': calls that finished in its last {window:g} s "
            "(its hand-off bound) may never have been spooled and are then missing"
        )
    return (
        "How it recorded is unknown (an older toolwise): with durability='deferred', calls "
        "that finished in its last moments may never have been spooled and are missing"
    )
