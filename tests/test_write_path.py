"""The write path (``_write_path.WritePath``): when a call's record is made durable — deferred
(the default) or immediate — and what the counters say about it, on real Chroma."""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from langchain_core.tools import tool

from toolwise import InvalidArgumentError, SpoolError, Toolwise
from toolwise.storage import spool as spool_module
from toolwise.storage.clients import ephemeral_client
from toolwise.storage.lost_records import LostRecords


@tool
def deploy(service: str) -> str:
    """Deploy a service."""
    if service == "broken":
        raise RuntimeError("ssh timeout")
    return f"deployed {service}"


def _spooled_text(spool_dir: Path) -> str:
    """Everything written to the local spool so far (what a crash would leave behind)."""
    return "".join(p.read_text() for p in sorted(spool_dir.glob("inst-*/seg-*.jsonl")))


def _toolwise(tmp_path: Path, prefix: str, **options: Any) -> Toolwise:
    return Toolwise(
        client=ephemeral_client(), spool_dir=tmp_path / "spool", prefix=prefix, **options
    )


@pytest.fixture
def immediate(tmp_path: Path, prefix: str) -> Iterator[Toolwise]:
    tw = _toolwise(tmp_path, prefix, durability="immediate")
    yield tw
    tw.close()


def _call(tw: Toolwise, service: str = "api") -> None:
    config = {"callbacks": [tw.callback(agent_id="ops", task_type="deploy")]}
    with contextlib.suppress(RuntimeError):  # the tool's own failure, left unchanged
        deploy.invoke({"service": service}, config=config)


def test_a_deferred_call_counts_as_recorded_at_once(tw: Toolwise) -> None:
    """``recorded`` includes calls whose records are still being made in the background."""
    _call(tw)
    assert tw.counters.recorded == 1
    assert tw.counters.dropped == 0


def test_deferred_calls_reach_the_spool_without_a_flush(
    tw: Toolwise, tmp_path: Path, eventually: Callable[..., bool]
) -> None:
    """Once the agent pauses, the background thread spools what its calls left."""
    for service in ("api", "web", "db"):
        _call(tw, service)
    assert eventually(lambda: tw.counters.queued == 0)
    assert all(s in _spooled_text(tmp_path / "spool") for s in ("api", "web", "db"))


def test_immediate_calls_are_spooled_before_the_call_returns(
    immediate: Toolwise, tmp_path: Path
) -> None:
    """``durability="immediate"``: the record is on disk the moment the tool call is over."""
    _call(immediate, "billing")
    assert immediate.counters.queued == 0
    assert "deployed billing" in _spooled_text(tmp_path / "spool")


def test_persist_makes_queued_calls_durable_now(tmp_path: Path, prefix: str) -> None:
    """``persist()`` is the checkpoint: afterwards every call so far is in the spool."""
    tw = _toolwise(tmp_path, prefix)
    for service in ("api", "web"):
        _call(tw, service)
    tw.persist()
    assert tw.counters.queued == 0
    assert "deployed api" in _spooled_text(tmp_path / "spool")
    assert "deployed web" in _spooled_text(tmp_path / "spool")
    tw.close()


def test_reads_see_calls_made_just_before(tw: Toolwise) -> None:
    """Learning reads catch up with queued calls first: no call is missed by the next turn."""
    for _ in range(3):
        _call(tw, "broken")
    [prior] = tw.priors("deploy", "deploy", agent_id="ops")
    assert prior.observations == 3
    assert prior.failures == pytest.approx(3, rel=1e-4)  # evidence decays while a slow CI reads


def test_close_stores_calls_still_queued(tmp_path: Path) -> None:
    """Closing right after the calls loses nothing: the queue is spooled, then written."""
    tw = Toolwise(tmp_path / "store")
    for service in ("api", "web", "db"):
        _call(tw, service)
    tw.close()

    with Toolwise(tmp_path / "store") as reopened:
        stored = reopened.list_calls("ops", limit=10)
    assert sorted(c.tool_output for c in stored) == ["deployed api", "deployed db", "deployed web"]


