"""Snapshots of the learnt view: a new process starts from one and replays only newer records.

"Same answer" is checked against a full rebuild from raw records (``feed.rebuild``, what
``toolwise rebuild`` runs): every prior's alpha and beta within ``TOLERANCE`` (relative), and
the same seeded ranking with scores within ``TOLERANCE``. How much was replayed is read from
the feed's counter (``feed.replayed``), never from timing.
"""

from __future__ import annotations

import io
import json
import logging
import math
import pickle
import tempfile
import uuid
from collections import deque
from collections.abc import Callable
from contextlib import redirect_stdout
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.conftest import ChromaServer

from toolwise import Toolwise
from toolwise.cli import main
from toolwise.learning import snapshot
from toolwise.learning.config import LearningConfig
from toolwise.learning.snapshot import SnapshotError
from toolwise.storage.snapshots import ChromaSnapshotStore

TOLERANCE = 1e-9
TOOLS = ["kubectl_apply", "helm_upgrade", "argocd_sync"]
TASKS = ["deploy", "rollback"]

Step = tuple[int, int, float, float]  # tool, task type, quality, latency (ms)
steps = st.tuples(
    st.integers(0, len(TOOLS) - 1),
    st.integers(0, len(TASKS) - 1),
    st.sampled_from([0.0, 1.0, 1.0, 0.5]),
    st.floats(1.0, 5_000.0),
)


def _clock() -> Callable[[], datetime]:
    """A clock one second further on at every call, shared by the processes of a test."""
    now = [datetime.now(UTC) - timedelta(hours=1)]  # records are kept 90 days by default

    def clock() -> datetime:
        now[0] += timedelta(seconds=1)
        return now[0]

    return clock


def _play(tw: Toolwise, stream: list[Step]) -> None:
    for tool, task, quality, latency in stream:
        tw.observe(TOOLS[tool], quality, task_type=TASKS[task], latency_ms=latency)


def _answers(tw: Toolwise) -> tuple[list[tuple[str, str, float, float]], list[list[object]]]:
    priors = [(p.tool, p.context_class, p.alpha, p.beta) for p in tw.priors()]
    rankings = [
        [(r.tool, r.score) for r in tw.recommend(task_type=task, tools=TOOLS, seed=7)]
        for task in TASKS
    ]
    return priors, rankings  # type: ignore[return-value]


def _assert_same(got: tuple[list, list], want: tuple[list, list]) -> None:  # type: ignore[type-arg]
    (got_priors, got_rankings), (want_priors, want_rankings) = got, want
    assert [p[:2] for p in got_priors] == [p[:2] for p in want_priors]
    for g, w in zip(got_priors, want_priors, strict=True):
        assert g[2] == pytest.approx(w[2], rel=TOLERANCE)
        assert g[3] == pytest.approx(w[3], rel=TOLERANCE)
    for g_rank, w_rank in zip(got_rankings, want_rankings, strict=True):
        assert [tool for tool, _ in g_rank] == [tool for tool, _ in w_rank]
        for (_, g_score), (_, w_score) in zip(g_rank, w_rank, strict=True):
            assert g_score == pytest.approx(w_score, rel=TOLERANCE)


@pytest.mark.server
@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(before=st.lists(steps, min_size=1, max_size=120), after=st.lists(steps, max_size=60))
def test_snapshot_plus_replay_equals_a_full_rebuild(
    chroma_server: ChromaServer, before: list[Step], after: list[Step]
) -> None:
    """A snapshots after ``before`` and goes on with ``after``; B, started then, replays only
    ``after`` on top of the snapshot and answers as a rebuild from every record."""
    prefix = f"t{uuid.uuid4().hex[:12]}"
    clock = _clock()
    spools = Path(tempfile.mkdtemp())
    a = Toolwise(url=chroma_server.url, prefix=prefix, clock=clock, spool_dir=spools / "a")
    try:
        _play(a, before)
        assert a.runtime.feed.write_snapshot() is not None
        _play(a, after)
        a.runtime.flush()
        b = Toolwise(url=chroma_server.url, prefix=prefix, clock=clock, spool_dir=spools / "b")
        try:
            b.runtime.view()
            assert b.runtime.feed.restored is not None
            assert b.runtime.feed.replayed == len(after)
            from_snapshot = _answers(b)
            b.runtime.feed.rebuild()
            assert b.runtime.feed.replayed == len(before) + len(after)
            _assert_same(from_snapshot, _answers(b))
        finally:
            b.close()
    finally:
        a.close()


def test_a_second_toolwise_on_the_same_path_starts_from_the_snapshot(tmp_path: Path) -> None:
    clock = _clock()
    stream = [(i % 3, i % 2, float(i % 4 != 0), 100.0 + i) for i in range(60)]
    with Toolwise(tmp_path / "store", clock=clock) as first:
        _play(first, stream)
        assert first.runtime.feed.restored is None
        want = _answers(first)
    with Toolwise(tmp_path / "store", clock=clock) as second:
        second.runtime.view()
        assert second.runtime.feed.restored is not None
        assert second.runtime.feed.restored.records == len(stream)
        assert second.runtime.feed.replayed == 0
        _assert_same(_answers(second), want)


