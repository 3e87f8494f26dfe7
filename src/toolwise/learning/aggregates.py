"""The derived view's state: every aggregate, and the one path that charges an outcome.

Aggregates are keyed by (agent, tool, task type, environment), by (agent, tool, environment)
for the tool's overall record, and — with time buckets — by (agent, tool, task type,
environment, bucket). Recording an outcome consults the outage monitor, charges each level,
schedules TTL expiry, and hands each charge to the change tracker (``changes``); reading
assembles a shrunk posterior from the levels, borrowing from similar task types as much as
their outcomes say they are alike. Nothing here scans raw outcomes.

Not thread-safe: :class:`~toolwise.learning.view.ReliabilityView` holds its lock around every
call.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Final, NamedTuple

from toolwise.learning.buckets import BucketLabels
from toolwise.learning.changes import ChangeTracker, ContextKey
from toolwise.learning.config import LearningConfig
from toolwise.learning.dispersion import concentration, log_alike
from toolwise.learning.evidence import Evidence, Part
from toolwise.learning.infra import InfraMonitor, Verdict
from toolwise.learning.models import InfraEvent
from toolwise.learning.shrinkage import Levels, Mass, Posterior, combine, minus
from toolwise.learning.ttl import TtlLedger, slot_of

__all__ = ["Aggregates", "ContextKey", "Outcome", "Read"]

_OverallKey = tuple[str, str, str]  # agent, tool, environment
_BucketKey = tuple[str, str, str, str, str]  # agent, tool, task type, environment, bucket
_SeedKey = tuple[str, str, str | None, str | None]  # agent, tool, task type?, environment?
_ZERO: Final[Mass] = (0.0, 0.0)
_MAX_ALIKE_CACHE = 100_000


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
    """A key's posterior with the evidence objects it came from.

    ``retry`` is the Beta ``(alpha, beta)`` of the key's record before a break when a re-try
    is due (see ``recovery``), else ``None``.
    """

    posterior: Posterior
    own: Evidence | None
    context: Evidence | None
    overall: Evidence | None
    retry: Mass | None = None

    @property
    def untried(self) -> bool:
        """No outcome of this tool was ever recorded for the agent in this environment."""
        return self.overall is None

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
        self._mode = config.time_buckets
        self._labels = BucketLabels(config.time_buckets, config.zone)
        self.contexts: dict[ContextKey, Evidence] = {}
        self.overall: dict[_OverallKey, Evidence] = {}
        self.buckets: dict[_BucketKey, Evidence] = {}
        self.seeds: dict[_SeedKey, Mass] = {}
        self.task_types: dict[str, Counter[str]] = {}
        self.scope_tools: dict[tuple[str, str, str], set[str]] = {}
        self.tool_contexts: dict[_OverallKey, list[Evidence]] = {}
        # Learnt shrinkage strength per (agent, tool, environment), with the charge count
        # of the tool's overall record it was computed at (recomputed lazily on read).
        self._spread: dict[_OverallKey, tuple[int, float | None]] = {}
        # Learnt likeness of two task types, with the charge count it was computed at.
        self._alike: dict[tuple[str, str, str, str], tuple[int, float]] = {}
        self.ttl = TtlLedger(self._rate)
        self.infra = InfraMonitor(
            window=config.infra_window.total_seconds() if config.infra_window else None,
            min_tools=config.infra_min_tools,
            share=config.infra_share,
            delta=config.infra_delta,
            max_events=config.max_infra_events,
        )
        self.counts: Counter[str] = Counter()
        self.last_seen: float | None = None
        self.changes = ChangeTracker(config, self.ttl, self.counts, self._scope_calls)

    # ------------------------------------------------------------------ writing

    def record(self, outcome: Outcome) -> None:
        """Charge one outcome to every level, unless it belongs to an outage."""
        t = outcome.t
        if self.last_seen is None or t > self.last_seen:
            self.last_seen = t
        failed = outcome.failed
        key = (outcome.agent_id, outcome.tool, outcome.context, outcome.env)
        context = self.contexts.get(key) or self._context(key)
        chance = self._failure_chance(context, t) if failed else 1.0
        verdict, reverted = self.infra.judge(
            outcome.agent_id, outcome.environment, outcome.tool, t, failed=failed, chance=chance
        )
        for parts in reverted:
            for part in parts:
                self._revert(part)
        if reverted:
            self.counts["reverted_by_infra"] += len(reverted)
        overall_key = (outcome.agent_id, outcome.tool, outcome.env)
        overall = self.overall.get(overall_key)
        if overall is None:
            overall = self.overall[overall_key] = self._new_evidence(with_samples=True, scan=False)
        latency_ms, cost, error = outcome.latency_ms, outcome.cost, outcome.error
        context.note(latency_ms, cost, error)
        overall.note(latency_ms, cost, error)
        if verdict is Verdict.ABSORB:
            self.counts["absorbed_by_infra"] += 1
            if context.recovery is not None:  # a due re-try was spent, whatever the cause
                calls = self._scope_calls(outcome.agent_id, outcome.context, outcome.env)
                context.recovery.postpone(t, calls, self.changes.schedule)
            return
        self.counts["observed"] += 1
        if outcome.successes + outcome.failures <= 0.0:
            return  # a zero-weight outcome only contributes its latency, cost and error
        slot = None if outcome.expires is None else slot_of(outcome.expires, t)
        successes, failures, charge = outcome.successes, outcome.failures, self.changes.charge
        parts = [
            charge(context, successes, failures, t, slot, key, True),
            charge(overall, successes, failures, t, slot, key, False),
        ]
        mode = self._mode
        if mode != "none" and (mode != "auto" or key in self.changes.bucketed):
            bucket_key = (*key, self._labels(t))
            bucket = self.buckets.get(bucket_key)
            if bucket is None:
                bucket = self.buckets[bucket_key] = self._new_evidence(with_samples=False)
            else:
                _refresh(bucket, context)
            parts.append(charge(bucket, successes, failures, t, slot, key, False))
        if failed:
            self.infra.remember(
                outcome.agent_id, outcome.environment, outcome.tool, t, parts, chance=chance
            )

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
        self.tool_contexts = {k: v for k, v in self.tool_contexts.items() if not doomed(k)}
        self._spread = {k: v for k, v in self._spread.items() if not doomed(k)}
        self._alike = {k: v for k, v in self._alike.items() if k[0] != agent_id}
        self.changes.forget(doomed)
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
        self,
        key: ContextKey,
        bucket: str,
        *,
        now: float,
        similar: Sequence[tuple[str, float]],
        peers: Mass | None = None,
    ) -> Read:
        """Assemble one key's posterior from the hierarchy (see ``shrinkage``).

        Args:
            key: agent, tool, task type, environment key part.
            bucket: the time bucket of the decision (``""`` for none); with
                ``time_buckets="auto"`` it is used only if the key was switched to buckets.
            now: POSIX seconds to decay to.
            similar: similar task types and their name similarities (a prior only: each
                lends in proportion to the learnt probability that it ranks tools alike).
            peers: :meth:`scope_mass` of the key's scope, when the caller has it already.
        """
        agent_id, tool, context, env = key
        rate = self._rate
        config = self._config
        overall = self.overall.get((agent_id, tool, env))
        context_ev = self.contexts.get(key)
        context_mass = context_ev.mass(now, rate) if context_ev is not None else _ZERO
        similar_s = similar_f = near_s = near_f = 0.0
        for other, name_similarity in similar:
            found = self.contexts.get((agent_id, tool, other, env))
            if found is not None:
                weight = (
                    self._likeness(
                        agent_id, env, context, other, similarity=name_similarity, now=now
                    )
                    if config.adaptive_shrinkage
                    else name_similarity
                )
                s, f = found.mass(now, rate)
                similar_s += weight * s
                similar_f += weight * f
                near_s += s
                near_f += f
        own = context_ev
        bucket_mass: Mass | None = None
        if bucket and (self._mode != "auto" or key in self.changes.bucketed):
            own = self.buckets.get((agent_id, tool, context, env, bucket))
            if own is not None and context_ev is not None:
                _refresh(own, context_ev)
            bucket_mass = own.mass(now, rate) if own is not None else _ZERO
        overall_mass = overall.mass(now, rate) if overall is not None else _ZERO
        if peers is None:
            peers = self.scope_mass(agent_id, context, env, now)
        strength = config.shrinkage_strength
        if config.adaptive_shrinkage and overall is not None:
            learnt = self._concentration((agent_id, tool, env), overall, now)
            if learnt is not None:
                strength = min(strength, learnt)
        broken = context_ev is not None and context_ev.recovery is not None
        posterior = combine(
            Levels(
                base=self._base,
                # A tool that just broke is no newcomer: its own failures speak, not its peers.
                peer=None if broken else self._peer_base(minus(peers, context_mass)),
                seed=self._seed_for(key),
                elsewhere=minus(minus(overall_mass, context_mass), (near_s, near_f)),
                elsewhere_strength=strength,
                similar=(similar_s, similar_f),
                similarity_strength=config.similarity_strength,
                context=context_mass,
                bucket=bucket_mass,
                bucket_strength=config.bucket_strength,
                adaptive=config.adaptive_shrinkage,
            )
        )
        retry = self.changes.retry(key, own, context_ev, now)
        return Read(posterior, own, context_ev, overall, retry)

    def scope_mass(self, agent_id: str, context: str, env: str, now: float) -> Mass:
        """Summed live evidence of every tool the agent used for a task type in an environment."""
        rate = self._rate
        successes = failures = 0.0
        for tool in self.scope_tools.get((agent_id, context, env), ()):
            evidence = self.contexts.get((agent_id, tool, context, env))
            if evidence is not None:
                s, f = evidence.mass(now, rate)
                successes += s
                failures += f
        return successes, failures

    # ------------------------------------------------------------------ accessors

    def tools_in(self, agent_id: str, context: str, env: str) -> frozenset[str]:
        """The tools with evidence in a task type and environment."""
        return frozenset(self.scope_tools.get((agent_id, context, env), ()))

    def task_types_of(self, agent_id: str) -> list[str]:
        """The task types the agent has evidence for (``""`` included), unsorted."""
        return list(self.task_types.get(agent_id, ()))

    def note(self, counter: str) -> None:
        """Count an event (``ignored_refused``, ``ignored_expired``, ...)."""
        self.counts[counter] += 1

    def counters(self) -> dict[str, int]:
        """A copy of every counter, by name."""
        return {name: self.counts[name] for name in sorted(self.counts)}

    def sizes(self) -> dict[str, Any]:
        """How many aggregates of each kind are held."""
        return {
            "agents": len({key[0] for key in self.overall}),
            "contexts": len(self.contexts),
            "overall": len(self.overall),
            "bucketed": len(self.buckets),
            "seeds": len(self.seeds),
            "ttl_entries": len(self.ttl),
            "infra_events": len(self.infra),
        }

    def alert(self, agent_id: str, environment: str, now: float) -> str | None:
        """The outage alert for recommendations, if any (see ``infra``)."""
        return self.infra.alert(agent_id, environment, now)

    def events(self, agent_id: str | None, now: float) -> list[InfraEvent]:
        """Infrastructure events, oldest first."""
        return self.infra.events(agent_id, now)

    # ------------------------------------------------------------------ internals

    def _likeness(
        self, agent_id: str, env: str, context: str, other: str, *, similarity: float, now: float
    ) -> float:
        """The probability that two task types rank tools alike, learnt from their outcomes.

        Prior odds ``task_prior_weight × similarity`` (the names); each tool both task types
        used multiplies them by the Bayes factor of "one success rate for both" against "a
        rate each" (``dispersion.log_alike``). Cached until either record grows by 5 %.
        """
        tools = self.scope_tools.get((agent_id, context, env), set()) & self.scope_tools.get(
            (agent_id, other, env), set()
        )
        contexts = self.contexts
        pairs = [
            (contexts[(agent_id, tool, context, env)], contexts[(agent_id, tool, other, env)])
            for tool in tools
        ]
        version = sum(a.charges + b.charges for a, b in pairs)
        cache_key = (agent_id, env, context, other)
        cached = self._alike.get(cache_key)
        if cached is not None and version - cached[0] < max(1, cached[0] // 20):
            return cached[1]
        log_odds = math.log(max(self._config.task_prior_weight * similarity, 1e-12))
        for a, b in pairs:
            log_odds += log_alike(a.mass(now, self._rate), b.mass(now, self._rate), self._base)
        likeness = 1.0 / (1.0 + math.exp(-min(max(log_odds, -700.0), 700.0)))
        if len(self._alike) >= _MAX_ALIKE_CACHE:
            self._alike.clear()
        self._alike[cache_key] = (version, likeness)
        return likeness

    def _failure_chance(self, context: Evidence, now: float) -> float:
        """How likely a failure of this tool is here, by its own record (for outage tests).

        The archived record counts too: during an outage the change detector may already have
        reset the first tools to fail, and their live records alone would make the outage
        look like the usual state of affairs. A tool with no record here gets the prior's 1/2.
        """
        s, f = context.mass(now, self._rate)
        a, b = context.archived_mass(now, self._rate)
        alpha0, beta0 = self._base
        return (f + b + beta0) / (s + f + a + b + alpha0 + beta0)

    def keys(self, *, bucketed: bool) -> Iterator[tuple[ContextKey, str]]:
        """Every ``(context key, bucket)`` pair with evidence; bucket ``""`` when un-bucketed."""
        if bucketed:
            yield from (((k[0], k[1], k[2], k[3]), k[4]) for k in self.buckets)
        else:
            yield from ((key, "") for key in self.contexts)

    # ------------------------------------------------------------------ internals

    def _new_evidence(self, *, with_samples: bool, scan: bool = True) -> Evidence:
        # Time-bucketed keys keep no latency samples: they borrow their context's. The slow
        # scan watches task types and buckets (what is ranked), and only without decay.
        reservoir = self._config.latency_reservoir if with_samples else 0
        return Evidence(self._config.change_window, reservoir, scan=scan and not self._rate)

    def _context(self, key: ContextKey) -> Evidence:
        """A task type's record, created (and indexed) the first time the key is seen."""
        evidence = self.contexts.get(key)
        if evidence is None:
            agent_id, tool, context, env = key
            evidence = self.contexts[key] = self._new_evidence(with_samples=True)
            self.task_types.setdefault(agent_id, Counter())[context] += 1
            self.scope_tools.setdefault((agent_id, context, env), set()).add(tool)
            self.tool_contexts.setdefault((agent_id, tool, env), []).append(evidence)
        return evidence

    def _peer_base(self, peers: Mass) -> Mass | None:
        """The base prior, centred on the other tools' pooled rate in the same scope."""
        strength = self._config.peer_prior_strength
        n = peers[0] + peers[1]
        if strength <= 0.0 or n <= 0.0:
            return None
        alpha0, beta0 = self._base
        mean = (peers[0] + alpha0) / (n + alpha0 + beta0)
        return strength * mean, strength * (1.0 - mean)

    def _concentration(self, key: _OverallKey, overall: Evidence, now: float) -> float | None:
        """The tool's learnt shrinkage strength, recomputed once its record grew by ~5 %."""
        version = overall.charges
        cached = self._spread.get(key)
        if cached is not None and version - cached[0] < max(1, cached[0] // 20):
            return cached[1]
        rate = self._rate
        learnt = concentration(e.mass(now, rate) for e in self.tool_contexts.get(key, ()))
        self._spread[key] = (version, learnt)
        return learnt

    def _scope_calls(self, agent_id: str, context: str, env: str) -> int:
        """Calls charged in a task type so far, all tools (only asked for keys that broke)."""
        contexts = self.contexts
        return sum(
            contexts[(agent_id, tool, context, env)].charges
            for tool in self.scope_tools.get((agent_id, context, env), ())
        )

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


def _refresh(bucket: Evidence, context: Evidence) -> None:
    """Start a bucket over when all its evidence predates its task type's last change.

    A bucket departs from its task type on its own evidence; evidence from before the task
    type broke (or recovered) describes a tool that no longer exists. Buckets that saw the
    change happen (the Friday afternoon that broke it) keep theirs.
    """
    since = context.changed_from
    stale = since is not None and bucket.updated is not None and bucket.updated < since
    if stale and (bucket.current.n or bucket.current.successes or bucket.current.failures):
        bucket.start_over()