def test_a_call_after_close_is_counted_dropped_never_silently_lost(
    tmp_path: Path, prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A tool still running when toolwise closed: the call succeeds, the loss is loud."""
    tw = _toolwise(tmp_path, prefix)
    handler = tw.callback(agent_id="ops")
    tw.close()
    assert deploy.invoke({"service": "late"}, config={"callbacks": [handler]}) == "deployed late"
    assert tw.counters.dropped == 1
    assert "RECORD LOST" in caplog.text


def _lost_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if "RECORD LOST" in r.getMessage()]


def test_a_close_while_another_is_under_way_waits_for_it(
    tmp_path: Path, prefix: str, eventually: Callable[..., bool]
) -> None:
    """Two closes at once (the app's and the exit hook's): the second returns only once the
    first has drained, not at once, which let the process exit mid-drain."""
    judging = threading.Event()
    release = threading.Event()

    def slow_judge(output: object) -> None:
        judging.set()
        release.wait(30)  # the hand-off is busy with this call when close() starts

    tw = _toolwise(tmp_path, prefix)
    _call(tw, "warm-up")  # a process's first call is recorded in the caller's thread
    deploy.invoke(
        {"service": "api"}, {"callbacks": [tw.callback(agent_id="ops", judge=slow_judge)]}
    )
    assert judging.wait(30)
    first = threading.Thread(target=tw.close)
    first.start()
    assert eventually(lambda: tw.runtime._closed)  # the first close is under way

    assert tw.close(timeout=0.2) is False  # still draining: not done, not "drained"
    release.set()
    assert tw.close() is True  # waits for the first, which stored the call
    first.join()
    with _toolwise(tmp_path, prefix) as again:  # in-memory Chroma: the same store
        stored = sorted(c.tool_output for c in again.list_calls("ops"))
    assert stored == ["deployed api", "deployed warm-up"]


def test_calls_after_close_are_each_counted_and_logged_once(
    tmp_path: Path, prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Tools still finishing after close() (a shutdown) are counted one by one; the log says
    why once instead of one ERROR line per call."""
    tw = _toolwise(tmp_path, prefix)
    handler = tw.callback(agent_id="ops")
    tw.close()

    results = [deploy.invoke({"service": f"late-{i}"}, {"callbacks": [handler]}) for i in range(20)]

    assert results == [f"deployed late-{i}" for i in range(20)]
    assert tw.counters.dropped == 20
    [line] = _lost_lines(caplog)
    assert "after close()" in line


def test_record_after_close_says_toolwise_is_closed(tmp_path: Path, prefix: str) -> None:
    """``tw.record`` after ``close()`` raises, naming close() rather than an inner spool."""
    tw = _toolwise(tmp_path, prefix)
    tw.close()
    with pytest.raises(SpoolError, match=r"after close\(\)"):
        tw.record(agent_id="ops", tool="deploy", latency_ms=1.0)
    assert tw.counters.dropped == 1


def test_a_full_disk_is_logged_when_it_starts_and_when_it_ends(
    tw: Toolwise,
    records: Callable[..., list[Any]],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """While the spool's disk is full every call still returns and each loss is counted; the
    log has one line saying why, and one when records are kept again."""
    real_write = os.write

    def full_disk(fd: int, data: bytes) -> int:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(spool_module.os, "write", full_disk)
    for i in range(20):
        _call(tw, f"svc-{i}")
    tw.persist()  # the deferred hand-off has tried to spool them all
    monkeypatch.setattr(spool_module.os, "write", real_write)
    _call(tw, "after")

    assert [r.tool_output for r in records("ops")] == ["deployed after"]
    assert tw.counters.dropped == 20
    [line] = _lost_lines(caplog)
    assert "No space left on device" in line
    assert "20 record(s) were lost" in caplog.text


def test_a_long_run_of_losses_is_logged_once_a_minute_with_its_count() -> None:
    """Past the first line, a run of losses is summed up at most once every ``every`` s."""
    clock = FakeSeconds()
    log = logging.getLogger("toolwise.test-lost")
    lines: list[str] = []
    log.addHandler(_Collect(lines))
    lost = LostRecords(log, every=60.0, clock=clock)

    for second in range(150):  # one loss a second for 150 s
        clock.now = float(second)
        lost.lost(OSError("disk full"), closed=False)
    lost.spooled()

    assert len(lines) == 4  # at 0 s, 60 s and 120 s, then the end of the run
    assert "60 more record(s) lost (61 in all" in lines[1]
    assert "150 record(s) were lost" in lines[3]


class FakeSeconds:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class _Collect(logging.Handler):
    def __init__(self, lines: list[str]) -> None:
        super().__init__()
        self.lines = lines

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def test_counters_report_the_write_path(tw: Toolwise) -> None:
    """recorded and written move together once flushed; nothing pending or dropped."""
    for i in range(3):
        tw.record(tool="t", latency_ms=float(i))
    assert tw.flush(timeout=30)
    counters = tw.counters
    assert (counters.recorded, counters.written, counters.pending, counters.dropped) == (
        3,
        3,
        0,
        0,
    )


def test_unknown_durability_is_rejected_naming_the_field(tmp_path: Path, prefix: str) -> None:
    with pytest.raises(InvalidArgumentError) as raised:
        _toolwise(tmp_path, prefix, durability="eventually")
    assert raised.value.field == "durability"


def test_pre_selection_starts_learning_in_the_background(
    tmp_path: Path, eventually: Callable[..., bool]
) -> None:
    """Building the middleware starts the view's cold build, so the first turn need not wait;
    calls made while it loads are learnt exactly once."""
    with Toolwise(tmp_path / "store") as first:
        for _ in range(3):
            _call(first, "broken")

    tw = Toolwise(tmp_path / "store")
    tw.middleware(agent_id="ops")
    _call(tw, "broken")  # made while the view may still be loading
    assert eventually(lambda: tw.runtime.feed.ready)  # no read has happened yet
    [prior] = tw.priors("deploy", "deploy", agent_id="ops")
    assert prior.observations == 4
    tw.close()


@pytest.mark.parametrize(("remote", "batch", "paced"), [(False, 500, True), (True, 2_000, False)])
def test_a_server_is_written_in_larger_unpaced_batches(
    tmp_path: Path, remote: bool, batch: int, paced: bool
) -> None:
    """Embedded writes stay at 500 records and pause during a burst (they hold the GIL); a
    server's are 2,000 and do not pause (it works with the GIL free). A ``batch_size``
    setting wins either way."""
    from datetime import UTC, datetime

    from toolwise._write_path import WritePath
    from toolwise.storage.chroma import ChromaOutcomeStore

    store = ChromaOutcomeStore(ephemeral_client(), prefix=f"wp{int(remote)}")
    for settings, size in (({}, batch), ({"batch_size": 7}, 7)):
        path = WritePath(
            tmp_path / f"{remote}-{size}",
            store,
            settings,  # type: ignore[arg-type]
            clock=lambda: datetime.now(UTC),
            max_delay=1.0,
            learn=lambda _outcome: None,
            remote=remote,
        )
        try:
            writer = path._writer
            assert writer._batch_size == size
            assert (writer._burst_pause > 0) is paced
        finally:
            path.close(1.0)
