"""The derived view's state: every aggregate, and the one path that charges an outcome.

Aggregates are keyed by (agent, tool, task type, environment), by (agent, tool, environment)
for the tool's overall record, and — with time buckets — by (agent, tool, task type,
environment, bucket). Recording an outcome consults the outage monitor, charges each level,
schedules TTL expiry and runs the change detector; reading assembles a shrunk posterior from
the levels. Nothing here scans raw outcomes.

Not thread-safe: :class:`~toolwise.learning.view.ReliabilityView` holds its lock around every
call.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Final, NamedTuple

from toolwise.learning.changepoint import can_fire, find_change
from toolwise.learning.config import LearningConfig
from toolwise.learning.evidence import Evidence, Part
from toolwise.learning.infra import InfraMonitor, Verdict
from toolwise.learning.shrinkage import Mass, Posterior, combine
from toolwise.learning.ttl import TtlLedger, slot_of

__all__ = ["Aggregates", "ContextKey", "Outcome", "Read"]

ContextKey = tuple[str, str, str, str]
"""(agent, tool, task type, environment)."""

_OverallKey = tuple[str, str, str]  # agent, tool, environment
_BucketKey = tuple[str, str, str, str, str]  # agent, tool, task type, environment, bucket
_SeedKey = tuple[str, str, str | None, str | None]  # agent, tool, task type?, environment?
_ZERO: Final[Mass] = (0.0, 0.0)


class Outcome(NamedTuple):
    """One outcome, already validated and reduced to what the aggregates need.

    ``environment`` is the real one (outages are per environment); ``env`` the key part
    (empty when environments are pooled). Times are POSIX seconds. A named tuple, not a
    frozen dataclass: it is built on the hot path, where that is three times cheaper.
    """

    agent_id: str
    tool: str
    context: str
    environment: str
    env: str
    bucket: str
    successes: float
    failures: float
    t: float
    latency_ms: float | None
    cost: float | None
    error: str
    expires: float | None

    @property
    def failed(self) -> bool:
        """Whether it counts as a failure (quality below one half, with some weight)."""
        return self.failures > self.successes


@dataclass(frozen=True, slots=True)
class Read:
    """A key's posterior with the evidence objects it came from."""

    posterior: Posterior
    own: Evidence | None
    context: Evidence | None
    overall: Evidence | None

    @property
    def observations(self) -> int:
        """Raw outcomes behind the estimate since the key's last detected change."""
        return self.own.current.n if self.own is not None else 0

    @property
    def stats_source(self) -> Evidence | None:
        """Where latency and cost come from: the context, else the tool overall."""
        if self.context is not None and self.context.latencies:
            return self.context
        return self.overall if self.overall is not None else self.context


