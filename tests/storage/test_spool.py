"""The durable spool: append order, crash leftovers, rotation, commits and fsync policies."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import pytest

import toolwise.storage.spool as spool_module
from toolwise.errors import InvalidArgumentError, SpoolError
from toolwise.models import ToolOutcome
from toolwise.storage.spool import Spool


def _outcome(i: int, **fields: object) -> ToolOutcome:
    return ToolOutcome(tool=f"tool{i % 3}", latency_ms=float(i), task=f"task {i}", **fields)


def _drain(spool: Spool, batch: int = 1_000) -> list[ToolOutcome]:
    """Read and commit everything currently readable."""
    out: list[ToolOutcome] = []
    while True:
        records, cursor = spool.read_batch(batch)
        spool.commit(cursor)
        out.extend(records)
        if not records and not cursor.segment and not cursor.skipped:
            return out


def _segments(root: Path) -> list[Path]:
    return sorted(root.glob("inst-*/seg-*.jsonl"))


def _write_dead_instance(root: Path, lines: list[bytes]) -> Path:
    """A directory as a killed process leaves it: a lock file nobody holds, and a segment."""
    directory = root / "inst-99999-deadbeef"
    directory.mkdir(parents=True)
    (directory / ".lock").touch()
    (directory / "seg-00000001.jsonl").write_bytes(b"".join(lines))
    return directory


def _line(outcome: ToolOutcome) -> bytes:
    return outcome.model_dump_json().encode() + b"\n"


def test_records_are_read_back_in_append_order(tmp_path: Path) -> None:
    """What goes in comes out whole and in order."""
    spool = Spool(tmp_path)
    written = [_outcome(i) for i in range(20)]
    for outcome in written:
        spool.append(outcome)
    assert _drain(spool, batch=7) == written
    spool.close(drained=True)


def test_a_batch_is_not_forgotten_until_committed(tmp_path: Path) -> None:
    """Reading without committing (a failed store write) returns the same batch again."""
    spool = Spool(tmp_path)
    for i in range(5):
        spool.append(_outcome(i))
    first, _ = spool.read_batch(3)
    again, cursor = spool.read_batch(3)
    assert again == first
    spool.commit(cursor)
    rest, _ = spool.read_batch(10)
    assert [o.latency_ms for o in rest] == [3.0, 4.0]
    spool.close(drained=True)


def test_torn_last_line_of_a_dead_process_is_skipped(tmp_path: Path) -> None:
    """A line cut by a crash was never acknowledged: skipped, the whole lines replayed."""
    whole = [_outcome(i) for i in range(3)]
    torn = _line(_outcome(99))[:40]
    _write_dead_instance(tmp_path, [*map(_line, whole), torn])
    spool = Spool(tmp_path)
    assert spool.replayed == 3
    assert _drain(spool) == whole
    assert spool.skipped == 0  # torn lines were never counted, so nothing is missing
    spool.close(drained=True)


def test_unreadable_line_is_skipped_and_counted(tmp_path: Path) -> None:
    """A corrupt line neither blocks the records after it nor disappears silently."""
    good = [_outcome(1), _outcome(2)]
    _write_dead_instance(tmp_path, [_line(good[0]), b'{"not": "a record"}\n', _line(good[1])])
    spool = Spool(tmp_path)
    assert spool.replayed == 3
    assert _drain(spool) == good
    assert spool.skipped == 1
    spool.close(drained=True)


def test_orphan_directory_is_adopted_and_removed_once_stored(tmp_path: Path) -> None:
    """Records a dead process spooled are replayed first, then its directory goes away."""
    dead = _write_dead_instance(tmp_path, [_line(_outcome(i)) for i in range(4)])
    spool = Spool(tmp_path)
    spool.append(_outcome(100))
    assert [o.latency_ms for o in _drain(spool)] == [0.0, 1.0, 2.0, 3.0, 100.0]
    assert not dead.exists()
    spool.close(drained=True)


def test_directory_closed_undrained_is_replayed_by_the_next_spool(tmp_path: Path) -> None:
    """close(drained=False) keeps the records on disk for the next start."""
    first = Spool(tmp_path)
    kept = [_outcome(i) for i in range(3)]
    for outcome in kept:
        first.append(outcome)
    first.close(drained=False)
    second = Spool(tmp_path)
    assert second.replayed == 3
    assert _drain(second) == kept
    second.close(drained=True)
    assert not list(tmp_path.iterdir())


def test_a_running_spool_adopts_a_process_that_ended_after_it_started(tmp_path: Path) -> None:
    """Mid-read of its own live segment, a spool takes over a directory left since it started:
    every record is read exactly once, its own in order, and the directory goes away."""
    spool = Spool(tmp_path)
    spool.append(_outcome(1))
    records, cursor = spool.read_batch(1_000)
    spool.commit(cursor)  # the reader now sits inside the live segment
    assert [o.latency_ms for o in records] == [1.0]
    worker = Spool(tmp_path)  # a forked worker, say, that spooled and ended
    for i in (10, 11, 12):
        worker.append(_outcome(i))
    worker.close(drained=False)
    spool.append(_outcome(2))
    assert spool.adopt_orphans() == 3
    spool.append(_outcome(3))
    assert sorted(o.latency_ms for o in _drain(spool)) == [2.0, 3.0, 10.0, 11.0, 12.0]
    assert spool.adopt_orphans() == 0
    assert [p.name for p in tmp_path.iterdir()] == [spool._dir.name]
    spool.close(drained=True)


def test_a_live_spool_is_never_adopted(tmp_path: Path) -> None:
    """Two spools on one root (two processes) each keep their own records."""
    alive = Spool(tmp_path)
    alive.append(_outcome(1))
    other = Spool(tmp_path)
    assert other.replayed == 0
    assert _drain(other) == []
    assert len(_drain(alive)) == 1
    other.close(drained=True)
    alive.close(drained=True)


def test_segments_rotate_and_finished_ones_are_deleted_on_commit(tmp_path: Path) -> None:
    """Small segments: records span several files, read in order, deleted once committed."""
    spool = Spool(tmp_path, segment_bytes=2_000)
    written = [_outcome(i) for i in range(30)]
    for outcome in written:
        spool.append(outcome)
    assert len(_segments(tmp_path)) > 3
    read: list[ToolOutcome] = []
    while len(read) < len(written):
        records, cursor = spool.read_batch(4)
        spool.commit(cursor)
        read.extend(records)
    assert read == written
    _drain(spool)
    assert len(_segments(tmp_path)) == 1  # only the open segment is left
    spool.close(drained=True)


@pytest.mark.parametrize("policy", ["always", "interval", "never"])
def test_every_fsync_policy_appends_and_syncs(tmp_path: Path, policy: str) -> None:
    """Each documented policy is accepted and works."""
    spool = Spool(tmp_path, fsync=policy)  # type: ignore[arg-type]
    spool.append(_outcome(1))
    spool.sync()
    assert spool.fsync_policy == policy
    assert len(_drain(spool)) == 1
    spool.close(drained=True)


def test_unknown_fsync_policy_is_rejected_naming_the_argument(tmp_path: Path) -> None:
    """A typo in the policy fails at construction, saying which argument."""
    with pytest.raises(InvalidArgumentError) as info:
        Spool(tmp_path, fsync="sometimes")  # type: ignore[arg-type]
    assert info.value.field == "fsync"


def test_append_after_close_raises_spool_error(tmp_path: Path) -> None:
    """A closed spool refuses records loudly instead of losing them quietly."""
    spool = Spool(tmp_path)
    spool.close(drained=True)
    with pytest.raises(SpoolError):
        spool.append(_outcome(1))


def test_close_removes_the_directory_only_when_drained(tmp_path: Path) -> None:
    """A drained close cleans up; an undrained one leaves the records for the next start."""
    drained = Spool(tmp_path / "a")
    drained.append(_outcome(1))
    _drain(drained)
    drained.close(drained=True)
    assert not list((tmp_path / "a").iterdir())
    undrained = Spool(tmp_path / "b")
    undrained.append(_outcome(1))
    undrained.close(drained=False)
    assert len(_segments(tmp_path / "b")) == 1


def test_short_write_leaves_no_fragment_before_the_next_record(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A half-written line (disk full) is cut off, so the next record stays readable."""
    spool = Spool(tmp_path)
    real_write = os.write

    def half_write(fd: int, data: bytes) -> int:
        monkeypatch.setattr(spool_module.os, "write", real_write)  # fail once only
        return real_write(fd, data[: len(data) // 2])

    monkeypatch.setattr(spool_module.os, "write", half_write)
    with pytest.raises(SpoolError):
        spool.append(_outcome(1))
    spool.append(_outcome(2))
    assert [o.latency_ms for o in _drain(spool)] == [2.0]
    assert spool.skipped == 0
    spool.close(drained=True)


class _AppendsDuringRead(Spool):
    """Lands one record right after a read reached the end of the open segment.

    That is the interleaving of a tool call arriving while the writer reads; with
    ``segment_bytes=1`` the append also seals the segment the read has just finished.
    """

    pending: ToolOutcome | None = None

    def _read_lines(self, *args: Any, **kwargs: Any) -> Any:
        result = super()._read_lines(*args, **kwargs)
        if self.pending is not None:
            outcome, self.pending = self.pending, None
            self.append(outcome)
        return result


def test_record_landing_while_its_segment_is_sealed_is_not_skipped(tmp_path: Path) -> None:
    """A segment sealed just after a read hit its end is re-read, not deleted unread."""
    spool = _AppendsDuringRead(tmp_path, segment_bytes=1)
    late = _outcome(7)
    spool.pending = late
    records, cursor = spool.read_batch(10)  # reaches the end just before `late` lands
    spool.commit(cursor)
    assert records == []
    assert _drain(spool) == [late]
    spool.close(drained=True)


def test_concurrent_appends_across_rotations_are_read_exactly_once(tmp_path: Path) -> None:
    """Appenders on 4 threads and a reader committing as it goes: nothing lost or doubled.

    Tiny segments make rotations race with reads of the segment being sealed.
    """
    spool = Spool(tmp_path, segment_bytes=4_000, fsync="never")
    per_thread = 500
    done = threading.Event()
    read: list[ToolOutcome] = []

    def reader() -> None:
        while True:
            finished = done.is_set()
            records, cursor = spool.read_batch(64)
            spool.commit(cursor)
            read.extend(records)
            if finished and not records and not cursor.segment:
                return

    def appender(thread: int) -> None:
        for i in range(per_thread):
            spool.append(_outcome(i, task_type=f"t{thread}"))

    reading = threading.Thread(target=reader)
    reading.start()
    appenders = [threading.Thread(target=appender, args=(t,)) for t in range(4)]
    for thread in appenders:
        thread.start()
    for thread in appenders:
        thread.join()
    done.set()
    reading.join()
    ids = [o.id for o in read]
    assert len(ids) == len(set(ids)) == 4 * per_thread
    spool.close(drained=True)


def test_reading_holds_one_batch_not_the_whole_spool(tmp_path: Path) -> None:
    """The spool on disk is the queue: a read returns at most the batch asked for."""
    spool = Spool(tmp_path, fsync="never")
    for i in range(2_000):
        spool.append(_outcome(i))
    records, cursor = spool.read_batch(50)
    assert len(records) == cursor.records == 50
    assert sum(1 for _ in _segments(tmp_path)[0].open("rb")) == 2_000
    spool.close(drained=False)


def _parsed_lines(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """The lines the reader parses from now on (each one validated as a record)."""
    parsed: list[bytes] = []
    real = spool_module.decode

    def counting(line: bytes | str) -> ToolOutcome:
        parsed.append(line if isinstance(line, bytes) else line.encode())
        return real(line)

    monkeypatch.setattr(spool_module, "decode", counting)
    return parsed


def test_records_this_process_appended_are_read_without_parsing_their_lines(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``append`` proved each line replays to its record: the writer takes that record,
    value and type alike, and still reads each one exactly once."""
    parsed = _parsed_lines(monkeypatch)
    spool = Spool(tmp_path)
    written = [_outcome(i, metadata={"n": i, "ratio": 1.0, "ok": True}) for i in range(5)]
    for outcome in written:
        spool.append(outcome)
    records = _drain(spool, batch=2)
    assert records == written
    assert [type(r.metadata["ratio"]) for r in records] == [float] * 5
    assert parsed == []
    spool.close(drained=True)


def test_past_the_kept_records_lines_are_parsed_in_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Memory is bounded: records beyond ``FRESH`` are read back from the file."""
    monkeypatch.setattr(spool_module, "FRESH", 2)
    parsed = _parsed_lines(monkeypatch)
    spool = Spool(tmp_path)
    written = [_outcome(i) for i in range(5)]
    for outcome in written:
        spool.append(outcome)
    assert _drain(spool, batch=3) == written
    assert len(parsed) == 3
    spool.close(drained=True)


def test_a_spool_left_by_a_stopped_process_is_parsed_and_validated_line_by_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Files from disk are never trusted: a line damaged after the first process wrote it
    is skipped and counted, the others are parsed and replayed."""
    first = Spool(tmp_path)
    kept = [_outcome(i) for i in range(3)]
    for outcome in kept:
        first.append(outcome)
    first.close(drained=False)
    (segment,) = _segments(tmp_path)
    lines = segment.read_bytes().splitlines(keepends=True)
    segment.write_bytes(lines[0] + b'{"tool": ""}\n' + lines[1] + lines[2])
    parsed = _parsed_lines(monkeypatch)
    second = Spool(tmp_path)
    assert _drain(second) == kept
    assert second.skipped == 1
    assert len(parsed) == 4
    second.close(drained=True)