def _snapshots(tmp_path: Path) -> ChromaSnapshotStore:
    with Toolwise(tmp_path / "store", clock=_clock()) as tw:
        _play(tw, [(0, 0, 1.0, 10.0), (1, 0, 0.0, 20.0), (2, 1, 1.0, 30.0)])
    from toolwise.storage.clients import persistent_client

    client = persistent_client(tmp_path / "store" / "chroma")
    return ChromaSnapshotStore(lambda: client, prefix="toolwise")


@pytest.mark.parametrize("damage", ["chunk", "payload", "version"])
def test_a_bad_snapshot_is_ignored_and_the_view_rebuilt(
    tmp_path: Path, damage: str, caplog: pytest.LogCaptureFixture
) -> None:
    store = _snapshots(tmp_path)
    head = store.heads()[0]
    if damage == "chunk":  # the bytes no longer match the head's digest
        store._collection(create=True).update(
            ids=[f"{head.id}:0"],
            embeddings=[[1.0]],
            metadatas=[{"kind": "chunk", "snapshot": head.id, "index": 0, "data": "AAAA"}],
        )
    else:  # a newer snapshot: garbage of this version, or of a version this one cannot read
        store.save(
            b"not a snapshot",
            version=snapshot.VERSION if damage == "payload" else snapshot.VERSION + 1,
            fingerprint=head.fingerprint,
            watermark=head.watermark + 1.0,
            records=3,
            built=head.built,
        )
    with caplog.at_level(logging.WARNING, logger="toolwise"), Toolwise(tmp_path / "store") as tw:
        tw.runtime.view()
        if damage == "version":  # skipped silently: the older valid one is used
            assert tw.runtime.feed.restored == head
            assert tw.runtime.feed.replayed == 0
        else:
            assert tw.runtime.feed.restored is None
            assert tw.runtime.feed.replayed == 3  # every record, from scratch
            warnings = [r for r in caplog.records if "ignoring snapshot" in r.getMessage()]
            assert len(warnings) == 1
        assert {p.tool for p in tw.priors()} == set(TOOLS)


def test_a_snapshot_made_by_other_learning_code_is_not_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After an upgrade the pickled layout and the rules that filled it may differ: the view
    is rebuilt from the records once (found on a 100,000-record store whose snapshot, made
    one commit earlier under the same format number, broke every ``recommend``)."""
    clock = _clock()
    with Toolwise(tmp_path / "store", clock=clock) as tw:
        _play(tw, [(0, 0, 1.0, 10.0), (1, 0, 0.0, 20.0), (2, 1, 1.0, 30.0)])
        want = _answers(tw)
    monkeypatch.setattr(snapshot, "learning_code", lambda: b"the next release")
    with Toolwise(tmp_path / "store", clock=clock) as tw:
        tw.runtime.view()
        assert tw.runtime.feed.restored is None
        assert tw.runtime.feed.replayed == 3
        _assert_same(_answers(tw), want)
    with Toolwise(tmp_path / "store", clock=clock) as tw:  # its own snapshot, from then on
        tw.runtime.view()
        assert tw.runtime.feed.restored is not None
        assert tw.runtime.feed.replayed == 0


def test_forget_invalidates_the_snapshots(tmp_path: Path) -> None:
    clock = _clock()
    with Toolwise(tmp_path / "store", clock=clock) as tw:
        _play(tw, [(0, 0, 1.0, 10.0), (1, 0, 0.0, 20.0)])
    with Toolwise(tmp_path / "store", clock=clock) as tw:
        tw.runtime.view()
        assert tw.runtime.feed.restored is not None
        tw.forget("default", tool=TOOLS[0])
        assert tw.runtime.feed._keeper is not None
        assert tw.runtime.feed._keeper.snapshots.heads() == []
        assert {p.tool for p in tw.priors()} == {TOOLS[1]}
    with Toolwise(tmp_path / "store", clock=clock) as tw:
        assert {p.tool for p in tw.priors()} == {TOOLS[1]}


@pytest.mark.server
def test_a_snapshot_of_a_view_built_before_a_forget_is_never_used(
    chroma_server: ChromaServer, tmp_path: Path, prefix: str
) -> None:
    """B still holds what A forgot and writes a snapshot at its close: C must not load it."""
    clock = _clock()

    def open_(name: str) -> Toolwise:
        return Toolwise(
            url=chroma_server.url, prefix=prefix, clock=clock, spool_dir=tmp_path / name
        )

    a, b = open_("a"), open_("b")
    try:
        _play(a, [(0, 0, 1.0, 10.0), (1, 0, 0.0, 20.0)])
        a.runtime.flush()
        b.runtime.view()  # built with both tools
        a.forget("default", tool=TOOLS[0])
        assert b.runtime.feed.write_snapshot() is not None  # stale: holds the forgotten tool
    finally:
        a.close()
        b.close()
    with open_("c") as c:
        assert {p.tool for p in c.priors()} == {TOOLS[1]}


def test_toolwise_rebuild_relearns_every_record_and_writes_a_snapshot(tmp_path: Path) -> None:
    with Toolwise(tmp_path / "store", clock=_clock()) as tw:
        _play(tw, [(0, 0, 1.0, 10.0), (1, 1, 0.0, 20.0)])
        tw.observe(TOOLS[2], 0.5, agent_id="ops")  # every agent's records, not --agent's
    out = io.StringIO()
    with redirect_stdout(out):
        assert main(["rebuild", "--path", str(tmp_path / "store"), "--json"]) == 0
    result = json.loads(out.getvalue())
    assert result["records"] == 3
    with Toolwise(tmp_path / "store") as tw:
        tw.runtime.view()
        restored = tw.runtime.feed.restored
        assert restored is not None
        assert restored.id == result["snapshot"]


def test_a_snapshot_cannot_run_code() -> None:
    """Snapshots come from a shared store: only toolwise's learning classes are built."""
    import os

    evil = snapshot.MAGIC + __import__("zlib").compress(
        pickle.dumps(os.system)  # a global outside the allow-list
    )
    with pytest.raises(SnapshotError, match="refuses"):
        snapshot.load_state(evil, LearningConfig())
    with pytest.raises(SnapshotError):
        snapshot.load_state(b"junk", LearningConfig())


