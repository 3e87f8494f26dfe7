"""An agent's composite tools in the knowledge store: propose, validate, build, promote, retire.

The sibling of lessons, demonstrations and prompts. A composite is proposed from a recurring
tool sequence (:class:`~toolwise.improve.patterns.Pattern`), validated by replaying recorded
inputs in the sandbox, stored as a :class:`CompositeSpec`, and built on demand into a
:class:`~toolwise.improve.composites.CompositeTool` that reads its permission level from the
store at every call. Its level moves only by its own record (:mod:`.permissions`). Every
change is audited.
"""

from __future__ import annotations

import json
import logging
import random
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from toolwise.improve.audit import AuditLog
from toolwise.improve.composites import (
    CompositeTool,
    composite_description,
    composite_name,
    is_composable,
    merged_schema,
    replay_input,
)
from toolwise.improve.config import ImproveConfig, PromotionPolicy
from toolwise.improve.models import CompositeSpec, PermissionLevel
from toolwise.improve.patterns import Pattern
from toolwise.improve.permissions import Review, count_uses, review_level
from toolwise.improve.protocols import Clock, OutcomeReader
from toolwise.improve.store import Item, KnowledgeStore
from toolwise.storage.protocol import CallFilter

if TYPE_CHECKING:
    from langchain_core.tools import BaseTool

__all__ = ["CompositeLibrary", "Proposals"]

log = logging.getLogger("toolwise.improve")

_MAX_USES_READ = 10_000


@dataclass(frozen=True, slots=True)
class Proposals:
    """What :meth:`CompositeLibrary.propose` did (each is one audit entry)."""

    proposed: int = 0
    rejected: int = 0


