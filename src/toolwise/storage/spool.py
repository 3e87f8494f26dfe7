"""A durable, append-only local spool: every record lands here before it goes to Chroma.

One JSON record per line in segment files ``seg-NNNNNNNN.jsonl``, in a directory of this
process's own (:mod:`toolwise.storage.spool_dirs`: the layout, the locks, and taking over the
directories of processes that died). A record counts as *acknowledged* once
:meth:`Spool.append` returns: its line — checked to read back equal
(:mod:`toolwise.storage.spool_lines`) — has been handed to the kernel with a single
``write(2)`` on an ``O_APPEND`` descriptor, so it survives the process being killed.

fsync policy (what survives a *machine* crash or power loss):
- ``"always"``: fsync after every record — nothing acknowledged is lost; slowest.
- ``"interval"`` (default): the writer thread fsyncs before it stores records, at most once a
  second — when the agent pauses, or at the latest after the writer's ``max_delay`` (5 s) in a
  long burst. Only that window can be lost to a power cut; nothing to a process crash. fsync is
  kept out of bursts because it stalls concurrent appends to the same file.
- ``"never"``: leave it to the OS (typically ~30 s of exposure to a power cut).

The segments of a process that died are adopted and replayed first. A torn last line (a write
cut by a crash) was never acknowledged; it is skipped with a warning. Replays are harmless
because stores upsert by record id.

The writer does not parse again what this process has just appended: :meth:`Spool.append`
keeps, for up to :data:`FRESH` records, the record its line decodes to (``encode_checked``
proved it equal to the line's replay), and :meth:`Spool.read_batch` takes it from there when
it reaches that line's offset. Parsing and validating each line again was ~20 µs a record
of a server's CPU, holding the GIL its event loop needs. Every other line — a dead
process's segments, records past the cap — is read from the file and fully validated.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from toolwise.errors import SpoolError
from toolwise.models import ToolOutcome
from toolwise.storage.spool_dirs import (
    DeadDirectories,
    SpoolDirectory,
    count_lines,
    inspect_spool,
    mark_closed,
    own_directory,
    remove_directory,
    write_note,
)
from toolwise.storage.spool_lines import decode, encode_checked

__all__ = ["FRESH", "FsyncPolicy", "Spool", "SpoolCursor", "SpoolDirectory", "inspect_spool"]

log = logging.getLogger("toolwise.spool")

FsyncPolicy = Literal["always", "interval", "never"]
_SEGMENT_BYTES = 16 * 1024 * 1024
FRESH = 5_000
"""Records appended by this process kept for the writer; past it (the store is down, or far
behind) their lines are parsed. A few of the writer's batches (2,000 at most): the memory a
store outage can hold here stays a few MB."""


@dataclass(slots=True)
class _Segment:
    path: Path
    sealed: bool  # no more appends will come to it
    owned_dir: Path  # the instance directory it lives in
    seq: int = 0  # this process's segments: their number; adopted ones: 0


@dataclass(frozen=True, slots=True)
class _Fresh:
    """A line this process appended: where it starts and ends, and the record it replays to."""

    seq: int
    start: int
    end: int
    record: ToolOutcome


@dataclass(frozen=True, slots=True)
class SpoolCursor:
    """Where a read batch ended: committing it lets the spool drop what came before."""

    segment: int
    offset: int
    records: int
    skipped: int = 0


class Spool:
    """Append records durably; read them back in order; forget them once stored.

    Thread-safe. ``append`` is the only call on the tool-call hot path: one serialisation
    (decoded once more to check it), and one ``write(2)``. Reading and committing are for the
    single writer thread.
    """

    def __init__(
        self,
        root: Path | str,
        *,
        fsync: FsyncPolicy = "interval",
        segment_bytes: int = _SEGMENT_BYTES,
        adopt: bool = True,
    ) -> None:
        if fsync not in ("always", "interval", "never"):
            from toolwise.errors import InvalidArgumentError

            raise InvalidArgumentError("fsync", fsync, "must be 'always', 'interval' or 'never'")
        self.root = Path(root)
        self.fsync_policy: FsyncPolicy = fsync
        self._segment_bytes = segment_bytes
        self._lock = threading.Lock()
        self._dirty = False
        self._dir, self._lock_fd = own_directory(self.root)
        self._dead = DeadDirectories(self.root, self._dir)
        self._note: tuple[str, float] | None = None  # (durability, window) once noted
        self._segments: list[_Segment] = self._adopt_orphans() if adopt else []
        self.replayed = sum(count_lines(s.path) for s in self._segments)
        self._seq = 0
        self._fresh: deque[_Fresh] = deque()  # appended by the hot path, taken by the reader
        self._fd = -1
        self._size = 0
        self._open_next_segment()
        self._read_segment = 0
        self._read_offset = 0
        self._closed = False
        self.appended = 0  # records acknowledged by this process (replayed ones not included)
        self.skipped = 0  # counted at start-up but unreadable: logged, never silently dropped

    # -- start-up -----------------------------------------------------------------------------

    def _adopt_orphans(self) -> list[_Segment]:
        return [
            _Segment(path, sealed=True, owned_dir=directory)
            for directory, segments in self._dead.adopt()
            for path in segments
        ]

    def adopt_orphans(self) -> int:
        """Take over the directories of processes that ended since this one started (a
        forked worker, a killed sibling); returns how many records were adopted.

        For the writer thread only, between batches: the live segment is sealed and the
        adopted ones are queued right after it, so the reader's position stays valid.
        """
        adopted = self._adopt_orphans()
        if not adopted:
            return 0
        count = sum(count_lines(segment.path) for segment in adopted)
        with self._lock:
            if self._closed:  # the next process adopts them: let go of their locks now
                for directory in {segment.owned_dir for segment in adopted}:
                    self._dead.release(directory, remove=False)
                return 0
            self._rotate()
            self._segments[-1:-1] = adopted
            self.replayed += count
        return count

    def _open_next_segment(self) -> None:
        self._seq += 1
        path = self._dir / f"seg-{self._seq:08d}.jsonl"
        try:
            self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        except OSError as exc:
            raise SpoolError(f"cannot open spool segment {path}: {exc}") from exc
        self._size = 0
        self._segments.append(_Segment(path, sealed=False, owned_dir=self._dir, seq=self._seq))

    def note_process(self, *, durability: str, window: float) -> None:
        """Leave in this process's directory how it records, for whoever adopts the directory
        should this process die: ``durability`` and ``window``, the seconds of finished calls
        not yet spooled that a kill can lose (0 when every call is spooled before it returns).
        """
        self._note = (durability, window)
        write_note(self._dir, durability=durability, window=window)

    def after_fork(self) -> Spool:
        """In a forked child: let go of the parent's files — its locks stay the parent's, as
        a flock belongs to the open file, which the parent still holds — and return a spool
        of this process's own. Orphans are left to the next process that starts."""
        for fd in (self._fd, self._lock_fd, *self._dead.fds()):
            with contextlib.suppress(OSError):
                os.close(fd)
        child = Spool(
            self.root, fsync=self.fsync_policy, segment_bytes=self._segment_bytes, adopt=False
        )
        if self._note is not None:
            child.note_process(durability=self._note[0], window=self._note[1])
        return child

    @property
    def closed(self) -> bool:
        """True once :meth:`close` ran: every append raises :class:`SpoolError`."""
        return self._closed

    # -- hot path -----------------------------------------------------------------------------

    def append(self, outcome: ToolOutcome) -> None:
        """Make ``outcome`` durable (see the module's fsync policy) before returning.

        The line is checked to read back equal first (:mod:`toolwise.storage.spool_lines`):
        nothing is acknowledged that a replay could not return.

        Raises:
            InvalidArgumentError: ``outcome`` would not replay as it is (nothing written);
                ``.field`` names the field.
            SpoolError: the line could not be written (disk full, permissions, closed spool).
        """
        data, replayed = encode_checked(outcome)
        with self._lock:
            if self._closed:
                raise SpoolError("spool is closed")
            self.appended += 1  # before the write: the reader may see the line at once
            try:
                written = os.write(self._fd, data)
                if written != len(data):  # a short write on a full disk
                    raise OSError(f"short write: {written} of {len(data)} bytes")
                if self.fsync_policy == "always":
                    os.fsync(self._fd)
                else:
                    self._dirty = True
            except OSError as exc:
                # Cut off whatever part of the line reached the file: left there, it would glue
                # onto the next acknowledged record and make that one unreadable too, and a
                # record reported as lost must not be stored later behind the caller's back.
                with contextlib.suppress(OSError):
                    os.ftruncate(self._fd, self._size)
                self.appended -= 1
                raise SpoolError(f"cannot append to spool {self._dir}: {exc}") from exc
            if len(self._fresh) < FRESH:
                self._fresh.append(_Fresh(self._seq, self._size, self._size + len(data), replayed))
            self._size += len(data)
            if self._size >= self._segment_bytes:
                self._rotate()

    def _rotate(self) -> None:
        with contextlib.suppress(OSError):
            os.fsync(self._fd)
        os.close(self._fd)
        self._segments[-1].sealed = True
        self._open_next_segment()

    def sync(self) -> None:
        """fsync the open segment if anything was appended since the last sync."""
        with self._lock:
            if not self._dirty or self._closed:
                return
            self._dirty = False
            fd = os.dup(self._fd)  # fsync outside the lock: appends must never wait on a disk
        try:
            with contextlib.suppress(OSError):
                os.fsync(fd)
        finally:
            os.close(fd)

    # -- writer side --------------------------------------------------------------------------

    def read_batch(self, max_records: int) -> tuple[list[ToolOutcome], SpoolCursor]:
        """Up to ``max_records`` records after the last commit, in append order."""
        with self._lock:
            segments = list(self._segments)
        index, offset = self._read_segment, self._read_offset
        batch: list[ToolOutcome] = []
        skipped = 0
        while index < len(segments) and len(batch) < max_records:
            segment = segments[index]
            # Read the flag *before* the file: a segment sealed after we hit its end may have
            # received a last line in between, and moving past it would lose that record.
            sealed = segment.sealed
            chunk, offset, complete, bad = self._read_lines(
                segment, offset, max_records - len(batch), sealed=sealed
            )
            batch.extend(chunk)
            skipped += bad
            if complete and sealed:
                index, offset = index + 1, 0
                continue
            break
        return batch, SpoolCursor(index, offset, len(batch), skipped)

    def _read_lines(
        self, segment: _Segment, offset: int, limit: int, *, sealed: bool
    ) -> tuple[list[ToolOutcome], int, bool, int]:
        records: list[ToolOutcome] = []
        bad = 0
        try:
            with segment.path.open("rb") as handle:
                while len(records) < limit:
                    fresh = self._fresh_at(segment.seq, offset)
                    if fresh is not None:
                        records.append(fresh.record)
                        offset = fresh.end
                        continue
                    handle.seek(offset)
                    line = handle.readline()
                    if not line:
                        return records, offset, True, bad
                    if not line.endswith(b"\n"):
                        if sealed:  # torn by a crash: never acknowledged
                            log.warning("toolwise: skipping a torn spool line in %s", segment.path)
                            return records, offset + len(line), True, bad
                        return records, offset, False, bad  # still being written
                    offset += len(line)
                    try:
                        records.append(decode(line))
                    except ValueError:
                        log.error("toolwise: unreadable spool line in %s skipped", segment.path)
                        bad += 1
        except FileNotFoundError:
            return records, offset, True, bad
        return records, offset, False, bad

    def _fresh_at(self, seq: int, offset: int) -> _Fresh | None:
        """The record appended at ``offset`` of this process's segment ``seq``, if kept
        (``seq`` 0, an adopted segment: never). Drops what the reader has passed: this
        process's lines are appended, and read, in (segment, offset) order."""
        if not seq:
            return None
        fresh = self._fresh
        while fresh and (fresh[0].seq, fresh[0].start) < (seq, offset):
            fresh.popleft()
        if fresh and fresh[0].seq == seq and fresh[0].start == offset:
            return fresh.popleft()
        return None

    def commit(self, cursor: SpoolCursor) -> None:
        """Everything up to ``cursor`` is stored: advance, and delete finished segments."""
        with self._lock:
            self.skipped += cursor.skipped
            finished = self._segments[: cursor.segment]
            self._segments = self._segments[cursor.segment :]
            self._read_segment = 0
            self._read_offset = cursor.offset
            live_dirs = {s.owned_dir for s in self._segments}
        for segment in finished:
            with contextlib.suppress(OSError):
                segment.path.unlink()
            if segment.owned_dir != self._dir and segment.owned_dir not in live_dirs:
                self._dead.release(segment.owned_dir, remove=True)

    def reject(self, outcome: ToolOutcome, reason: str) -> None:
        """Keep a record the store refused for good in ``<root>/rejected.jsonl``."""
        line = json.dumps({"reason": reason, "record": outcome.model_dump(mode="json")})
        try:
            with (self.root / "rejected.jsonl").open("a", encoding="utf-8") as handle:
                handle.write(line + "\n")
        except OSError as exc:
            log.error("toolwise: RECORD LOST — cannot keep rejected record %s: %s", outcome.id, exc)

    # -- shutdown -----------------------------------------------------------------------------

    def close(self, *, drained: bool) -> None:
        """Close files; remove this process's directory only when everything was stored."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            with contextlib.suppress(OSError):
                os.fsync(self._fd)
            os.close(self._fd)
        self._dead.close()
        if drained:
            remove_directory(self._dir)
        else:
            mark_closed(self._dir)
        with contextlib.suppress(OSError):
            os.close(self._lock_fd)
