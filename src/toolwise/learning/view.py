"""The reliability view: answers from what was learnt — rankings, priors, outage events.

Learning itself is :class:`~toolwise.learning.intake.ObservationIntake`'s (the aggregates
behind one re-entrant lock); this class adds the reads. Outcomes update decayed Beta evidence
(``aggregates``); nothing scans raw outcomes, so ``recommend`` costs the same after a hundred or
a million outcomes. The maths is explained in ``docs/ranking.md``.

Thread safety: the similarity function (which may compute embeddings, ``similar``), posterior
sampling and scipy's quantiles run outside the lock; a ranking reads the evidence's latency and
cost reservoirs, so it runs under it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from datetime import datetime
from functools import partial
from typing import Any

import numpy as np

from toolwise.errors import InvalidArgumentError
from toolwise.learning import arguments
from toolwise.learning.aggregates import ContextKey, Read
from toolwise.learning.buckets import bucket_of
from toolwise.learning.config import LearningConfig
from toolwise.learning.intake import Clock, ObservationIntake
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
from toolwise.learning.similar import Similarity, SimilarTasks

__all__ = ["Clock", "ReliabilityView", "Similarity"]

_RELEARNT = 20  # outcomes after a change (or a restore) during which it is mentioned


class ReliabilityView(ObservationIntake):
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
        labels: Callable[[str], str] | None = None,
    ) -> None:
        super().__init__(config, clock)
        # Records are learnt under the labels the record builder stored (cut, redacted):
        # a query names a label as given, so it is put in the same form first.
        self._stored_label: Callable[[str], str] = labels or str
        self._zone = self._config.zone
        self._similar_tasks = SimilarTasks(similarity, self._config)
        self._ranker = Ranker(self._config)
        self._rng = np.random.default_rng()
        self._rng_lock = threading.Lock()

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
        context_class = self._as_stored(context_class)
        environment = self._as_stored(environment)
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
        task_type = self._stored_label(task_type)
        environment = self._as_stored(environment)
        moment = arguments.aware(now) if now is not None else self._clock()
        at = moment.timestamp()
        bucket = bucket_of(moment, self._config.time_buckets, self._zone)
        similar = self._similar(agent_id, task_type)
        with self._lock:
            state = self._state
            state.expire(at)
            envs = self._environments(agent_id) if environment is None else (environment,)
            # Per environment, the same for every candidate: the task type's summed evidence
            # and what its similar task types lend.
            scopes = {
                each: (
                    state.scope_mass(agent_id, task_type, self._env(each), at),
                    state.reader.lenders(
                        agent_id, task_type, self._env(each), similar, tools=names, now=at
                    ),
                )
                for each in envs
            }
            situations = []
            for name in names:
                env_reads = []
                for each in envs:
                    peers, lenders = scopes[each]
                    key = (agent_id, name, task_type, self._env(each))
                    read = state.read(key, bucket, now=at, lenders=lenders, peers=peers)
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

    def stats(self) -> dict[str, Any]:
        """Sizes and counters, for debugging and metrics."""
        with self._lock:
            sizes: dict[str, Any] = self._state.sizes()
            sizes["last_seen"] = as_datetime(self._state.last_seen)
            counts = self._state.counters()
        sizes["similarity_cache"] = len(self._similar_tasks)
        return sizes | counts

    # ------------------------------------------------------------------ internals

    def stored_label(self, label: str) -> str:
        """``label`` (a task type, an environment) in the form records are learnt and stored
        under: cut when long, its secrets redacted."""
        return self._stored_label(label)

    def _as_stored(self, label: str | None) -> str | None:
        """A queried label in the form records are learnt under (``None``: any)."""
        return self._stored_label(label) if isinstance(label, str) else label

    def _environments(self, agent_id: str) -> tuple[str, ...]:
        """The environments the agent has evidence in (``("",)`` when none); call locked."""
        if self._pooled:
            return ("",)
        return tuple(self._state.environments_of(agent_id)) or ("",)

    def _similar(self, agent_id: str, task_type: str) -> list[tuple[str, float]]:
        """The most similar known task types above the threshold (similarity called unlocked)."""
        if not self._similar_tasks.wanted(task_type):
            return []
        with self._lock:
            others = [t for t in self._state.task_types_of(agent_id) if t and t != task_type]
        return self._similar_tasks.among(task_type, others)

    def _build_priors(
        self, keys: Sequence[tuple[ContextKey, str]], moment: datetime | None = None
    ) -> list[ToolPrior]:
        """ToolPriors for ``(context key, bucket)`` pairs, with advice (scipy off the lock)."""
        if not keys:
            return []
        now = (moment or self._clock()).timestamp()
        similar = {(key[0], key[2]): self._similar(key[0], key[2]) for key, _ in keys}
        state = self._state
        # What similar task types lend, once per scope for every tool read in it (the keys'
        # tools, and the others ``alternatives`` reads).
        asked: dict[tuple[str, str, str], set[str]] = {}
        for (agent_id, tool, context, env), _ in keys:
            asked.setdefault((agent_id, context, env), set()).add(tool)
        lent: dict[tuple[str, str, str], list[tuple[str, float]]] = {}

        def read(key: ContextKey, bucket: str) -> Read:
            agent_id, _, context, env = key
            scope = (agent_id, context, env)
            lenders = lent.get(scope)
            if lenders is None:
                lenders = lent[scope] = state.reader.lenders(
                    agent_id,
                    context,
                    env,
                    similar.get((agent_id, context), ()),
                    tools=asked[scope] | state.tools_in(*scope),
                    now=now,
                )
            return state.read(key, bucket, now=now, lenders=lenders)

        with self._lock:
            state.expire(now)
            reads = [read(key, bucket) for key, bucket in keys]
            better = alternatives(
                {(k[0], k[2], k[3]) for k, _ in keys}, state.tools_in, lambda key: read(key, "")
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
