"""One batch into the store: outages retried, refusals set aside, a closing writer obeyed."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from toolwise.errors import StoreError, StoreUnavailableError
from toolwise.models import ToolOutcome
from toolwise.storage.store_writes import GiveUp, StoreWrites


class FlakyStore:
    """Fails its first ``failures`` writes with ``error``, then stores; refuses ``refused``."""

    def __init__(
        self, failures: int = 0, error: Exception | None = None, refused: str = ""
    ) -> None:
        self.failures = failures
        self.error = error or StoreUnavailableError("down")
        self.refused = refused
        self.stored: list[str] = []

    def write(self, outcomes: Sequence[ToolOutcome]) -> None:
        if self.failures:
            self.failures -= 1
            raise self.error
        if any(o.id == self.refused for o in outcomes):
            raise StoreError("cannot store this one")
        self.stored.extend(o.id for o in outcomes)


class Log:
    """What the writer is told: records set aside, failures, and the waits asked for."""

    def __init__(self, give_up_after: int = 1_000) -> None:
        self.set_aside: list[tuple[str, str]] = []
        self.failures: list[str] = []
        self.waits: list[float] = []
        self.give_up_after = give_up_after

    def writes(self, store: FlakyStore) -> StoreWrites:
        return StoreWrites(
            store,  # type: ignore[arg-type]  # only write() is used
            set_aside=lambda outcome, reason: self.set_aside.append((outcome.id, reason)),
            sleep=self.sleep,
            failed=self.failures.append,
            max_backoff=0.01,
        )

    def sleep(self, seconds: float) -> None:
        if len(self.waits) >= self.give_up_after:
            raise GiveUp
        self.waits.append(seconds)


def _batch(n: int) -> list[ToolOutcome]:
    return [ToolOutcome(tool="deploy") for _ in range(n)]


@pytest.mark.parametrize("error", [StoreUnavailableError("down"), ConnectionError("reset")])
def test_an_outage_is_retried_until_the_batch_is_in(error: Exception) -> None:
    """Outages and unknown failures are transient: counted, reported, retried with backoff."""
    store, log = FlakyStore(failures=3, error=error), Log()
    writes = log.writes(store)
    batch = _batch(4)
    writes.write(batch)
    assert store.stored == [o.id for o in batch]
    assert (writes.retried, writes.rejected, len(log.waits)) == (3, 0, 3)
    assert all(type(error).__name__ in failure for failure in log.failures)


def test_a_record_refused_for_good_is_set_aside_and_the_rest_written() -> None:
    batch = _batch(3)
    store, log = FlakyStore(refused=batch[1].id), Log()
    writes = log.writes(store)
    writes.write(batch)
    assert store.stored == [batch[0].id, batch[2].id]
    assert log.set_aside == [(batch[1].id, "cannot store this one")]
    assert (writes.retried, writes.rejected) == (0, 1)
    assert log.failures == ["rejected: cannot store this one"]


def test_a_sleep_that_gives_up_stops_the_retries() -> None:
    """A closing writer out of time stops waiting on a store that stays down."""
    store, log = FlakyStore(failures=1_000), Log(give_up_after=2)
    with pytest.raises(GiveUp):
        log.writes(store).write(_batch(1))
    assert store.stored == []