class CompositeLibrary:
    """Composite tools of every agent: the specs in the store, the runnable tools on demand.

    Args:
        store: where specs live (kind ``composites``, one namespace per agent).
        audit: where every proposal, rejection, promotion and retirement is written.
        outcomes: the records a composite's replays and its own uses are read from.
        config: ``max_composites``, ``max_replays`` and ``validation_timeout`` are used.
        promotion: when a composite gains a level or is retired.
        clock: "now" in UTC.
        rng: picks which recorded inputs are replayed.

    Thread-safe for reads; the caller serialises writers (proposals, reviews, retirements).
    """

    def __init__(
        self,
        store: KnowledgeStore,
        audit: AuditLog,
        outcomes: OutcomeReader,
        *,
        config: ImproveConfig,
        promotion: PromotionPolicy,
        clock: Clock,
        rng: random.Random,
    ) -> None:
        self._store = store
        self._audit = audit
        self._outcomes = outcomes
        self._config = config
        self._promotion = promotion
        self._clock = clock
        self._rng = rng
        self._tools: dict[str, BaseTool] = {}
        self._lock = threading.Lock()

    def register_tools(self, tools: Iterable[BaseTool]) -> None:
        """Make tools available as composite steps (by name; a later one replaces)."""
        with self._lock:
            for tool in tools:
                self._tools[tool.name] = tool

    def _registered(self) -> dict[str, BaseTool]:
        with self._lock:
            return dict(self._tools)

    # -- reads --------------------------------------------------------------------------------

    def specs(self, agent_id: str, *, include_retired: bool = False) -> list[CompositeSpec]:
        """Proposed composites (specs), newest first."""
        specs = [
            CompositeSpec.model_validate_json(item.payload)
            for item in self._store.load("composites", agent_id)
        ]
        specs = [s for s in specs if include_retired or s.status == "active"]
        return sorted(specs, key=lambda s: (s.proposed_at, s.name), reverse=True)

    def tools(self, agent_id: str) -> list[BaseTool]:
        """Runnable tools for the active composites whose steps are all registered."""
        registered = self._registered()
        return [
            self._build(spec, registered)
            for spec in self.specs(agent_id)
            if all(name in registered for name in spec.tools)
        ]

    def _build(self, spec: CompositeSpec, tools: dict[str, BaseTool]) -> CompositeTool:
        agent_id, name = spec.agent_id, spec.name
        return CompositeTool.build(
            spec,
            tools,
            level_of=lambda: self._level_of(agent_id, name),
            timeout=self._config.validation_timeout,
        )

    def _level_of(self, agent_id: str, name: str) -> PermissionLevel | None:
        for spec in self.specs(agent_id, include_retired=True):
            if spec.name == name:
                return spec.level if spec.status == "active" else None
        return None

    def _save(self, spec: CompositeSpec) -> None:
        self._store.put(
            "composites",
            spec.agent_id,
            [Item(spec.name, spec.model_dump_json(), spec.proposed_at.timestamp())],
        )

    # -- promotion and retirement -------------------------------------------------------------

    def review(self, agent_id: str, *, now: datetime) -> list[Review]:
        """Promote or retire each active composite by its own record at its current level."""
        reviews = []
        for spec in self.specs(agent_id):
            records = self._outcomes.find(
                agent_id,
                CallFilter(tool=spec.name, since=spec.level_since),
                limit=_MAX_USES_READ,
                offset=0,
                now=now,
            )
            # Strictly after: the use that earned the last promotion belongs to the old level.
            uses, successes = count_uses(r for r in records if r.timestamp > spec.level_since)
            review = review_level(spec.level, uses, successes, self._promotion)
            reviews.append(review)
            if review.action == "promote":
                self._save(spec.model_copy(update={"level": review.level, "level_since": now}))
                self._audit.record(
                    agent_id,
                    "composite.promoted",
                    subject=spec.name,
                    before=spec.level,
                    after=review.level,
                    reason=review.reason,
                )
            elif review.action == "retire":
                self.retire(spec.name, agent_id, review.reason)
        return reviews

    def retire(self, name: str, agent_id: str, reason: str) -> bool:
        """Retire an active composite (it refuses to run from now on); False if none."""
        for spec in self.specs(agent_id):
            if spec.name == name:
                self._save(spec.model_copy(update={"status": "retired"}))
                self._audit.record(
                    agent_id,
                    "composite.retired",
                    subject=name,
                    before=f"active at level {spec.level}",
                    after="retired",
                    reason=reason,
                )
                return True
        return False

    def forget(self, agent_id: str, *, tool: str | None, reason: str) -> None:
        """Retire the composites using ``tool`` (every one when ``tool`` is ``None``)."""
        for spec in self.specs(agent_id):
            if tool is None or tool in spec.tools:
                self.retire(spec.name, agent_id, reason)

    # -- proposals ----------------------------------------------------------------------------

    def propose(self, agent_id: str, patterns: Sequence[Pattern]) -> Proposals:
        """Propose up to ``max_composites`` new composites from ``patterns``, each validated
        by sandboxed replays; a name proposed or retired before is never proposed again."""
        registered = self._registered()
        known = {s.name for s in self.specs(agent_id, include_retired=True)}
        proposed = rejected = 0
        for pattern in patterns:
            if proposed >= self._config.max_composites:
                break
            name = composite_name(pattern.tools)
            steps = [registered.get(t) for t in pattern.tools]
            if name in known or any(s is None or not is_composable(s) for s in steps):
                continue  # already decided, or steps this improver cannot run
            try:
                spec = self._validated_spec(agent_id, name, pattern, [s for s in steps if s])
            except Exception as exc:  # e.g. a schema pydantic cannot merge: skip this one
                log.warning("toolwise.improve: composite %s not built: %s", name, exc)
                self._audit.record(
                    agent_id, "composite.rejected", subject=name, reason=f"not buildable: {exc}"
                )
                spec = None
            if spec is None:
                rejected += 1
                continue
            self._save(spec)
            self._audit.record(
                agent_id,
                "composite.proposed",
                subject=name,
                after=spec.description,
                reason=(
                    f"{' → '.join(pattern.tools)} recurred in {pattern.count} successful runs; "
                    f"{spec.validated_replays} recorded inputs replayed in the sandbox; "
                    "starts at level sandbox"
                ),
            )
            proposed += 1
        return Proposals(proposed, rejected)

    def _validated_spec(
        self, agent_id: str, name: str, pattern: Pattern, steps: list[BaseTool]
    ) -> CompositeSpec | None:
        now = self._clock()
        schema, arguments = merged_schema(name, steps)
        example = next((o.task for o in pattern.occurrences if o.task), "")
        spec = CompositeSpec(
            name=name,
            agent_id=agent_id,
            tools=pattern.tools,
            description=composite_description(steps, pattern.count, example),
            arguments=arguments,
            occurrences=pattern.count,
            proposed_at=now,
            level_since=now,
        )
        ids = [i for o in pattern.occurrences for i in o.record_ids]
        by_id = {r.id: r for r in self._outcomes.get(ids, agent_id=agent_id)}
        replays = []
        for occurrence in pattern.occurrences:
            records = [by_id[i] for i in occurrence.record_ids if i in by_id]
            arguments_ = replay_input(spec, records, schema)
            if arguments_ is not None:
                replays.append(arguments_)
        if not replays:
            self._audit.record(
                agent_id,
                "composite.rejected",
                subject=name,
                reason="no replayable recorded inputs (redacted, truncated or not JSON)",
            )
            return None
        chosen = self._rng.sample(replays, min(len(replays), self._config.max_replays))
        tool = self._build(spec, {t.name: t for t in steps})
        for arguments_ in chosen:
            result = tool.run_at("sandbox", arguments_)
            if not result.ok:
                self._audit.record(
                    agent_id,
                    "composite.rejected",
                    subject=name,
                    before=json.dumps(arguments_, default=str)[:500],
                    reason=f"sandboxed replay failed: {result.error_type}: "
                    f"{result.error_message[:300]}",
                )
                return None
        return spec.model_copy(update={"validated_replays": len(chosen)})
