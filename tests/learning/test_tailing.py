"""The tail: processes sharing one ``chroma run`` server see each other's records within
seconds (``learning/tailing.py``).

Each test polls with a generous timeout for what the tail thread does "soon" (default: every
second); none asserts how fast.
"""

from __future__ import annotations

import logging
import subprocess
import sys
import textwrap
import threading
from collections.abc import Callable, Container
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal

import pytest
from langchain_core.messages import HumanMessage
from tests.conftest import ChromaServer, Peers

from toolwise import Toolwise
from toolwise.learning.learnt import LearntIds
from toolwise.learning.readiness import Readiness
from toolwise.learning.tailing import TAIL_OVERLAP, Tail
from toolwise.models import ToolOutcome
from toolwise.storage.chroma import ChromaOutcomeStore
from toolwise.storage.clients import http_client

TOOLS = ["kubectl_apply", "helm_upgrade"]
DEPLOY = [HumanMessage("Deploy the payments api to production")]


def _observations(tw: Toolwise, tool: str, task_type: str = "deploy") -> float:
    priors = tw.priors(tool=tool, task_type=task_type)
    return sum(p.observations for p in priors)


@pytest.mark.server
def test_a_peer_record_reaches_priors_and_recommend(
    peer: Peers, eventually: Callable[..., bool]
) -> None:
    """B, already running, learns A's records without a restart: priors and ranking."""
    a, b = peer("a"), peer("b")
    assert b.recommend(task_type="deploy", tools=TOOLS)  # B's view is built: now it tails
    for _ in range(8):
        a.record(tool="kubectl_apply", outcome="success", task_type="deploy")
        a.record(tool="helm_upgrade", outcome="failure", task_type="deploy")
    assert a.flush(timeout=30)
    assert eventually(lambda: _observations(b, "helm_upgrade") == 8)
    assert eventually(lambda: _observations(b, "kubectl_apply") == 8)
    ranking = b.recommend(task_type="deploy", tools=TOOLS, strategy="greedy")
    assert ranking[0].tool == "kubectl_apply"


@pytest.mark.server
def test_each_peer_record_is_learnt_once(peer: Peers, eventually: Callable[..., bool]) -> None:
    """Looks overlap; ids are not counted twice, and a process's own records not again."""
    a, b = peer("a"), peer("b")
    b.recommend(task_type="deploy", tools=TOOLS)
    for _ in range(5):
        a.record(tool="kubectl_apply", outcome="success", task_type="deploy")
        b.record(tool="kubectl_apply", outcome="success", task_type="deploy")
    assert a.flush(timeout=30)
    assert b.flush(timeout=30)
    assert eventually(lambda: _observations(b, "kubectl_apply") == 10)
    for _ in range(5):  # several more looks, each overlapping the last
        b.runtime.feed.refresh()
    assert _observations(b, "kubectl_apply") == 10


@pytest.mark.server
def test_a_record_from_another_process_is_learnt(
    peer: Peers,
    chroma_server: ChromaServer,
    prefix: str,
    tmp_path: Path,
    eventually: Callable[..., bool],
) -> None:
    """A separate Python process records; this one's priors see it while running."""
    b = peer("b")
    b.recommend(task_type="deploy", tools=TOOLS)
    spool = str(tmp_path / "child")
    script = textwrap.dedent(
        f"""
        from toolwise import Toolwise
        tw = Toolwise(url={chroma_server.url!r}, prefix={prefix!r}, spool_dir={spool!r})
        for _ in range(3):
            tw.record(tool="argo_sync", outcome="success", task_type="deploy")
        assert tw.flush(timeout=60)
        tw.close()
        """
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=120)
    assert eventually(lambda: _observations(b, "argo_sync") == 3)


@pytest.mark.server
def test_a_record_stored_late_is_still_tailed(
    peer: Peers, chroma_server: ChromaServer, prefix: str, eventually: Callable[..., bool]
) -> None:
    """A record made long ago (spooled through an outage) is tailed by when it was stored."""
    a, b = peer("a"), peer("b")
    b.recommend(task_type="deploy", tools=TOOLS)
    a.record(
        tool="kubectl_apply",
        outcome="success",
        task_type="deploy",
        timestamp=b.runtime.clock() - timedelta(hours=1),  # sweeps look back 2 minutes
    )
    assert a.flush(timeout=30)
    assert eventually(lambda: _observations(b, "kubectl_apply") == 1)


