"""Read-your-writes: a failure this process recorded is in the very next brief's recall."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from tests.advice.test_recall_cache import DEPLOY, TOOLS, _fail, _recalled

from toolwise import Toolwise
from toolwise.advice import Advisor
from toolwise.models import ToolOutcome
from toolwise.storage.chroma import ChromaOutcomeStore
from toolwise.storage.clients import ephemeral_client


class GatedStore(ChromaOutcomeStore):
    """A real Chroma store whose writes wait until the gate opens (a slow writer, on demand)."""

    def __init__(self, client: Any, **kwargs: Any) -> None:
        super().__init__(client, **kwargs)
        self.gate = threading.Event()
        self.gate.set()

    def write(self, outcomes: Sequence[ToolOutcome]) -> None:
        self.gate.wait(timeout=60)
        super().write(outcomes)


@pytest.fixture
def gated(tmp_path: Path, prefix: str) -> Iterator[tuple[Toolwise, GatedStore]]:
    store = GatedStore(ephemeral_client(), prefix=prefix)
    tw = Toolwise(store=store, spool_dir=tmp_path / "spool")
    yield tw, store
    store.gate.set()
    tw.close()


def _history(tw: Toolwise) -> None:
    for _ in range(5):
        for tool in TOOLS:
            tw.record(tool=tool, outcome="success", task_type="production_deploy")
    assert tw.flush(timeout=30)


def test_the_next_turn_shows_a_failure_despite_the_reused_recall(tw: Toolwise) -> None:
    """A turn, a failure, the same turn again: the failure is recalled (not the cached none)."""
    _history(tw)
    advisor = Advisor(tw.runtime, tools=TOOLS)
    assert _recalled(advisor.advise(DEPLOY).text) == []  # recall reused for 30 s from here
    _fail(tw, "manifest unknown")
    recalled = _recalled(advisor.advise(DEPLOY).text)
    assert any("argo_sync" in line and "manifest unknown" in line for line in recalled)


def test_a_failure_the_store_has_not_written_is_recalled(
    gated: tuple[Toolwise, GatedStore],
) -> None:
    """While the writer cannot store it yet, the failure comes from this process's memory."""
    tw, store = gated
    _history(tw)
    advisor = Advisor(tw.runtime, tools=TOOLS)
    advisor.advise(DEPLOY)
    store.gate.clear()
    _fail(tw, "manifest unknown")
    recalled = _recalled(advisor.advise(DEPLOY).text)
    assert tw.runtime.counters.pending >= 1  # not stored: it came from memory
    assert any("argo_sync" in line and "manifest unknown" in line for line in recalled)


def test_a_failure_is_recalled_once_when_both_memory_and_store_have_it(
    gated: tuple[Toolwise, GatedStore],
) -> None:
    """Once stored, the same record is not shown twice (merged by id)."""
    tw, store = gated
    _history(tw)
    advisor = Advisor(tw.runtime, tools=TOOLS, recall_ttl=0)
    store.gate.clear()
    _fail(tw, "manifest unknown")
    unstored = _recalled(advisor.advise(DEPLOY).text)
    store.gate.set()
    assert tw.flush(timeout=30)
    stored = _recalled(advisor.advise(DEPLOY).text)
    assert [line for line in stored if "argo_sync" in line] == [
        line for line in unstored if "argo_sync" in line
    ]
    assert not any("(x2)" in line for line in stored)


def test_a_forgotten_unstored_failure_is_not_recalled(
    gated: tuple[Toolwise, GatedStore],
) -> None:
    """``forget`` also drops failures still on their way to the store."""
    tw, store = gated
    _history(tw)
    advisor = Advisor(tw.runtime, tools=TOOLS, recall_ttl=0)
    store.gate.clear()
    _fail(tw, "manifest unknown")
    assert tw.runtime.local_failures("default").unstored
    store.gate.set()
    tw.forget(tool="argo_sync")
    assert not tw.runtime.local_failures("default").unstored
    assert not any("argo_sync" in line for line in _recalled(advisor.advise(DEPLOY).text))
