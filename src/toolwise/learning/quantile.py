"""The one place the read path gets Beta quantiles: our own at first, scipy's once it loaded.

Importing ``scipy.special`` costs a fresh process 0.2–0.4 s, a third of the 1 s cold-start
budget (issue 12). So the first call starts a daemon thread that imports it, and the first
decision's calls (a ``recommend`` makes 5) use :mod:`toolwise.learning.incbeta` meanwhile,
which agrees with scipy to 1e-9. Later calls wait for that thread rather than race it, so a
second decision right after start-up may wait out the rest of the import; a wait gives up
after 60 s and keeps using our own. A process that already imported scipy uses it at once.

``fork()``: a child must not inherit a half-done import (its module locks belong to a thread
the child does not have, so the next import there would hang). A fork waits for the loader
first (within the same 60 s); a child whose parent's import was still unfinished then uses
our own quantile for good, and one that forked before the import began starts its own.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from toolwise.learning import incbeta

__all__ = ["QuantileSource", "betaincinv", "load_scipy_now"]

log = logging.getLogger("toolwise.learning")

Quantile = Callable[[ArrayLike, ArrayLike, ArrayLike], Any]

WAIT_SECONDS = 60.0  # the longest any call (or a fork) waits for the import
UNWAITED_CALLS = 8  # calls that never wait: one decision's (recommend makes 5), with room


def _import_scipy() -> Quantile:
    from scipy.special import betaincinv as scipy_betaincinv

    quantile: Quantile = scipy_betaincinv  # type: ignore[assignment]  # an overloaded ufunc
    return quantile


def _already_imported() -> Quantile | None:
    special = sys.modules.get("scipy.special")
    found = getattr(special, "betaincinv", None)
    return found if callable(found) else None


class QuantileSource:
    """Chooses, per call, between scipy's quantile and ours while scipy loads in the background.

    Thread-safe. Args are for tests: ``load`` imports and returns scipy's function (it may
    raise: then ours is used for good), ``loaded`` returns it if it is already imported,
    ``wait`` bounds any wait in seconds, ``unwaited`` is how many calls may go ahead without
    waiting, ``clock`` is monotonic seconds.
    """

    def __init__(
        self,
        load: Callable[[], Quantile] = _import_scipy,
        *,
        loaded: Callable[[], Quantile | None] = _already_imported,
        wait: float = WAIT_SECONDS,
        unwaited: int = UNWAITED_CALLS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._load, self._loaded, self._clock = load, loaded, clock
        self._wait, self._unwaited = wait, unwaited
        self._lock = threading.Lock()
        self._reset()

    def _reset(self) -> None:
        self._scipy: Quantile | None = None
        self._loader: threading.Thread | None = None
        self._deadline = 0.0
        self._calls = 0
        self._gave_up = False  # no call waits any more (timed out, failed, or forked midway)

    @property
    def using_scipy(self) -> bool:
        """True once calls go to scipy."""
        return self._scipy is not None

    def function(self) -> Quantile:
        """The quantile function for this call (may wait for the import; see the module)."""
        with self._lock:
            if self._scipy is None and self._loader is None and not self._gave_up:
                self._start()
            self._calls += 1
            loader = self._loader
            if (
                self._scipy is not None
                or self._gave_up
                or loader is None
                or self._calls <= self._unwaited
            ):
                return self._scipy or incbeta.betaincinv
        loader.join(max(0.0, self._deadline - self._clock()))
        with self._lock:
            if self._scipy is None and not self._gave_up:
                self._gave_up = True
                log.warning(
                    "toolwise: scipy did not load in %.0f s; Beta quantiles use toolwise's own",
                    self._wait,
                )
            return self._scipy or incbeta.betaincinv

    def load_now(self) -> None:
        """Start the import if no call has, and wait for it (within the deadline)."""
        with self._lock:
            if self._scipy is None and self._loader is None and not self._gave_up:
                self._start()
            loader = self._loader
        if loader is not None:
            loader.join(max(0.0, self._deadline - self._clock()))

    def _start(self) -> None:
        """Use scipy if it is already imported, else import it on a thread (lock held)."""
        self._scipy = self._loaded()
        if self._scipy is not None:
            return
        self._deadline = self._clock() + self._wait
        self._loader = threading.Thread(target=self._run, name="toolwise-scipy-import", daemon=True)
        self._loader.start()

    def _run(self) -> None:
        try:
            loaded: Quantile | None = self._load()
        except Exception as exc:  # an install without a working scipy still decides
            log.warning("toolwise: importing scipy failed (%s); Beta quantiles use our own", exc)
            loaded = None
        with self._lock:
            self._scipy = loaded
            self._gave_up |= loaded is None

    def before_fork(self) -> None:
        """Let a running import finish (within the deadline) so no child inherits half of it."""
        loader = self._loader
        if loader is not None and loader.is_alive():
            loader.join(max(0.0, self._deadline - self._clock()))

    def after_fork_in_child(self) -> None:
        """Fresh state for the child; ours for good if the parent's import was unfinished."""
        unfinished = self._loader is not None and self._scipy is None
        scipy, gave_up = self._scipy, self._gave_up
        self._lock = threading.Lock()  # another parent thread may have held it at the fork
        self._reset()
        self._scipy, self._gave_up = scipy, gave_up or unfinished


_SOURCE = QuantileSource()
os.register_at_fork(before=_SOURCE.before_fork, after_in_child=_SOURCE.after_fork_in_child)


def betaincinv(a: ArrayLike, b: ArrayLike, p: ArrayLike) -> np.ndarray[Any, np.dtype[np.float64]]:
    """The ``p``-quantile of Beta(a, b), broadcast: scipy's when loaded, else ours (1e-9)."""
    return np.asarray(_SOURCE.function()(a, b, p), dtype=np.float64)


def load_scipy_now() -> None:
    """Import scipy's quantile now and wait for it (up to 60 s): for a server's start-up,
    so no request shares the interpreter with the import. Ours stays in use if it fails."""
    _SOURCE.load_now()
