"""Reads one key's posterior from the levels of evidence around it (see ``shrinkage``).

A key's own record is shrunk towards, in turn: the tool's record in similar task types (each
lending as much as their outcomes say they rank tools alike), the tool's record elsewhere (as
far as the tool's task types are learnt to agree), a seed, and a base prior centred on the
other tools of the same scope. The two learnt strengths are cached until the records behind
them grow by 5 %; a whole read until the evidence changes (``memo``). Nothing here scans
raw outcomes.

Not thread-safe: the view's lock is held around every call.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Iterable, Sequence
from typing import Final, NamedTuple

from toolwise.learning.buckets import start_over_if_stale
from toolwise.learning.changes import ChangeTracker, ContextKey
from toolwise.learning.config import LearningConfig
from toolwise.learning.dispersion import concentration, log_alike
from toolwise.learning.evidence import Evidence
from toolwise.learning.index import ZERO, EvidenceIndex, OverallKey
from toolwise.learning.memo import ReadMemo
from toolwise.learning.probe import Probes
from toolwise.learning.shrinkage import Levels, Mass, Posterior, combine, minus
from toolwise.learning.staleness import StaleClock

__all__ = ["PosteriorReader", "Read"]

_MAX_ALIKE_CACHE: Final = 100_000
_NO_TOOLS: Final[frozenset[str]] = frozenset()
_CHARGES: Final = operator.attrgetter("charges")  # summed for every similar task type


class Read(NamedTuple):
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


class _Likeness(NamedTuple):
    """A learnt likeness of two task types, the charges it was computed at, and the records
    of the tools both hold, in pairs and in one list (with the two scopes' tool counts they
    were listed at)."""

    version: int
    likeness: float
    sizes: tuple[int, int]
    pairs: list[tuple[Evidence, Evidence]]
    records: list[Evidence]


class PosteriorReader:
    """Assembles a key's posterior from an :class:`EvidenceIndex`, with learnt strengths.

    Args:
        config: the learning configuration (prior, decay, shrinkage, time buckets).
        index: the evidence to read.
        changes: the change tracker (keys switched to buckets, re-tries that are due).
        stale: fades the records of tools passed over (``staleness``); none by default.
        probes: re-tries of tools passed over for long (``probe``); none by default.
        memo: the reads made since the evidence last changed (``memo``; the caller empties
            it on every change); none by default (every read is worked out).
    """

    def __init__(
        self,
        config: LearningConfig,
        index: EvidenceIndex,
        changes: ChangeTracker,
        stale: StaleClock | None = None,
        probes: Probes | None = None,
        *,
        memo: ReadMemo | None = None,
    ) -> None:
        self._config = config
        self._rate = config.decay_rate
        self._base: Mass = (config.prior_alpha, config.prior_beta)
        self._mode = config.time_buckets
        self._index = index
        self._changes = changes
        self._stale = stale if stale is not None else StaleClock(1.0)
        self._probes = probes if probes is not None else Probes(0)
        self._memo = memo
        # Learnt shrinkage strength per (agent, tool, environment), with the charge count
        # of the tool's overall record it was computed at (recomputed lazily on read).
        self._spread: dict[OverallKey, tuple[int, float | None]] = {}
        # Learnt likeness of two task types, with the charge count it was computed at.
        self._alike: dict[tuple[str, str, str, str], _Likeness] = {}

    def read(
        self,
        key: ContextKey,
        bucket: str,
        *,
        now: float,
        lenders: Sequence[tuple[str, float]],
        peers: Mass | None = None,
    ) -> Read:
        """Assemble one key's posterior from the hierarchy (see ``shrinkage``), or take it
        from the memo when nothing changed since it was last assembled (``memo``).

        Args:
            key: agent, tool, task type, environment key part.
            bucket: the time bucket of the decision (``""`` for none); with
                ``time_buckets="auto"`` it is used only if the key was switched to buckets.
            now: POSIX seconds to decay to.
            lenders: similar task types and the weight each lends (:meth:`lenders`).
            peers: the summed evidence of the key's scope (``EvidenceIndex.scope_mass``),
                when the caller has it already.
        """
        agent_id, _, context, env = key
        if not (bucket and (self._mode != "auto" or key in self._changes.bucketed)):
            bucket = ""
        if peers is None:
            peers = self._index.scope_mass(agent_id, context, env, now)
        memo, slot = self._memo, (key, bucket)
        read = memo.get(slot, lenders, peers, now) if memo is not None else None
        if read is None:
            read = self._assemble(key, bucket, now, lenders, peers)
            if memo is not None:
                memo.put(slot, lenders, peers, now, read)
        context_ev = read.context
        broken = context_ev is not None and context_ev.recovery is not None
        retry = self._changes.retry(key, read.own, context_ev, now)
        if retry is None and not broken and self._probes.due(key):
            retry = self._base  # a probe: the plain prior's index puts the tool first
        return read if retry is None else read._replace(retry=retry)

    def _assemble(
        self,
        key: ContextKey,
        bucket: str,
        now: float,
        lenders: Sequence[tuple[str, float]],
        peers: Mass,
    ) -> Read:
        """:meth:`read`'s posterior, worked out level by level (``retry`` left out).

        ``bucket`` is ``""`` unless the key is read in its time bucket.
        """
        agent_id, tool, context, env = key
        rate = self._rate
        config = self._config
        index = self._index
        overall = index.overall.get((agent_id, tool, env))
        context_ev = index.contexts.get(key)
        recorded = context_ev.mass(now, rate) if context_ev is not None else ZERO
        fade = self._stale.factor(key)
        context_mass = (recorded[0] * fade, recorded[1] * fade) if fade < 1.0 else recorded
        similar_s = similar_f = near_s = near_f = 0.0
        contexts = index.contexts
        for other, weight in lenders:
            found = contexts.get((agent_id, tool, other, env))
            if found is not None:
                s, f = found.mass(now, rate)
                similar_s += weight * s
                similar_f += weight * f
                near_s += s
                near_f += f
        own = context_ev
        bucket_mass: Mass | None = None
        if bucket:
            own = index.buckets.get((agent_id, tool, context, env, bucket))
            if own is not None and context_ev is not None:
                start_over_if_stale(own, context_ev)
            bucket_mass = own.mass(now, rate) if own is not None else ZERO
        overall_mass = overall.mass(now, rate) if overall is not None else ZERO
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
                peer=None if broken else self._peer_base(minus(peers, recorded)),
                seed=index.seed_for(key),
                elsewhere=minus(minus(overall_mass, recorded), (near_s, near_f)),
                elsewhere_strength=strength,
                similar=(similar_s, similar_f),
                similarity_strength=config.similarity_strength,
                context=context_mass,
                bucket=bucket_mass,
                bucket_strength=config.bucket_strength,
                adaptive=config.adaptive_shrinkage,
            )
        )
        return Read(posterior, own, context_ev, overall)

    def lenders(
        self,
        agent_id: str,
        context: str,
        env: str,
        similar: Sequence[tuple[str, float]],
        *,
        tools: Iterable[str],
        now: float,
    ) -> list[tuple[str, float]]:
        """The similar task types some of ``tools`` has evidence in, and the weight each
        lends to ``context``'s records of them.

        Names are a prior only: with ``adaptive_shrinkage`` each lends in proportion to the
        learnt probability that it ranks tools alike (:meth:`_likeness`), else its name
        similarity. Worked out once per decision for all its candidate tools.
        """
        scope_tools = self._index.scope_tools
        names = tuple(tools)
        found = [
            (other, similarity)
            for other, similarity in similar
            if not scope_tools.get((agent_id, other, env), _NO_TOOLS).isdisjoint(names)
        ]
        if not self._config.adaptive_shrinkage:
            return found
        return [
            (other, self._likeness(agent_id, env, context, other, similarity=sim, now=now))
            for other, sim in found
        ]

    def forget(self, agent_id: str, doomed: Callable[[tuple[str, ...]], bool]) -> None:
        """Drop the learnt strengths of an agent's forgotten keys."""
        self._spread = {k: v for k, v in self._spread.items() if not doomed(k)}
        self._alike = {k: v for k, v in self._alike.items() if k[0] != agent_id}

    def _likeness(
        self, agent_id: str, env: str, context: str, other: str, *, similarity: float, now: float
    ) -> float:
        """The probability that two task types rank tools alike, learnt from their outcomes.

        Prior odds ``task_prior_weight × similarity`` (the names); each tool both task types
        used multiplies them by the Bayes factor of "one success rate for both" against "a
        rate each" (``dispersion.log_alike``). Cached until either record grows by 5 %.
        Asked once per decision (:meth:`lenders`), not once per candidate tool: at 100,000
        outcomes the growth check alone was a third of a recommend.
        """
        cache_key = (agent_id, env, context, other)
        cached = self._alike.get(cache_key)
        scope_tools = self._index.scope_tools
        mine = scope_tools.get((agent_id, context, env), set())
        theirs = scope_tools.get((agent_id, other, env), set())
        # A scope's tools only grow until ``forget`` (which drops these entries): the same
        # sizes are the same tools, so the records both task types hold are as listed then.
        sizes = (len(mine), len(theirs))
        if cached is not None and cached.sizes == sizes:
            pairs, records = cached.pairs, cached.records
        else:
            contexts = self._index.contexts
            pairs = [
                (contexts[(agent_id, tool, context, env)], contexts[(agent_id, tool, other, env)])
                for tool in mine & theirs
            ]
            records = [record for pair in pairs for record in pair]
        version = sum(map(_CHARGES, records))
        if cached is not None and version - cached.version < max(1, cached.version // 20):
            if cached.pairs is not pairs:
                self._alike[cache_key] = cached._replace(sizes=sizes, pairs=pairs, records=records)
            return cached.likeness  # grown by less than 5 %: as computed
        log_odds = math.log(max(self._config.task_prior_weight * similarity, 1e-12))
        for a, b in pairs:
            log_odds += log_alike(a.mass(now, self._rate), b.mass(now, self._rate), self._base)
        likeness = 1.0 / (1.0 + math.exp(-min(max(log_odds, -700.0), 700.0)))
        if len(self._alike) >= _MAX_ALIKE_CACHE:
            self._alike.clear()
        self._alike[cache_key] = _Likeness(version, likeness, sizes, pairs, records)
        return likeness

    def _concentration(self, key: OverallKey, overall: Evidence, now: float) -> float | None:
        """The tool's learnt shrinkage strength, recomputed once its record grew by ~5 %."""
        version = overall.charges
        cached = self._spread.get(key)
        if cached is not None and version - cached[0] < max(1, cached[0] // 20):
            return cached[1]
        rate = self._rate
        learnt = concentration(e.mass(now, rate) for e in self._index.tool_contexts.get(key, ()))
        self._spread[key] = (version, learnt)
        return learnt

    def _peer_base(self, peers: Mass) -> Mass | None:
        """The base prior, centred on the other tools' pooled rate in the same scope.

        Only when the peers do better than the flat prior: weak peers would push a newcomer
        below the flat prior's optimism and it would seldom be tried (the held-out
        stationary family went from 1.12× to 0.65× the best baseline with this rule).
        """
        strength = self._config.peer_prior_strength
        n = peers[0] + peers[1]
        if strength <= 0.0 or n <= 0.0:
            return None
        alpha0, beta0 = self._base
        mean = (peers[0] + alpha0) / (n + alpha0 + beta0)
        if mean <= alpha0 / (alpha0 + beta0):
            return None
        return strength * mean, strength * (1.0 - mean)
