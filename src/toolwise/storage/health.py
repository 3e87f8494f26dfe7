"""Store timeouts and the circuit breaker that keeps an unavailable store off the hot path.

Chroma's HTTP client waits forever on a frozen server (its httpx client has no timeout), and
a refused connection costs a round of retries on every call. toolwise therefore bounds every
store call itself (:class:`StoreTimeouts`) and remembers an outage (:class:`Breaker`): after
one call cannot connect, or times out while the store answers no heartbeat either (frozen or
gone, not merely busy), the store is *unhealthy*, every call fails at once with
:class:`~toolwise.errors.StoreUnavailableError` (no network wait), and a background thread
probes the store with a heartbeat until it answers again. Recording is unaffected (records
wait in the spool); the brief is served from the in-memory view without recall.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from pydantic import Field, model_validator

from toolwise.errors import InvalidArgumentError
from toolwise.models import BoundaryModel

__all__ = ["Breaker", "StoreHealth", "StoreTimeouts", "store_is_down"]

log = logging.getLogger("toolwise.storage")


class StoreTimeouts(BoundaryModel):
    """How long toolwise waits for the outcome store, in seconds.

    Attributes:
        connect: to open a connection to a ``chroma run`` server, and for a heartbeat to
            answer (about a millisecond, busy or not). A call past its deadline asks for one:
            a store that answers within ``connect`` is busy, one that does not is frozen or
            gone and opens the breaker. A health probe gets ``connect + read`` (it may have
            to make the client).
        read: for one round trip — a page read, a batch written, a collection opened. A call
            still unanswered then is given up if the store does not answer a heartbeat either
            (frozen, or gone); if it does, the store is busy and the call may go on, asked
            about again every ``read``, ...
        max_read: ... up to this long, recall's queries too (a page of 30,000 rows or a batch
            of 5,000 takes a few seconds, many more on a loaded machine): a call unanswered
            this long opens the breaker even while heartbeats answer (a store that is alive
            but no longer answers queries). Several calls late at once are not given as
            long: see :attr:`stall`.
        recall: how long a brief waits for the recall of past failures before a model turn
            (about 5–10 ms when the store is well): a slow store costs a turn at most this
            much. The query goes on and recall keeps its answer for the turns after; missing
            this is an outage only if the store then misses a heartbeat too (a frozen server
            is found within ``recall + connect``).
        probe_interval: while the store is unhealthy, how often a heartbeat checks it.

    Embedded stores have no connection to time out, but a call can still be slow (a disk that
    hangs, a long scan holding a lock): the caller stops waiting at the same deadlines and the
    call finishes, unwatched, in the background.
    """

    connect: float = Field(default=2.0, gt=0.0, allow_inf_nan=False)
    read: float = Field(default=5.0, gt=0.0, allow_inf_nan=False)
    max_read: float = Field(default=120.0, gt=0.0, allow_inf_nan=False)
    recall: float = Field(default=0.5, gt=0.0, allow_inf_nan=False)
    probe_interval: float = Field(default=1.0, gt=0.0, allow_inf_nan=False)

    @model_validator(mode="after")
    def _max_read_covers_read(self) -> StoreTimeouts:
        if self.max_read < self.read:
            raise InvalidArgumentError("max_read", self.max_read, "must be >= read")
        return self

    @property
    def stall(self) -> float:
        """Seconds a store may answer none of its calls while several are late before it
        counts as stuck (its heartbeat answers, its calls hang): three ``read`` s, capped at
        ``max_read``. A late call is asked about every ``read``, so the store has missed
        three rounds, each a round trip's whole allowance, with nothing answered; one late
        call alone is still given ``max_read`` (a big page or batch)."""
        return min(3 * self.read, self.max_read)


@dataclass(frozen=True, slots=True)
class StoreHealth:
    """Whether the store answers, since when, and the last error seen (``""`` if none).

    ``healthy`` is False from the first call that could not reach the store, or that timed
    out while the store answered no heartbeat either, until a health probe succeeds;
    meanwhile store calls raise :class:`~toolwise.errors.StoreUnavailableError` without
    waiting. ``failed_at`` is when the last call or probe failed (``None`` if none has): while
    the store is down it moves with every failed probe, so a readiness check can say how fresh
    the bad news is. ``slow_calls`` counts the calls that missed their deadline while the store
    still answered heartbeats (busy, not down: they opened nothing), since the store was
    opened.
    """

    healthy: bool
    since: datetime
    last_error: str = ""
    failed_at: datetime | None = None
    slow_calls: int = 0

    @property
    def state(self) -> Literal["healthy", "unhealthy"]:
        return "healthy" if self.healthy else "unhealthy"


class Breaker:
    """Opens on the first outage, fails calls fast while open, probes in the background.

    What counts as an outage is the guard's to say (:class:`~toolwise.storage.guard.StoreGuard`):
    a call that could not reach the store, or one past its deadline when the store does not
    answer a heartbeat either; a slow call on a store that answers is only counted
    (:meth:`slow`).

    Args:
        probe: checks the store once (raises when it does not answer); run by the probe
            thread, which must bound it itself.
        probe_interval: seconds between probes while open.
        clock: wall clock for :attr:`StoreHealth.since`.

    Thread-safe. :attr:`healthy` is a plain attribute read, so checking it costs nothing on
    the hot path.
    """

    def __init__(
        self,
        probe: Callable[[], object],
        *,
        probe_interval: float,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._probe = probe
        self._interval = probe_interval
        self._clock = clock
        self.healthy = True
        self._since = clock()
        self._last_error = ""
        self._failed_at: datetime | None = None
        self._slow_calls = 0
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._listeners: list[Callable[[StoreHealth], object]] = []
        self._prober: threading.Thread | None = None
        self._closed = False

    @property
    def health(self) -> StoreHealth:
        with self._lock:
            return StoreHealth(
                self.healthy, self._since, self._last_error, self._failed_at, self._slow_calls
            )

    def slow(self) -> None:
        """A call missed its deadline but the store answered a heartbeat: busy, not down.
        Counted (:attr:`StoreHealth.slow_calls`); the breaker stays as it is."""
        with self._lock:
            self._slow_calls += 1

    def on_change(self, listener: Callable[[StoreHealth], object]) -> None:
        """Call ``listener(health)`` (from a background thread) whenever health changes."""
        with self._lock:
            self._listeners.append(listener)

    def trip(self, error: str) -> None:
        """An outage was seen: open (if closed) and make sure a probe thread runs."""
        with self._lock:
            self._last_error = error
            self._failed_at = self._clock()
            opened = self.healthy
            if opened:
                self.healthy = False
                self._since = self._clock()
            if self._prober is None:
                self._closed = False  # a store used again after close() is probed again
                self._prober = threading.Thread(
                    target=self._probe_until_healthy, name="toolwise-store-probe", daemon=True
                )
                self._prober.start()
        if opened:
            log.warning("toolwise: the outcome store is unavailable (%s); probing it", error)
            self._notify()

    def close(self) -> None:
        """Stop probing (the store is closing); a later outage starts it again."""
        with self._lock:
            self._closed = True
            self._changed.notify_all()

    def after_fork(self) -> None:
        """In a forked child: fresh locks, no probe thread (it did not survive the fork)."""
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._prober = None
        self.healthy, self._since = True, self._clock()

    def _probe_until_healthy(self) -> None:
        while True:
            try:
                self._probe()
            except Exception as exc:
                with self._lock:
                    self._last_error = f"{type(exc).__name__}: {exc}"
                    self._failed_at = self._clock()
                    if not self._closed:
                        self._changed.wait(self._interval)
                    if self._closed:
                        self._prober = None
                        return
                continue
            with self._lock:
                self.healthy = True
                self._since = self._clock()
                self._prober = None
                self._changed.notify_all()
            log.warning("toolwise: the outcome store answers again")
            self._notify()
            return

    def _notify(self) -> None:
        health = self.health
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener(health)
            except Exception as exc:  # a listener must not stop the probe
                log.warning("toolwise: a store-health listener failed: %s", exc)


def store_is_down(store: object) -> bool:
    """True while ``store`` says it is unhealthy; no call is made to find out (a store with no
    breaker never says so)."""
    health = getattr(store, "health", None)
    return health is not None and not getattr(health, "healthy", True)
