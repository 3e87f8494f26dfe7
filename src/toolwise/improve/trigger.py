"""Automatic passes: after every N new failures of an agent, run a pass for it.

:meth:`PassTrigger.notify` is called on the record path, so it only counts under a lock; every
``every`` failures it marks the agent due and (``background=True``) starts a named daemon
thread, ``toolwise-improve``, that runs the due passes one after another. With
``background=False`` the due passes wait for :meth:`PassTrigger.run_due`. :meth:`close` stops
scheduling and waits for a running pass.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from toolwise.errors import InvalidArgumentError
from toolwise.improve.models import ImprovementReport
from toolwise.models import ToolOutcome

__all__ = ["PassTrigger"]

log = logging.getLogger("toolwise.improve")


class PassTrigger:
    """Schedules ``run_pass(agent_id)`` every ``every`` failures of that agent.

    Args:
        run_pass: runs one pass for an agent (it serialises passes itself).
        every: failures per pass; ``None`` never schedules one.
        background: run due passes in a daemon thread, or only on :meth:`run_due`.
    """

    def __init__(
        self,
        run_pass: Callable[[str], ImprovementReport],
        *,
        every: int | None,
        background: bool = True,
    ) -> None:
        if every is not None and every < 1:
            raise InvalidArgumentError("every", every, "must be >= 1 (or None)")
        self._run_pass = run_pass
        self._every = every
        self._background = background
        self._lock = threading.Lock()  # counts, the due list, the thread
        self._failures: dict[str, int] = {}
        self._due: list[str] = []
        self._thread: threading.Thread | None = None
        self._closed = False

    def notify(self, outcome: ToolOutcome) -> None:
        """Count a new record; every ``every`` failures of its agent, schedule a pass.

        Cheap and non-blocking (a dict update under a lock): safe on the record path.
        """
        if self._every is None or outcome.outcome != "failure":
            return
        agent = outcome.agent_id
        with self._lock:
            count = self._failures.get(agent, 0) + 1
            if count < self._every:
                self._failures[agent] = count
                return
            self._failures[agent] = 0
            if agent not in self._due:
                self._due.append(agent)
            if self._background and not self._closed and self._thread is None:
                self._thread = threading.Thread(
                    target=self._drain, name="toolwise-improve", daemon=True
                )
                self._thread.start()

    def due(self) -> list[str]:
        """Agents whose failure count reached the threshold and await a pass."""
        with self._lock:
            return list(self._due)

    def run_due(self) -> list[ImprovementReport]:
        """Run the scheduled passes here, in order; ``[]`` when none is due."""
        reports: list[ImprovementReport] = []
        while True:
            with self._lock:
                if not self._due:
                    return reports
                agent = self._due.pop(0)
            reports.append(self._run_pass(agent))

    def _drain(self) -> None:
        while True:
            with self._lock:  # the same lock notify checks: no failure is left waiting
                if not self._due:
                    self._thread = None
                    return
                agent = self._due.pop(0)
            try:
                self._run_pass(agent)
            except Exception as exc:  # a background pass must never take the process down
                log.warning("toolwise.improve: background pass for %r failed: %s", agent, exc)

    def close(self, timeout: float = 10.0) -> bool:
        """Stop scheduling passes and wait up to ``timeout`` s for a running one."""
        with self._lock:
            self._closed = True
            thread = self._thread
        if thread is not None:
            thread.join(timeout)
            return not thread.is_alive()
        return True
