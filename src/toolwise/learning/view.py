"""The reliability view: learn from tool outcomes, answer with priors and rankings.

Outcomes update decayed Beta evidence (``aggregates``); nothing scans raw outcomes, so
``recommend`` costs the same after a hundred or a million outcomes. The maths is explained in
``docs/ranking.md``.

Thread safety: one re-entrant lock guards the aggregates. ``observe_outcome`` runs on the hot
path of every tool call and does O(1) work under it. The similarity function (which may compute
embeddings), posterior sampling and scipy's quantiles all run outside that lock.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable, Sequence
from datetime import datetime
from functools import partial
from typing import Any

import numpy as np

from toolwise.errors import InvalidArgumentError
from toolwise.learning import arguments, snapshot
from toolwise.learning.aggregates import Aggregates, ContextKey, Outcome, Read
from toolwise.learning.buckets import bucket_of
from toolwise.learning.config import LearningConfig
from toolwise.learning.models import (
    InfraEvent,
    Objective,
    Recommendation,
    Strategy,
    ToolPrior,
    resolve_objective,
)
from toolwise.learning.pooling import pool
from toolwise.learning.ranker import Ranker, Situation, alternatives, as_datetime
from toolwise.models import NOT_CHARGED, ToolOutcome, utcnow

__all__ = ["Clock", "ReliabilityView", "Similarity"]

logger = logging.getLogger(__name__)

Similarity = Callable[[str, str], float]
"""Similarity in [0, 1] between two task types (the lead backs it with embeddings)."""

Clock = Callable[[], datetime]
"""Returns the current time, timezone-aware UTC; injected so tests run instantly."""

_MAX_ERROR_CHARS = 200
_MAX_SIMILARITY_CACHE = 100_000
_RELEARNT = 20  # outcomes after a change (or a restore) during which it is mentioned


def _error_text(error_type: str, error_message: str) -> str:
    text = ": ".join(part for part in (error_type, error_message) if part)
    return text[:_MAX_ERROR_CHARS]


class ReliabilityView:
    """Learns which tool works from outcomes, and ranks tools for a task.

    Args:
        config: the learning knobs; defaults suit a few tools and a few hundred calls a day.
        similarity: optional similarity in [0, 1] between two task types; lets a new task
            type borrow evidence from similar ones. Called outside the lock and cached; an
            exception is logged and counts as "not similar".
        clock: returns the current UTC time; decay, TTL and time buckets read it when no
            explicit time is given. Defaults to the wall clock.

    Example:
        >>> view = ReliabilityView()
        >>> view.observe("kubectl_deploy", True, context_class="deploy").rate > 0.5
        True
    """

    def __init__(
        self,
        config: LearningConfig | None = None,
        similarity: Similarity | None = None,
        clock: Clock | None = None,
    ) -> None:
        self._config = config if config is not None else LearningConfig()
        self._similarity = similarity
        self._clock: Clock = clock if clock is not None else utcnow
        self._zone = self._config.zone
        self._pooled = self._config.share_environments
        self._lock = threading.RLock()
        self._state = Aggregates(self._config)
        self._ranker = Ranker(self._config)
        self._rng = np.random.default_rng()
        self._rng_lock = threading.Lock()
        self._similar_lock = threading.Lock()
        self._similarity_cache: dict[tuple[str, str], float] = {}

    # ------------------------------------------------------------------ recording

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

    def observe(
        self,
        tool: str,
        success: bool | float,
        *,
        agent_id: str = "default",
        context_class: str = "",
        environment: str = "",
        weight: float = 1.0,
        timestamp: datetime | None = None,
        latency_ms: float | None = None,
        cost: float | None = None,
    ) -> ToolPrior:
        """Record one Bernoulli (or fractional) outcome and return the updated prior.

        The lightweight twin of :meth:`observe_outcome` for callers without a full record
        (parity with a tool-priors API); both share one recording path. Thread-safe.

        Args:
            tool: the tool's name.
            success: ``True``/``False``, or a quality in [0, 1] (a partial success).
            agent_id: whose experience this is; agents never share evidence.
            context_class: the task type the tool was used for (``""`` if uncategorised).
            environment: where it ran; kept apart unless ``share_environments``.
            weight: how many observations this outcome is worth; 0 records only its latency
                and cost, not an observation.
            timestamp: when it happened (UTC; naive is taken as UTC); defaults to the clock.
            latency_ms: how long it took; ``None`` or ``nan`` when unknown, ``inf`` if never.
            cost: what it cost, in the caller's unit; ``None`` or ``nan`` when unknown.

        Returns:
            The prior for ``(agent_id, tool, context_class, environment)`` after the update.

        Raises:
            InvalidArgumentError: naming ``tool``, ``agent_id``, ``success``, ``weight``,
                ``latency_ms`` or ``cost`` when it is out of range.
        """
        self._record(
            agent_id=arguments.name("agent_id", agent_id),
            tool=arguments.name("tool", tool),
            context=context_class,
            environment=environment,
            quality=arguments.quality_of(success),
            weight=arguments.non_negative("weight", weight),
            moment=arguments.aware(timestamp) if timestamp is not None else self._clock(),
            latency_ms=arguments.optional_measure("latency_ms", latency_ms),
            cost=arguments.optional_measure("cost", cost),
            error="",
            expires_at=None,
        )
        key = (agent_id, tool, context_class, self._env(environment))
        return self._build_priors([(key, "")])[0]

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

    # ------------------------------------------------------------------ reading

    def priors(
        self,
        *,
        agent_id: str | None = "default",
        tool: str | None = None,
        context_class: str | None = None,
        environment: str | None = None,
        time_bucket: str | None = "",
        limit: int | None = None,
        now: datetime | None = None,
    ) -> list[ToolPrior]:
        """The learnt priors in scope, sorted by agent, tool, context, environment, bucket.

        Args:
            agent_id: whose priors (``None``: every agent's).
            tool: only this tool.
            context_class: only this task type (``""`` is the uncategorised one).
            environment: only this environment.
            time_bucket: ``""`` (default) lists un-bucketed priors, a label such as
                ``"fri-afternoon"`` only that bucket's, ``None`` both.
            limit: at most this many.
            now: evaluate at this time (TTL, time buckets, an opt-in half-life); default the
                clock.

        Raises:
            InvalidArgumentError: naming ``limit`` when it is negative.
        """
        if limit is not None and (isinstance(limit, bool) or limit < 0):
            raise InvalidArgumentError("limit", limit, "must be a non-negative integer or None")
        wanted = (
            agent_id,
            tool,
            context_class,
            None if environment is None else self._env(environment),
        )

        def matches(key: ContextKey, bucket: str) -> bool:
            return all(w is None or w == k for w, k in zip(wanted, key, strict=True)) and (
                time_bucket is None or time_bucket == bucket
            )

        with self._lock:
            keys = [
                (key, bucket)
                for bucketed in (False, True)
                for key, bucket in self._state.keys(bucketed=bucketed)
                if matches(key, bucket)
            ]
        keys.sort()
        if now is not None and not isinstance(now, datetime):
            raise InvalidArgumentError("as_of", now, "must be a datetime")
        moment = arguments.aware(now) if now is not None else None
        return self._build_priors(keys[:limit] if limit is not None else keys, moment)

    def recommend(
        self,
        *,
        task_type: str,
        tools: Sequence[str],
        agent_id: str = "default",
        environment: str | None = None,
        objective: Objective = "balanced",
        strategy: Strategy = "thompson",
        seed: int | None = None,
        now: datetime | None = None,
    ) -> list[Recommendation]:
        """Rank ``tools`` for a task, best first; never empty, never raises on cold start.

        Unknown tools are welcome: with no evidence they get wide posteriors and are explored.
        Thread-safe; p50 well under a millisecond for ten tools whatever the history size.

        Args:
            task_type: the task's type (the context key); ``""`` if uncategorised.
            tools: candidate tool names (duplicates are dropped, order breaks ties).
            agent_id: whose experience to use.
            environment: where the tools will run; ``None`` (default): every environment the
                agent has evidence in, pooled with shrinkage (``learning/pooling.py``); each
                recommendation's ``environments`` says whose evidence it used.
            objective: ``"balanced"`` (0.7 success, 0.3 speed), ``"latency"`` (0.4 / 0.6),
                ``"cost"`` (0.5 / 0.1 / 0.4), or explicit weights.
            strategy: ``"thompson"`` (default), ``"ucb"``, ``"epsilon_greedy"`` or
                ``"greedy"``; see ``toolwise.learning.strategies``.
            seed: makes the ranking reproducible; ``None`` uses the view's own generator.
            now: the decision time (decay, time bucket, outage alert); defaults to the clock.

        Returns:
            One recommendation per distinct tool, ranked.

        Raises:
            InvalidArgumentError: naming ``tools``, ``objective``, ``strategy``,
                ``task_type`` or ``seed``.
        """
        names = arguments.tool_names(tools)
        weights = resolve_objective(objective)
        strategy = arguments.strategy_of(strategy)
        seed = arguments.seed_of(seed)
        if not isinstance(task_type, str):
            raise InvalidArgumentError("task_type", task_type, "must be a string")
        moment = arguments.aware(now) if now is not None else self._clock()
        at = moment.timestamp()
        bucket = bucket_of(moment, self._config.time_buckets, self._zone)
        similar = self._similar(agent_id, task_type)
        with self._lock:
            state = self._state
            state.expire(at)
            envs = self._environments(agent_id) if environment is None else (environment,)
            situations = []
            for name in names:
                env_reads = []
                for each in envs:
                    env = self._env(each)
                    peers = state.scope_mass(agent_id, task_type, env, at)
                    key = (agent_id, name, task_type, env)
                    read = state.read(key, bucket, now=at, similar=similar, peers=peers)
                    env_reads.append((each, read))
                pooled = pool(env_reads)
                situations.append(
                    Situation(
                        pooled.read,
                        _recent_change(pooled.read),
                        _recent_restore(pooled.read),
                        observations=pooled.observations,
                        environments=pooled.environments,
                    )
                )
            alert = next((a for a in (state.alert(agent_id, e, at) for e in envs) if a), None)
            # Ranked under the lock: the ranker reads the evidence's latency and cost
            # reservoirs, which a concurrent observe mutates (microseconds for ten tools).
            rank = partial(
                self._ranker.rank, names, situations, weights, strategy, alert=alert,
                pooled=environment is None,
            )  # fmt: skip
            if seed is not None:
                return rank(np.random.default_rng(seed))
            with self._rng_lock:  # numpy generators are not thread-safe
                return rank(self._rng)

    def infra_events(self, agent_id: str | None = None) -> list[InfraEvent]:
        """Infrastructure events (several tools failing together), oldest first.

        Args:
            agent_id: only this agent's events; ``None`` for all.
        """
        now = self._clock().timestamp()
        with self._lock:
            return self._state.events(agent_id, now)

    def known_task_types(self, agent_id: str) -> list[str]:
        """The non-empty task types the agent has evidence for, sorted."""
        with self._lock:
            return sorted(t for t in self._state.task_types_of(agent_id) if t)

    @property
    def last_seen(self) -> datetime | None:
        """Timestamp of the newest outcome observed (to refresh from other writers)."""
        with self._lock:
            return as_datetime(self._state.last_seen)

    @property
    def config(self) -> LearningConfig:
        """The configuration this view was built with."""
        return self._config

    def stats(self) -> dict[str, Any]:
        """Sizes and counters, for debugging and metrics."""
        with self._lock:
            sizes: dict[str, Any] = self._state.sizes()
            sizes["last_seen"] = as_datetime(self._state.last_seen)
            counts = self._state.counters()
        with self._similar_lock:
            sizes["similarity_cache"] = len(self._similarity_cache)
        return sizes | counts

    # ------------------------------------------------------------------ internals

    def _env(self, environment: str) -> str:
        return "" if self._config.share_environments else environment

    def _environments(self, agent_id: str) -> tuple[str, ...]:
        """The environments the agent has evidence in (``("",)`` when none); call locked."""
        if self._pooled:
            return ("",)
        found = sorted({env for agent, _, env in self._state.overall if agent == agent_id})
        return tuple(found) or ("",)

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

    def _similar(self, agent_id: str, task_type: str) -> list[tuple[str, float]]:
        """The most similar known task types above the threshold (similarity called unlocked)."""
        config = self._config
        if self._similarity is None or not task_type or config.max_similar == 0:
            return []
        with self._lock:
            others = [t for t in self._state.task_types_of(agent_id) if t and t != task_type]
        with self._similar_lock:
            missing = [t for t in others if (task_type, t) not in self._similarity_cache]
        computed = {other: self._similarity_of(task_type, other) for other in missing}
        with self._similar_lock:
            cache = self._similarity_cache
            if len(cache) + len(computed) > _MAX_SIMILARITY_CACHE:
                cache.clear()
            cache.update({(task_type, other): value for other, value in computed.items()})
            scored = [(other, cache.get((task_type, other), 0.0)) for other in others]
        kept = [(o, s) for o, s in scored if s >= config.similarity_threshold and s > 0.0]
        kept.sort(key=lambda item: (-item[1], item[0]))
        return kept[: config.max_similar]

    def _similarity_of(self, a: str, b: str) -> float:
        similarity = self._similarity
        if similarity is None:
            return 0.0
        try:
            value = float(similarity(a, b))
        except Exception:  # a broken similarity must not break a ranking
            logger.warning("similarity(%r, %r) failed; treating as unrelated", a, b, exc_info=True)
            return 0.0
        return min(max(value, 0.0), 1.0) if math.isfinite(value) else 0.0

    def _build_priors(
        self, keys: Sequence[tuple[ContextKey, str]], moment: datetime | None = None
    ) -> list[ToolPrior]:
        """ToolPriors for ``(context key, bucket)`` pairs, with advice (scipy off the lock)."""
        if not keys:
            return []
        now = (moment or self._clock()).timestamp()
        similar = {(key[0], key[2]): self._similar(key[0], key[2]) for key, _ in keys}
        state = self._state
        with self._lock:
            state.expire(now)
            reads = [
                state.read(key, bucket, now=now, similar=similar[(key[0], key[2])])
                for key, bucket in keys
            ]
            better = alternatives(
                {(k[0], k[2], k[3]) for k, _ in keys},
                state.tools_in,
                lambda key: state.read(key, "", now=now, similar=similar.get((key[0], key[2]), ())),
            )
        return self._ranker.priors(keys, reads, better)


def _recent_change(read: Read) -> float | None:
    """When the key's record was last reset, while it is still re-learning.

    Re-learning lasts until the record holds ``_RELEARNT`` outcomes since the change; a
    record restored after the change (the tool came back) is not re-learning any more.
    """
    own = read.own
    if own is None or not own.changes or own.last_change_at is None:
        return None
    if own.restored_at is not None and own.restored_at >= own.last_change_at:
        return None
    return own.last_change_at if own.current.n < _RELEARNT else None


def _recent_restore(read: Read) -> float | None:
    """When the key's old record was restored, within ``_RELEARNT`` outcomes of it."""
    own = read.own
    if own is None or own.restored_at is None:
        return None
    return own.restored_at if own.charges - own.restored_charges < _RELEARNT else None
