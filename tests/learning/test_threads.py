"""Thread safety: outcomes observed from many threads are all counted, exactly once."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest

from toolwise.learning import ReliabilityView
from toolwise.models import ToolOutcome

MOMENT = datetime(2025, 1, 6, tzinfo=UTC)
THREADS = 8
PER_THREAD = 1_000


def _hammer(view: ReliabilityView, barrier: threading.Barrier, n: int) -> None:
    barrier.wait()
    for i in range(PER_THREAD):
        view.observe_outcome(
            ToolOutcome(tool="search", outcome="success", timestamp=MOMENT, latency_ms=float(i))
        )
        view.observe_outcome(
            ToolOutcome(tool="scrape", agent_id="other", outcome="failure", timestamp=MOMENT)
        )
        if i % 100 == n:
            view.recommend(task_type="", tools=["search", "scrape"], seed=i)


def test_eight_threads_observing_concurrently_lose_nothing() -> None:
    """8 threads × 1,000 outcomes per key give exact counts and masses."""
    view = ReliabilityView(clock=lambda: MOMENT)
    barrier = threading.Barrier(THREADS)
    workers = [
        threading.Thread(target=_hammer, args=(view, barrier, n), name=f"observer-{n}")
        for n in range(THREADS)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    (search,) = view.priors()
    (scrape,) = view.priors(agent_id="other")
    total = THREADS * PER_THREAD
    assert (search.observations, scrape.observations) == (total, total)
    assert search.successes == pytest.approx(total)
    assert scrape.failures == pytest.approx(total)
    assert view.stats()["observed"] == 2 * total