@pytest.mark.server
def test_rows_without_a_store_time_are_read(
    peer: Peers, chroma_server: ChromaServer, prefix: str, eventually: Callable[..., bool]
) -> None:
    """Rows written before store times existed: a new process reads them, a running one finds
    them by record time (its sweep)."""
    a = peer("a")
    a.record(tool="kubectl_apply", outcome="success", task_type="deploy")
    assert a.flush(timeout=30)
    legacy = ChromaOutcomeStore(http_client(chroma_server.url), prefix=prefix)
    collection = legacy._collection("default")
    rows = collection.get(include=["metadatas", "embeddings"])
    stripped = [{k: v for k, v in m.items() if k != "stored_at"} for m in rows["metadatas"]]
    collection.delete(ids=rows["ids"])  # an upsert would keep the old keys
    collection.add(ids=rows["ids"], embeddings=rows["embeddings"], metadatas=stripped)
    assert "stored_at" not in collection.get(include=["metadatas"])["metadatas"][0]
    assert _observations(peer("fresh"), "kubectl_apply") == 1
    found = legacy.recent(0.0, now=a.runtime.clock(), key="timestamp")
    assert [o.tool for o in found] == ["kubectl_apply"]
    assert legacy.recent(0.0, now=a.runtime.clock()) == []  # no store time: not tailed


class _TailingStore:
    """A store that can tail: answers each look with ``rows`` (less the known ids), or fails."""

    def __init__(self, rows: list[ToolOutcome], *, down: bool = False) -> None:
        self.rows, self.down = rows, down
        self.asked: list[float] = []

    def recent(
        self,
        since: float,
        *,
        now: datetime,
        key: Literal["stored_at", "timestamp"] = "stored_at",
        known: Container[str] = frozenset(),
    ) -> list[ToolOutcome]:
        if self.down:
            raise OSError("connection refused")
        self.asked.append(since)
        return [row for row in self.rows if row.id not in known]


def _tail(store: _TailingStore, learnt: LearntIds, learnt_rows: list[ToolOutcome]) -> Tail:
    def learn_once(outcome: ToolOutcome) -> bool:
        fresh = learnt.add(outcome.id)
        if fresh:
            learnt_rows.append(outcome)
        return fresh

    return Tail(
        store,  # type: ignore[arg-type]  # only the tailing half of a store is used
        lambda: datetime(2026, 1, 5, tzinfo=UTC),
        Readiness(store),
        learnt,
        learn_once,
        refresh=lambda: 0,
        interval=None,
        closed=threading.Event(),
    )


def test_a_look_starts_before_the_build_and_skips_known_ids() -> None:
    """After a build, the first look asks from its watermark less the overlap; rows already
    learnt are left out by the store, the rest learnt once."""
    rows = [ToolOutcome(tool="kubectl_apply", outcome="success") for _ in range(3)]
    store, learnt, learnt_rows = _TailingStore(rows), LearntIds(), []
    learnt.add(rows[0].id)
    tail = _tail(store, learnt, learnt_rows)
    tail.restart(1_000.0, datetime(2026, 1, 5, tzinfo=UTC))
    assert tail.catch_up() == 2
    assert store.asked == [1_000.0 - TAIL_OVERLAP]
    assert learnt_rows == rows[1:]
    assert tail.catch_up() == 0  # everything is known now


def test_a_look_at_a_store_that_is_down_learns_nothing_and_warns_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The failure is served from memory: no exception, one warning per outage."""
    store, learnt_rows = _TailingStore([], down=True), []
    tail = _tail(store, LearntIds(), learnt_rows)
    tail.restart(1_000.0, datetime(2026, 1, 5, tzinfo=UTC))
    with caplog.at_level(logging.WARNING, logger="toolwise.learning"):
        assert tail.catch_up() == 0
        assert tail.catch_up() == 0
    assert len([r for r in caplog.records if r.name == "toolwise.learning"]) == 1
    assert learnt_rows == []


def test_without_an_interval_there_is_no_thread_to_start() -> None:
    """One embedded process is the only writer of its store: the feed never starts a tail."""
    assert _tail(_TailingStore([]), LearntIds(), []).started
