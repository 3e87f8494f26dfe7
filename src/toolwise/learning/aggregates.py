"""The derived view's state, and the one path that charges an outcome to it.

Recording an outcome consults the outage monitor, charges each level of evidence (the task
type, the tool overall and, with time buckets, the bucket: ``index``), schedules TTL expiry
(``ttl``), and hands each charge to the change tracker (``changes``); reading assembles a
shrunk posterior from the levels (``reader``). Nothing here scans raw outcomes.

Not thread-safe: :class:`~toolwise.learning.intake.ObservationIntake` holds the view's lock
around every call.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from typing import Any, NamedTuple

from toolwise.learning.buckets import BucketLabels, start_over_if_stale
from toolwise.learning.changes import ChangeTracker, ContextKey
from toolwise.learning.config import LearningConfig
from toolwise.learning.drift import DriftFade
from toolwise.learning.evidence import Evidence, Part
from toolwise.learning.index import EvidenceIndex, SeedKey, forgotten
from toolwise.learning.infra import InfraMonitor, Verdict
from toolwise.learning.memo import ReadMemo
from toolwise.learning.models import InfraEvent
from toolwise.learning.probe import Probes
from toolwise.learning.reader import PosteriorReader, Read
from toolwise.learning.shrinkage import Mass
from toolwise.learning.staleness import StaleClock
from toolwise.learning.ttl import TtlLedger, slot_of

__all__ = ["Aggregates", "ContextKey", "Outcome", "Read"]


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


class Aggregates:
    """All decayed evidence, seeds, TTL schedule and outage state of one view.

    Args:
        config: the learning configuration (decay, change detection, outages, shrinkage).
    """

    def __init__(self, config: LearningConfig) -> None:
        self._config = config  # a snapshot stores a reference to it, not the configuration
        self._rate = config.decay_rate
        self._base: Mass = (config.prior_alpha, config.prior_beta)
        self._mode = config.time_buckets
        self._labels = BucketLabels(config.time_buckets, config.zone)
        self.index = EvidenceIndex(config)
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
        self.changes = ChangeTracker(config, self.ttl, self.counts, self.index.scope_calls)
        self.stale = StaleClock(
            config.stale_discount,
            after_change=config.stale_after_change,
            confirm_delta=config.stale_confirm_delta,
            steady_calls=config.stale_steady_calls,
            rate=self._rate,
            retroactive=config.stale_retroactive,
            confirm_tools=config.stale_confirm_tools,
            close_on_undo=config.stale_close_on_undo,
        )
        self.probes = Probes(config.probe_after_calls)
        self.drift = DriftFade(config.drift_window, config.drift_threshold, config.drift_discount)
        # Emptied by every change below: reads between two changes are the same.
        self.reads = ReadMemo(timed=self._rate > 0.0)
        self.reader = PosteriorReader(
            config, self.index, self.changes, self.stale, self.probes, memo=self.reads
        )

    # ------------------------------------------------------------------ writing

    def record(self, outcome: Outcome) -> None:
        """Charge one outcome to every level, unless it belongs to an outage."""
        self.reads.clear()
        t = outcome.t
        if self.last_seen is None or t > self.last_seen:
            self.last_seen = t
        failed = outcome.failed
        index = self.index
        key = (outcome.agent_id, outcome.tool, outcome.context, outcome.env)
        context = index.contexts.get(key) or index.context(key)
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
        overall = index.overall.get(overall_key) or index.tool_overall(overall_key)
        latency_ms, cost, error = outcome.latency_ms, outcome.cost, outcome.error
        context.note(latency_ms, cost, error)
        overall.note(latency_ms, cost, error)
        if verdict is Verdict.ABSORB:
            self.counts["absorbed_by_infra"] += 1
            if context.recovery is not None:  # a due re-try was spent, whatever the cause
                calls = index.scope_calls(outcome.agent_id, outcome.context, outcome.env)
                context.recovery.postpone(t, calls, self.changes.schedule)
            return
        self.counts["observed"] += 1
        if outcome.successes + outcome.failures <= 0.0:
            return  # a zero-weight outcome only contributes its latency, cost and error
        slot = None if outcome.expires is None else slot_of(outcome.expires, t)
        successes, failures, charge = outcome.successes, outcome.failures, self.changes.charge
        before = self.stale.call(key, context, t)
        self.probes.call(key, success=successes > failures)
        changes = context.changes
        parts = [
            charge(context, successes, failures, t, slot, key, True),
            charge(overall, successes, failures, t, slot, key, False),
        ]
        changed = context.changes > changes
        self.drift.charged(key, context, parts[0])
        self.stale.charged(key, context, before, (successes, failures), t, changed=changed)
        if changed:
            self.probes.changed(key)
        mode = self._mode
        if mode != "none" and (mode != "auto" or key in self.changes.bucketed):
            bucket_key = (*key, self._labels(t))
            bucket = index.buckets.get(bucket_key)
            if bucket is None:
                bucket = index.buckets[bucket_key] = index.new_evidence(with_samples=False)
            else:
                start_over_if_stale(bucket, context)
            parts.append(charge(bucket, successes, failures, t, slot, key, False))
        if failed:
            self.infra.remember(
                outcome.agent_id, outcome.environment, outcome.tool, t, parts, chance=chance
            )

    def seed(self, key: SeedKey, pseudo: Mass) -> None:
        """Set (or replace) a seeded prior for a scope."""
        self.reads.clear()
        self.index.seeds[key] = pseudo

    def expire(self, now: float) -> None:
        """Take back every charge whose TTL has lapsed by ``now``."""
        lapsed = self.ttl.expire(now)
        if lapsed:  # a charge was taken back: reads made before no longer hold
            self.reads.clear()
            self.counts["expired"] += lapsed

    def forget(self, agent_id: str, tool: str | None) -> None:
        """Drop the aggregates and seeds of an agent, or of one of its tools."""
        doomed = forgotten(agent_id, tool)
        self.reads.clear()
        self.index.forget(agent_id, tool)
        self.reader.forget(agent_id, doomed)
        self.stale.forget(agent_id, tool)
        self.drift.forget(agent_id, tool)
        self.probes.forget(agent_id, tool)
        self.changes.forget(doomed)
        self.infra.forget(agent_id, tool)

    # ------------------------------------------------------------------ reading

    def read(
        self,
        key: ContextKey,
        bucket: str,
        *,
        now: float,
        lenders: Sequence[tuple[str, float]],
        peers: Mass | None = None,
    ) -> Read:
        """One key's posterior (see :meth:`PosteriorReader.read`)."""
        return self.reader.read(key, bucket, now=now, lenders=lenders, peers=peers)

    def scope_mass(self, agent_id: str, context: str, env: str, now: float) -> Mass:
        """Summed live evidence of every tool the agent used for a task type in an environment."""
        return self.index.scope_mass(agent_id, context, env, now)

    def keys(self, *, bucketed: bool) -> Iterator[tuple[ContextKey, str]]:
        """Every ``(context key, bucket)`` pair with evidence; bucket ``""`` when un-bucketed."""
        return self.index.keys(bucketed=bucketed)

    def tools_in(self, agent_id: str, context: str, env: str) -> frozenset[str]:
        """The tools with evidence in a task type and environment."""
        return self.index.tools_in(agent_id, context, env)

    def task_types_of(self, agent_id: str) -> list[str]:
        """The task types the agent has evidence for (``""`` included), unsorted."""
        return self.index.task_types_of(agent_id)

    def environments_of(self, agent_id: str) -> list[str]:
        """The environment key parts the agent has evidence in, sorted."""
        return self.index.environments_of(agent_id)

    def note(self, counter: str) -> None:
        """Count an event (``ignored_refused``, ``ignored_expired``, ...)."""
        self.counts[counter] += 1

    def counters(self) -> dict[str, int]:
        """A copy of every counter, by name."""
        return {name: self.counts[name] for name in sorted(self.counts)}

    def sizes(self) -> dict[str, Any]:
        """How many aggregates of each kind are held."""
        return self.index.sizes() | {"ttl_entries": len(self.ttl), "infra_events": len(self.infra)}

    def alert(self, agent_id: str, environment: str, now: float) -> str | None:
        """The outage alert for recommendations, if any (see ``infra``)."""
        return self.infra.alert(agent_id, environment, now)

    def events(self, agent_id: str | None, now: float) -> list[InfraEvent]:
        """Infrastructure events, oldest first."""
        return self.infra.events(agent_id, now)

    # ------------------------------------------------------------------ internals

    def _failure_chance(self, context: Evidence, now: float) -> float:
        """How likely a failure of this tool is here, by its own record (for outage tests).

        The archived and held records count too: during an outage the change detector may
        already have reset the first tools to fail (or held the others' records), and their
        live records alone would make the outage look like the usual state of affairs. A tool
        with no record here gets the prior's 1/2.
        """
        s, f = context.mass(now, self._rate)
        a, b = context.set_aside_mass(now, self._rate)
        alpha0, beta0 = self._base
        return (f + b + beta0) / (s + f + a + b + alpha0 + beta0)

    def _revert(self, part: Part) -> None:
        counted = not self.ttl.lapsed(part)
        self.ttl.detach(part)
        part.evidence.revert(part, self._rate, counted=counted)
        self.drift.reverted(part)