def test_float_samples_round_trip_as_arrays_and_bad_ones_are_refused() -> None:
    """Latency samples are stored as raw doubles (format 2): read back equal, in a deque of
    the same bound; bytes that are not whole doubles are a corrupt snapshot."""
    samples = deque([0.5, 1e300, -0.0, float("inf")], maxlen=7)
    buffer = io.BytesIO()
    snapshot._Pickler(buffer, protocol=5).dump(samples)
    assert b"_floats" in buffer.getvalue()  # stored as bytes, not one float at a time
    back = snapshot._Restricted(io.BytesIO(buffer.getvalue())).load()
    assert list(back) == list(samples)
    assert back.maxlen == 7
    with pytest.raises(SnapshotError, match="float samples"):
        snapshot._floats(b"\x00" * 7, 3)


def test_a_snapshot_keeps_only_the_ids_a_replay_can_meet() -> None:
    """Ids learnt within the window before the watermark are kept (a replay from the
    watermark minus the overlap may read their rows again); rows the build read are dropped
    once the build ended more than the overlap before the watermark."""
    from toolwise.learning.resume import replay_ids

    learnt = [(10.0, "old"), (95.0, "built"), (98.0, "queued"), (99.5, "late")]
    seen = {"old", "built", "queued", "late"}

    def ids(watermark: float) -> list[str]:
        return replay_ids(
            learnt, seen, watermark=watermark, window=30.0, overlap=3.0, build_span=(90.0, 96.0)
        )

    assert ids(98.0) == ["built", "queued", "late"]  # the replay starts at 95: in the build
    assert ids(100.0) == ["queued", "late"]  # it starts at 97, after the build ended at 96
    assert ids(129.0) == ["late"]  # only the window's (from 99)


def test_a_sweep_after_a_start_from_a_snapshot_learns_nothing_twice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The look-back by record time (the sweep) of a process started from a snapshot meets
    records the snapshot learnt long before its watermark: they are known, not learnt again."""
    from toolwise.learning import feed as feed_module

    monkeypatch.setattr(feed_module, "TAIL_OVERLAP", 0.0)  # the replay itself reads nothing
    clock = _clock()
    stream = [(i % 3, i % 2, float(i % 4 != 0), 100.0 + i) for i in range(20)]
    with Toolwise(tmp_path / "store", clock=clock) as first:
        _play(first, stream)
        feed = first.runtime.feed
        first.runtime.view()
        # As if every record had been learnt a minute before the snapshot (the process
        # then idled): its replay would not meet them, its first sweep does.
        learnt = feed._learnt._learnt_at
        feed._learnt._learnt_at = deque(((t - 60.0, i) for t, i in learnt), maxlen=learnt.maxlen)
        assert feed.write_snapshot() is not None
    with Toolwise(tmp_path / "store", clock=clock) as second:
        second.runtime.view()
        assert second.runtime.feed.restored is not None
        want = _answers(second)
        second.runtime.feed._tail._swept_mono = -math.inf  # a sweep is due
        assert second.runtime.feed.refresh() == 0
        _assert_same(_answers(second), want)


def test_a_snapshot_keeps_the_ids_of_as_long_as_a_replay_or_a_first_sweep_reaches() -> None:
    from toolwise.learning.resume import SNAPSHOT_IDS_WINDOW
    from toolwise.learning.tailing import SWEEP_OVERLAP, TAIL_OVERLAP

    assert SWEEP_OVERLAP.total_seconds() + TAIL_OVERLAP <= SNAPSHOT_IDS_WINDOW
