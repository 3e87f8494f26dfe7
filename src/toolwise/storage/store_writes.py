"""Writing one batch to the store: outages retried with backoff, refusals set aside.

The background writer (:mod:`toolwise.storage.writer`) decides *when* to write; this decides
*how* a batch gets in. Transient failures — an outage
(:class:`~toolwise.errors.StoreUnavailableError`) or any exception that is not a
:class:`~toolwise.errors.ToolwiseError` — are retried with tenacity's jittered exponential
backoff, each attempt counted and logged, never raised into a tool call. Any other
``ToolwiseError`` is the store refusing for good (an agent id it cannot map, an embedding
mismatch): retrying would block every later record, so the batch is written record by record
and each refused one is set aside (the spool keeps it in ``rejected.jsonl``) and logged at
ERROR — never silently lost.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from tenacity import RetryCallState, Retrying, retry_if_exception, wait_exponential_jitter

from toolwise.errors import StoreUnavailableError, ToolwiseError
from toolwise.models import ToolOutcome

if TYPE_CHECKING:
    from toolwise.storage.protocol import OutcomeStore

__all__ = ["GiveUp", "StoreWrites"]

log = logging.getLogger("toolwise.writer")


class GiveUp(Exception):  # noqa: N818 - a signal to stop, not an error to report
    """Raised by the retry sleep to stop retrying (the writer is closing, out of time)."""


def _transient(error: BaseException) -> bool:
    """Retry outages and unknown failures; not what the store refuses for good."""
    return isinstance(error, StoreUnavailableError) or not isinstance(error, ToolwiseError)


class StoreWrites:
    """Gets batches into a store; for one writer thread.

    Args:
        store: where records go; ``write`` must be idempotent by record id.
        set_aside: keeps (and reports) a record the store refused for good, with the reason.
        sleep: waits between attempts; raises :class:`GiveUp` to stop retrying.
        failed: told the text of every failure (the writer's ``last_error``).
        max_backoff: ceiling of the wait between attempts, in seconds.
    """

    def __init__(
        self,
        store: OutcomeStore,
        *,
        set_aside: Callable[[ToolOutcome, str], None],
        sleep: Callable[[float], None],
        failed: Callable[[str], None],
        max_backoff: float,
    ) -> None:
        self._store = store
        self._set_aside = set_aside
        self._sleep = sleep
        self._failed = failed
        self._max_backoff = max_backoff
        self.retried = 0  # failed attempts that were retried
        self.rejected = 0  # records the store refused for good

    def write(self, batch: list[ToolOutcome]) -> None:
        """Write ``batch``, retrying transient failures; set aside records refused for good.

        Raises:
            GiveUp: the sleep gave up (the batch may be partly written; replays upsert).
        """
        try:
            self._retrying(self._store.write, batch)
        except ToolwiseError:
            for outcome in batch:
                try:
                    self._retrying(self._store.write, [outcome])
                except ToolwiseError as exc:
                    self._reject(outcome, exc)

    def _reject(self, outcome: ToolOutcome, error: ToolwiseError) -> None:
        self.rejected += 1
        self._failed(f"rejected: {error}")
        self._set_aside(outcome, str(error))

    def _retrying(
        self, write: Callable[[list[ToolOutcome]], None], batch: list[ToolOutcome]
    ) -> None:
        retrying = Retrying(
            retry=retry_if_exception(_transient),
            wait=wait_exponential_jitter(multiplier=0.05, max=self._max_backoff),
            sleep=self._sleep,
            before_sleep=self._count_retry,
            reraise=True,
        )
        retrying(write, batch)

    def _count_retry(self, state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        self.retried += 1
        message = f"store: {type(error).__name__}: {error}"
        self._failed(message)
        retried = self.retried
        level = logging.WARNING if retried in (1, 10, 100) or retried % 1000 == 0 else logging.DEBUG
        log.log(level, "toolwise: store write failed (%s); retry %d", message, retried)
