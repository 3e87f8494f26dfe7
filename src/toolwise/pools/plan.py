"""The order a pool tries its members in, and when it hedges each: read from the learnt view.

Ranking starts from the view's ``recommend`` for the call's agent, task type and environment
(so a pool learns from the same evidence as the brief, and explores the same way). Three rules
are the pool's own, one the strategy's:

* **Least effort until a success.** Members are sorted by expected effort per success (see
  :mod:`toolwise.pools.ordering`): a failure costs the next attempt, so a cheap, fast member
  that fails now and then can rightly go before a slow one that never fails.
* **The strategy explores.** When ``recommend`` puts first a member other than its greedy
  choice (``Recommendation.explored``: a posterior draw, a due re-try of a broken member),
  that member goes first; the rest follow by effort. Effort reads latencies as learnt, so
  without this a member whose record ends in an outage's hangs would never be tried again.
* **Bounded exploration.** A *long shot* is a member put first although, even at its upper
  credible bound of success, its index is worse than the best member's at its mean: evidence
  says it is worse, the strategy tries it to see whether it recovered. At most
  ``max_exploration_share`` of a pool's calls start with a long shot; beyond that the call is
  ordered by posterior means instead.
* **Hedge delays.** A member's hedge delay is its learnt p95 latency once that rests on
  ``min_latency_observations`` calls, else ``hedge_delay``; never below ``min_hedge_delay``.

When the view cannot be read (the store is down and the view was never built), the plan is
the declared order and the cold delays: the agent keeps working, the failure is logged and
counted (``PoolStats.unranked``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from toolwise.learning.models import Recommendation
from toolwise.pools.options import PoolOptions
from toolwise.pools.ordering import by_effort, index
from toolwise.pools.protocols import PoolRuntime, Ranking
from toolwise.recording.context import CallContext

__all__ = ["Plan", "PlanCounts", "Planner"]

log = logging.getLogger("toolwise.pools")


@dataclass(frozen=True, slots=True)
class Plan:
    """One call's order of members and hedge delays (seconds, by member)."""

    order: tuple[str, ...]
    hedge_after: Mapping[str, float] = field(default_factory=dict)
    ranked: bool = True
    long_shot: bool = False
    demoted: bool = False
    recommendations: tuple[Recommendation, ...] = ()


@dataclass(slots=True)
class PlanCounts:
    """How a pool's plans went so far (read under the planner's lock)."""

    planned: int = 0
    long_shots: int = 0
    demoted: int = 0
    unranked: int = 0


class Planner:
    """Plans calls for one pool; thread-safe (the exploration budget is shared state)."""

    def __init__(self, members: Sequence[str], runtime: PoolRuntime, options: PoolOptions) -> None:
        self._members = tuple(members)
        self._runtime = runtime
        self._options = options
        self._lock = threading.Lock()
        self._counts = PlanCounts()

    @property
    def counts(self) -> PlanCounts:
        with self._lock:
            return PlanCounts(**{k: getattr(self._counts, k) for k in PlanCounts.__slots__})

    def plan(self, context: CallContext) -> Plan:
        """The order and hedge delays for a call in ``context``; never raises."""
        try:
            view = self._runtime.view()
            ranked = view.recommend(
                task_type=context.task_type,
                tools=self._members,
                agent_id=context.agent_id,
                environment=context.environment,
                objective=self._options.objective,
                strategy=self._options.strategy,
            )
            delays = self._hedge_delays(view, context) if self._options.hedge else {}
        except Exception as exc:  # the store is down and the view was never built
            log.warning("toolwise: pool members keep their declared order: %s", exc)
            with self._lock:
                self._counts.planned += 1
                self._counts.unranked += 1
            return Plan(self._members, self._cold_delays(), ranked=False)
        return self._bounded(ranked, delays, view.config.latency_ceiling_ms)

    def _bounded(
        self, recommended: list[Recommendation], delays: dict[str, float], ceiling_ms: float
    ) -> Plan:
        """Order by expected effort until a success, within the exploration budget."""
        if self._options.strategy == "greedy":
            # Greedy promises a fixed order: members the evidence cannot tell apart keep the
            # declared one (the view breaks exact ties at random, which suits bandits, not a
            # primary-and-fallback chain that never explores).
            recommended = sorted(recommended, key=lambda r: self._members.index(r.tool))
        ranked = by_effort(recommended, ceiling_ms)
        explorer = recommended[0]
        if explorer.explored and self._options.strategy != "greedy":
            # The strategy's exploration (a Thompson draw, a re-try of a broken member) goes
            # first: the effort sort would undo it when the member's latency on record is
            # stale, e.g. the 3 s hangs of an outage it is no longer called through.
            ranked = [explorer, *(r for r in ranked if r is not explorer)]
        best_mean = min(index(r, r.rate, ceiling_ms) for r in ranked)
        first = ranked[0]
        long_shot = index(first, first.credible_interval[1], ceiling_ms) > best_mean
        with self._lock:
            counts = self._counts
            counts.planned += 1
            within = counts.long_shots + 1 <= self._options.max_exploration_share * counts.planned
            if long_shot and within:
                counts.long_shots += 1
            elif long_shot:
                counts.demoted += 1
        if long_shot and not within:
            ranked = by_effort(ranked, ceiling_ms, mean=True)
        order = tuple(r.tool for r in ranked)
        return Plan(
            order,
            delays,
            long_shot=long_shot and within,
            demoted=long_shot and not within,
            recommendations=tuple(ranked),
        )

    def _hedge_delays(self, view: Ranking, context: CallContext) -> dict[str, float]:
        options = self._options
        delays = self._cold_delays()
        for name in self._members:
            priors = view.priors(
                agent_id=context.agent_id,
                tool=name,
                context_class=context.task_type,
                environment=context.environment,
            )
            learnt = priors[0] if priors else None
            if (
                learnt is not None
                and learnt.p95_latency_ms is not None
                and learnt.observations >= options.min_latency_observations
            ):
                delays[name] = max(options.min_hedge_delay, learnt.p95_latency_ms / 1000.0)
        return delays

    def _cold_delays(self) -> dict[str, float]:
        if not self._options.hedge:
            return {}
        delay = max(self._options.min_hedge_delay, self._options.hedge_delay)
        return dict.fromkeys(self._members, delay)
