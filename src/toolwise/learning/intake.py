"""Observation intake: the view's aggregates behind its lock, and the one path that charges them.

Every observation — a judged tool call (``observe_outcome``, on the hot path of every call) or a
priors-API observation (``observe``) — is reduced to one :class:`~.aggregates.Outcome` and
charged under the lock in O(1). :class:`~toolwise.learning.view.ReliabilityView` builds on this
class to answer from what was learnt.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime

from toolwise.learning import arguments, snapshot
from toolwise.learning.aggregates import Aggregates, Outcome
from toolwise.learning.config import LearningConfig
from toolwise.models import NOT_CHARGED, ToolOutcome, utcnow

__all__ = ["Clock", "ObservationIntake"]

Clock = Callable[[], datetime]
"""Returns the current time, timezone-aware UTC; injected so tests run instantly."""

_MAX_ERROR_CHARS = 200


def _error_text(error_type: str, error_message: str) -> str:
    text = ": ".join(part for part in (error_type, error_message) if part)
    return text[:_MAX_ERROR_CHARS]


class ObservationIntake:
    """Learns from outcomes into decayed Beta evidence (``aggregates``); thread-safe.

    One re-entrant lock guards the aggregates; subclasses read them under it.

    Args:
        config: the learning knobs; defaults suit a few tools and a few hundred calls a day.
        clock: returns the current UTC time; decay, TTL and time buckets read it when no
            explicit time is given. Defaults to the wall clock.
    """

    def __init__(self, config: LearningConfig | None = None, clock: Clock | None = None) -> None:
        self._config = config if config is not None else LearningConfig()
        self._clock: Clock = clock if clock is not None else utcnow
        self._pooled = self._config.share_environments
        self._lock = threading.RLock()
        self._state = Aggregates(self._config)

    @property
    def config(self) -> LearningConfig:
        """The configuration this view was built with."""
        return self._config

    def observe_outcome(self, outcome: ToolOutcome) -> None:
        """Learn from one judged tool call; cheap enough for every call's hot path.

        ``refused`` (a human declined) and ``invalid_arguments`` (the model's bad arguments)
        outcomes are ignored: they say nothing about the tool; a partial counts as a fractional
        success of its ``effective_quality``; an outcome already past ``expires_at`` is
        ignored and one with a TTL stops counting when it lapses. Thread-safe.
        """
        kind = outcome.outcome
        if kind in NOT_CHARGED:  # refused, invalid_arguments: not the tool's doing
            with self._lock:
                self._state.note(f"ignored_{kind}")
            return
        quality = outcome.effective_quality
        environment = outcome.environment
        expires_at = outcome.expires_at
        # Built inline rather than through _record's keywords: this runs on every tool call.
        self._apply(
            Outcome(
                outcome.agent_id,
                outcome.tool,
                outcome.task_type,
                environment,
                "" if self._pooled else environment,
                quality,
                1.0 - quality,
                outcome.timestamp.timestamp(),
                outcome.latency_ms,
                outcome.cost,
                "" if kind == "success" else _error_text(outcome.error_type, outcome.error_message),
                None if expires_at is None else expires_at.timestamp(),
            )
        )

    def seed_prior(
        self,
        tool: str,
        rate: float,
        strength: float = 5.0,
        *,
        agent_id: str = "default",
        task_type: str | None = None,
        environment: str | None = None,
    ) -> None:
        """Give a tool a starting belief (from a human or an LLM) before any evidence.

        The seed adds ``rate * strength`` pseudo-successes and ``(1 - rate) * strength``
        pseudo-failures; it never decays, so evidence outweighs it after a few calls. The
        most specific seed applies: task type and environment, then task type, then
        environment, then the tool alone. Seeding the same scope again replaces the seed.

        Raises:
            InvalidArgumentError: naming ``tool``, ``agent_id``, ``rate`` (outside [0, 1]) or
                ``strength`` (negative or not finite).
        """
        arguments.name("tool", tool)
        arguments.name("agent_id", agent_id)
        p = arguments.unit_interval("rate", rate)
        n = arguments.non_negative("strength", strength)
        # Records are learnt under their stored labels (cut, redacted): a seed keyed by the
        # label as given never applied to a long or secret-looking task type, and kept the
        # secret in the learnt state (and its snapshots).
        task_type = self._as_stored(task_type)
        environment = self._as_stored(environment)
        env = None if environment is None else self._env(environment)
        with self._lock:
            self._state.seed((agent_id, tool, task_type, env), (p * n, (1.0 - p) * n))

    def forget(self, agent_id: str, tool: str | None = None) -> None:
        """Drop what was learnt about an agent, or about one of its tools (tool retirement).

        Evidence, seeds and pending outage bookkeeping go; recorded infrastructure events stay
        unless the whole agent is forgotten.
        """
        with self._lock:
            self._state.forget(agent_id, tool)

    def export_state(self) -> bytes:
        """The learnt state as snapshot bytes (``learning.snapshot``), taken under the lock."""
        with self._lock:
            return snapshot.dump_state(self._state)

    def restore_state(self, blob: bytes) -> None:
        """Replace the learnt state by a snapshot's (``SnapshotError`` if it is not valid)."""
        state = snapshot.load_state(blob, self._config)
        with self._lock:
            self._state = state

    def _as_stored(self, label: str | None) -> str | None:
        """A queried label in the form records are learnt under (the view maps it)."""
        return label

    def _env(self, environment: str) -> str:
        return "" if self._config.share_environments else environment

    def _record(
        self,
        *,
        agent_id: str,
        tool: str,
        context: str,
        environment: str,
        quality: float,
        weight: float,
        moment: datetime,
        latency_ms: float | None,
        cost: float | None,
        error: str,
        expires_at: datetime | None,
    ) -> None:
        """The recording path of ``observe``: validated arguments to an :class:`Outcome`."""
        self._apply(
            Outcome(
                agent_id=agent_id,
                tool=tool,
                context=context,
                environment=environment,
                env=self._env(environment),
                successes=weight * quality,
                failures=weight * (1.0 - quality),
                t=moment.timestamp(),
                latency_ms=latency_ms,
                cost=cost,
                error=error,
                expires=None if expires_at is None else expires_at.timestamp(),
            )
        )

    def _apply(self, outcome: Outcome) -> None:
        """The one recording path behind ``observe_outcome`` and ``observe``."""
        if outcome.expires is None:
            with self._lock:
                self._state.record(outcome)
            return
        now = self._clock().timestamp()
        with self._lock:
            if outcome.expires <= now:
                self._state.note("ignored_expired")
                return
            self._state.expire(now)
            self._state.record(outcome)
