"""Whether the learnt view can be read, and how the feed rides out an outcome store outage.

The feed's build moves ``"empty"`` → ``"loading"`` → ``"ready"``, or ``"failed"`` when the store
could not be read; a failed build is tried again only once the store answers (a store with
``health`` and ``on_health_change``, :class:`~toolwise.storage.ChromaOutcomeStore`, says so) or,
for a store that does not report its health, :data:`RETRY_AFTER` seconds later — meanwhile
reads raise :class:`~toolwise.errors.StoreUnavailableError` at once. While the store says it is
down, the feed makes no store call to find out, and one warning is logged per outage, not per
read.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Literal

from toolwise.errors import StoreUnavailableError
from toolwise.storage.health import store_is_down

__all__ = ["RETRY_AFTER", "FeedState", "Readiness"]

log = logging.getLogger("toolwise.learning")

RETRY_AFTER = 5.0
"""Seconds before a failed build (or refresh) is tried again when the store cannot say it is
back; a store with a breaker is retried as soon as it answers."""

FeedState = Literal["empty", "loading", "ready", "failed"]


class Readiness:
    """The feed's build state, why the last build failed, and the store's health as it says it.

    Not thread-safe: the feed changes the state under its lock; reading :attr:`state` needs
    none (the hot path reads it on every record).

    Args:
        store: the outcome store; followed through ``on_health_change`` when it has one.
        monotonic: seconds of a monotonic clock (injected in tests).
    """

    def __init__(self, store: object, *, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.state: FeedState = "empty"  # empty -> loading -> ready | failed -> loading
        self._store = store
        self._monotonic = monotonic
        self._failure = ""  # why the last build failed
        self._failed_at = 0.0  # monotonic
        self._store_back = False  # the store answered again since the build failed
        self._seen_down = False  # the store said it was down since the build failed
        self._outage_warned = False  # one warning per outage, not per read
        watch = getattr(store, "on_health_change", None)
        if callable(watch):
            watch(self._on_store_health)

    @property
    def failure(self) -> str:
        """Why the last build failed (``""`` unless :attr:`state` is ``"failed"``)."""
        return self._failure if self.state == "failed" else ""

    def loading(self) -> None:
        """A build began."""
        self.state = "loading"

    def ready(self) -> None:
        """A build ended: the view can be read."""
        self.state = "ready"
        self._failure = ""

    def reset(self) -> None:
        """The view was dropped: the next read builds it."""
        self.state = "empty"
        self._failure = ""

    def failed(self, exc: BaseException) -> None:
        """The build under way failed with ``exc`` (no change unless one was under way)."""
        if self.state == "loading":
            self.state = "failed"
            self._failure = str(exc) or type(exc).__name__
            self._failed_at = self._monotonic()
            self._store_back = False
            self._seen_down = self.store_down()

    def check_due(self) -> None:
        """Raise unless a build may be tried now (always, unless the last one failed).

        Raises:
            StoreUnavailableError: the build failed before and is not due again yet.
        """
        if self.state == "failed" and not self._retry_due():
            raise StoreUnavailableError(
                f"the learnt view could not be built ({self._failure}); "
                "it is built again once the store answers"
            )

    def store_down(self) -> bool:
        """True while the store says it is unhealthy (no call is made to find out)."""
        return store_is_down(self._store)

    def answered(self) -> None:
        """A build or refresh read the store: the next outage gets its warning again."""
        if self._outage_warned:
            self._outage_warned = False
            log.info("toolwise: the learnt view reads the outcome store again")

    def warn_outage(self, what: str, exc: BaseException | str) -> None:
        """Reading the store for ``what`` failed: warn once per outage, then only debug."""
        if self._outage_warned:
            log.debug("toolwise: %s failed again: %s", what, exc)
            return
        self._outage_warned = True
        log.warning(
            "toolwise: %s failed: %s; the learnt view serves what it knows and catches up "
            "when the store answers (no retry per read)",
            what,
            exc,
        )

    def _retry_due(self) -> bool:
        if self.store_down():
            self._seen_down = True
            return False
        # Down since the failure and up now: back, even before its breaker's notice reaches
        # us (the breaker publishes "healthy" first, then tells its listeners).
        return (
            self._store_back
            or self._seen_down
            or self._monotonic() - self._failed_at >= RETRY_AFTER
        )

    def _on_store_health(self, health: object) -> None:
        """The store's breaker changed state (called from its probe thread)."""
        if getattr(health, "healthy", False):
            self._store_back = True