class Aggregates:
    """All decayed evidence, seeds, TTL schedule and outage state of one view.

    Args:
        config: the learning configuration (decay, change detection, outages, shrinkage).
    """

    def __init__(self, config: LearningConfig) -> None:
        self._config = config
        self._rate = config.decay_rate
        self._base: Mass = (config.prior_alpha, config.prior_beta)
        self.contexts: dict[ContextKey, Evidence] = {}
        self.overall: dict[_OverallKey, Evidence] = {}
        self.buckets: dict[_BucketKey, Evidence] = {}
        self.seeds: dict[_SeedKey, Mass] = {}
        self.task_types: dict[str, Counter[str]] = {}
        self.scope_tools: dict[tuple[str, str, str], set[str]] = {}
        self.ttl = TtlLedger(self._rate)
        self.infra = InfraMonitor(
            window=config.infra_window.total_seconds(),
            min_tools=config.infra_min_tools,
            share=config.infra_share,
            delta=config.infra_delta,
            max_events=config.max_infra_events,
        )
        self.counts: Counter[str] = Counter()
        self.last_seen: float | None = None

    # ------------------------------------------------------------------ writing

    def record(self, outcome: Outcome) -> None:
        """Charge one outcome to every level, unless it belongs to an outage."""
        t = outcome.t
        if self.last_seen is None or t > self.last_seen:
            self.last_seen = t
        failed = outcome.failed
        verdict, reverted = self.infra.judge(
            outcome.agent_id,
            outcome.environment,
            outcome.tool,
            t,
            failed=failed,
            failure_rate=lambda: self.failure_rate(outcome.agent_id, outcome.env, t),
        )
        for parts in reverted:
            for part in parts:
                self._revert(part)
        if reverted:
            self.counts["reverted_by_infra"] += len(reverted)
        context = self._context(outcome.agent_id, outcome.tool, outcome.context, outcome.env)
        overall_key = (outcome.agent_id, outcome.tool, outcome.env)
        overall = self.overall.get(overall_key)
        if overall is None:
            overall = self.overall[overall_key] = self._new_evidence(with_samples=True)
        context.note(outcome.latency_ms, outcome.cost, outcome.error)
        overall.note(outcome.latency_ms, outcome.cost, outcome.error)
        if verdict is Verdict.ABSORB:
            self.counts["absorbed_by_infra"] += 1
            return
        self.counts["observed"] += 1
        if outcome.successes + outcome.failures <= 0.0:
            return  # a zero-weight outcome only contributes its latency, cost and error
        slot = None if outcome.expires is None else slot_of(outcome.expires, t)
        parts = [self._charge(context, outcome, slot), self._charge(overall, outcome, slot)]
        if outcome.bucket:
            key = (outcome.agent_id, outcome.tool, outcome.context, outcome.env, outcome.bucket)
            bucket = self.buckets.get(key)
            if bucket is None:
                bucket = self.buckets[key] = self._new_evidence(with_samples=False)
            parts.append(self._charge(bucket, outcome, slot))
        if failed:
            self.infra.remember(outcome.agent_id, outcome.environment, outcome.tool, t, parts)

    def seed(self, key: _SeedKey, pseudo: Mass) -> None:
        """Set (or replace) a seeded prior for a scope."""
        self.seeds[key] = pseudo

    def expire(self, now: float) -> None:
        """Take back every charge whose TTL has lapsed by ``now``."""
        lapsed = self.ttl.expire(now)
        if lapsed:
            self.counts["expired"] += lapsed

    def forget(self, agent_id: str, tool: str | None) -> None:
        """Drop the aggregates and seeds of an agent, or of one of its tools."""

        def doomed(key: tuple[str | None, ...]) -> bool:
            return key[0] == agent_id and (tool is None or key[1] == tool)

        self.contexts = {k: v for k, v in self.contexts.items() if not doomed(k)}
        self.overall = {k: v for k, v in self.overall.items() if not doomed(k)}
        self.buckets = {k: v for k, v in self.buckets.items() if not doomed(k)}
        self.seeds = {k: v for k, v in self.seeds.items() if not doomed(k)}
        types = Counter(key[2] for key in self.contexts if key[0] == agent_id)
        if types:
            self.task_types[agent_id] = types
        else:
            self.task_types.pop(agent_id, None)
        for scope in [scope for scope in self.scope_tools if scope[0] == agent_id]:
            tools = self.scope_tools[scope]
            tools.difference_update(tools if tool is None else {tool})
            if not tools:
                del self.scope_tools[scope]
        self.infra.forget(agent_id, tool)

    # ------------------------------------------------------------------ reading

    def read(
        self, key: ContextKey, bucket: str, *, now: float, similar: Sequence[tuple[str, float]]
    ) -> Read:
        """Assemble one key's posterior from the hierarchy (see ``shrinkage``)."""
        agent_id, tool, context, env = key
        rate = self._rate
        overall = self.overall.get((agent_id, tool, env))
        context_ev = self.contexts.get(key)
        similar_s = similar_f = 0.0
        for other, weight in similar:
            found = self.contexts.get((agent_id, tool, other, env))
            if found is not None:
                s, f = found.mass(now, rate)
                similar_s += weight * s
                similar_f += weight * f
        own = context_ev
        bucket_mass: Mass | None = None
        if bucket:
            own = self.buckets.get((agent_id, tool, context, env, bucket))
            bucket_mass = own.mass(now, rate) if own is not None else _ZERO
        posterior = combine(
            base=self._base,
            seed=self._seed_for(key),
            overall=overall.mass(now, rate) if overall is not None else _ZERO,
            context=context_ev.mass(now, rate) if context_ev is not None else _ZERO,
            similar=(similar_s, similar_f),
            bucket=bucket_mass,
            shrinkage_strength=self._config.shrinkage_strength,
            similarity_strength=self._config.similarity_strength,
        )
        return Read(posterior, own, context_ev, overall)

    def failure_rate(self, agent_id: str, env: str, now: float) -> float:
        """The agent's usual failure rate in an environment, over all its tools (smoothed)."""
        successes = failures = 0.0
        for (agent, _, environment), evidence in self.overall.items():
            if agent == agent_id and environment == env:
                s, f = evidence.mass(now, self._rate)
                successes += s
                failures += f
        alpha0, beta0 = self._base
        return (failures + beta0) / (successes + failures + alpha0 + beta0)

    def keys(self, *, bucketed: bool) -> Iterator[tuple[ContextKey, str]]:
        """Every ``(context key, bucket)`` pair with evidence; bucket ``""`` when un-bucketed."""
        if bucketed:
            yield from (((k[0], k[1], k[2], k[3]), k[4]) for k in self.buckets)
        else:
            yield from ((key, "") for key in self.contexts)

    # ------------------------------------------------------------------ internals

    def _new_evidence(self, *, with_samples: bool) -> Evidence:
        # Time-bucketed keys keep no latency samples: they borrow their context's.
        reservoir = self._config.latency_reservoir if with_samples else 0
        return Evidence(self._config.change_window, reservoir)

    def _context(self, agent_id: str, tool: str, context: str, env: str) -> Evidence:
        key = (agent_id, tool, context, env)
        evidence = self.contexts.get(key)
        if evidence is None:
            evidence = self.contexts[key] = self._new_evidence(with_samples=True)
            self.task_types.setdefault(agent_id, Counter())[context] += 1
            self.scope_tools.setdefault((agent_id, context, env), set()).add(tool)
        return evidence

    def _charge(self, evidence: Evidence, outcome: Outcome, slot: int | None) -> Part:
        """Charge one aggregate, then look for a change point the new outcome completes."""
        successes, failures, t = outcome.successes, outcome.failures, outcome.t
        part = evidence.charge(successes, failures, t, self._rate)
        if slot is not None:
            self.ttl.attach(part, slot)
        weight = successes + failures
        if weight <= 0.0:
            return part
        segment = evidence.current  # just charged at t, so its masses are valued at t already
        mass = (segment.successes, segment.failures)
        alpha0, beta0 = self._base
        reference = (mass[0] + alpha0) / (mass[0] + mass[1] + alpha0 + beta0)
        quality = successes / weight
        if quality == reference:
            return part
        upward = quality > reference
        delta = self._config.change_delta
        window_mass = (evidence.window_successes, evidence.window_failures)
        if not can_fire(mass, window_mass, upward=upward, delta=delta, prior=self._base):
            return part
        keep = find_change(
            evidence.window,
            evidence.current,
            t,
            self._rate,
            upward=upward,
            delta=delta,
            min_evidence=self._config.change_min_evidence,
            prior=self._base,
            lapsed=self.ttl.lapsed,
        )
        if keep:
            kept = list(evidence.window)[-keep:]
            kept_slots = [self.ttl.detach(p) for p in kept]
            evidence.restart(keep, t, self._rate, downward=not upward)
            for p, kept_slot in zip(kept, kept_slots, strict=True):
                self.ttl.reattach(p, kept_slot)
            self.counts["changes_detected"] += 1
        return part

    def _revert(self, part: Part) -> None:
        counted = not self.ttl.lapsed(part)
        self.ttl.detach(part)
        part.evidence.revert(part, self._rate, counted=counted)

    def _seed_for(self, key: ContextKey) -> Mass:
        if not self.seeds:
            return _ZERO
        agent_id, tool, context, env = key
        for scope in ((context, env), (context, None), (None, env), (None, None)):
            found = self.seeds.get((agent_id, tool, *scope))
            if found is not None:
                return found
        return _ZERO
