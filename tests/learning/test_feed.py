"""The feed: the view is built from the store (again after ``forget``), and a read never
waits for the tail (``learning/feed.py``)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Container
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import pytest
from langchain_core.messages import HumanMessage
from tests.conftest import ChromaServer

from toolwise import Toolwise
from toolwise.advice import Advisor
from toolwise.models import ToolOutcome
from toolwise.storage.chroma import ChromaOutcomeStore
from toolwise.storage.clients import http_client

TOOLS = ["kubectl_apply", "helm_upgrade"]
DEPLOY = [HumanMessage("Deploy the payments api to production")]


def _observations(tw: Toolwise, tool: str = "kubectl_apply") -> float:
    return sum(p.observations for p in tw.priors(tool=tool, task_type="deploy"))


def test_forgetting_rebuilds_the_view_from_what_remains(tw: Toolwise) -> None:
    """After ``forget`` the view is built again, from the records left in the store."""
    tw.record(tool="kubectl_apply", outcome="success", task_type="deploy")
    tw.record(tool="helm_upgrade", outcome="success", task_type="deploy")
    assert _observations(tw) == 1
    tw.forget(tool="helm_upgrade")
    assert _observations(tw, "helm_upgrade") == 0
    assert _observations(tw) == 1


class _StuckTail(ChromaOutcomeStore):
    """A real store whose tail query hangs until released (a frozen server, for reads)."""

    def __init__(self, client: Any, **kwargs: Any) -> None:
        super().__init__(client, **kwargs)
        self.inside = threading.Event()
        self.release = threading.Event()

    def recent(
        self,
        since: float,
        *,
        now: datetime,
        key: Literal["stored_at", "timestamp"] = "stored_at",
        known: Container[str] = frozenset(),
    ) -> list[ToolOutcome]:
        self.inside.set()
        self.release.wait(timeout=60)
        return super().recent(since, now=now, key=key, known=known)


@pytest.mark.server
def test_a_model_turn_never_waits_for_the_tail(
    chroma_server: ChromaServer, tmp_path: Path, prefix: str, eventually: Callable[..., bool]
) -> None:
    """While a look at other writers hangs, recommend and the brief answer from memory."""
    store = _StuckTail(http_client(chroma_server.url), prefix=prefix)
    tw = Toolwise(store=store, spool_dir=tmp_path / "spool", refresh_interval=0.05)
    try:
        tw.record(tool="kubectl_apply", outcome="success", task_type="deploy")
        tw.recommend(task_type="deploy", tools=TOOLS)
        assert eventually(store.inside.is_set)  # the tail thread is stuck in the store
        answered: list[object] = []
        turn = threading.Thread(
            target=lambda: answered.append(
                Advisor(tw.runtime, tools=TOOLS, task_type="deploy").advise(DEPLOY)
            ),
            daemon=True,
        )
        turn.start()
        turn.join(timeout=30)
        answered.append(tw.recommend(task_type="deploy", tools=TOOLS))
        assert len(answered) == 2
    finally:
        store.release.set()
        tw.close()
