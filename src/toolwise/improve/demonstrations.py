"""Demonstrations: the agent's own successful runs, kept as few-shot examples by similarity.

A run becomes a demonstration when it ended in success and scored at least ``min_score``
(0.8 by default). Only the task text (already redacted by the recorder), the tool sequence and
the *shape* of each call's arguments are kept — never argument values. One demonstration per
(task type, task with its digits ignored, tool sequence): "deploy web 1.4.2" and "deploy web
1.4.3" with the same tools are one example, not two.

The library changes only when a better run appears: a run replaces a kept demonstration only
if it scores strictly higher (the same one, or the weakest when the library is full), so a
stream of equally good runs does not churn it. Each real change is one audit entry.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from toolwise.improve.audit import AuditLog
from toolwise.improve.models import Demonstration, DemoStep, Run
from toolwise.improve.runs import RunRecords
from toolwise.improve.store import Item, KnowledgeStore
from toolwise.storage.embeddings import EmbeddingFunction

__all__ = [
    "DemonstrationChanges",
    "DemonstrationLibrary",
    "demonstration_from",
    "demonstration_id",
    "qualifies",
]

_DIGITS = re.compile(r"\d+")
_NOT_SHOWN = frozenset({"failure", "invalid_arguments"})
"""Calls a demonstration leaves out: the tool's failures and the model's invalid arguments."""


def demonstration_id(run: Run | RunRecords) -> str:
    """The identity of the demonstration ``run`` makes: agent, task type, task (digits
    ignored) and the tools of its calls that did not fail (nor had invalid arguments)."""
    calls = run.steps if isinstance(run, Run) else run.records
    task = _DIGITS.sub("#", " ".join(run.task.lower().split()))
    tools = (c.tool for c in calls if c.outcome not in _NOT_SHOWN)
    identity = "\x1f".join((run.agent_id, run.task_type, task, *tools))
    return hashlib.sha256(identity.encode()).hexdigest()[:24]


def qualifies(run: Run | RunRecords, *, min_score: float) -> bool:
    """Whether ``run`` makes a demonstration: it ended in success, scoring ≥ ``min_score``."""
    return run.succeeded and run.score >= min_score


def demonstration_from(run: Run, *, min_score: float) -> Demonstration | None:
    """The demonstration ``run`` makes, or ``None`` if it failed or scored below ``min_score``."""
    if not qualifies(run, min_score=min_score):
        return None
    steps = tuple(
        DemoStep(tool=s.tool, args_shape=s.args_shape)
        for s in run.steps
        if s.outcome not in _NOT_SHOWN
    )
    return Demonstration(
        id=demonstration_id(run),
        agent_id=run.agent_id,
        task=run.task[:500],
        task_type=run.task_type,
        environment=run.environment,
        steps=steps,
        score=run.score,
        recorded_at=run.ended_at,
        record_ids=tuple(s.record_id for s in run.steps if s.record_id),
    )


@dataclass(frozen=True, slots=True)
class DemonstrationChanges:
    """What :meth:`DemonstrationLibrary.learn` changed (each is one audit entry)."""

    added: int = 0
    replaced: int = 0
    dropped: int = 0


class DemonstrationLibrary:
    """An agent's demonstrations in the knowledge store; changes are audited.

    Args:
        max_demonstrations: kept per agent; beyond it the lowest-scored (then oldest) go.
    """

    def __init__(
        self,
        store: KnowledgeStore,
        embedding: EmbeddingFunction,
        audit: AuditLog,
        *,
        min_score: float,
        max_demonstrations: int,
    ) -> None:
        self._store = store
        self._embedding = embedding
        self._audit = audit
        self._min_score = min_score
        self._max = max_demonstrations

    def all(self, agent_id: str) -> list[Demonstration]:
        return [
            Demonstration.model_validate_json(item.payload)
            for item in self._store.load("demonstrations", agent_id)
        ]

    def learn(self, agent_id: str, runs: Iterable[RunRecords]) -> DemonstrationChanges:
        """Keep the qualifying ``runs`` that beat what is kept; one store write each way.

        A run enters when it scores strictly higher than the kept demonstration with its
        identity, or (the library full) than the weakest kept one, which it replaces; among new
        runs of equal score the later wins. A run that continued since a demonstration was
        made of its first calls is judged whole: it replaces that demonstration, or drops it
        if it no longer qualifies.
        """
        stored = {d.id: d for d in self.all(agent_id)}
        made_of = {record_id: d.id for d in stored.values() for record_id in d.record_ids}
        partial: dict[str, RunRecords] = {}  # stored demo id -> the run that continued it
        better_runs: dict[str, tuple[float, RunRecords]] = {}  # built at the end, if they enter
        for run in runs:  # oldest first
            if run.agent_id != agent_id:
                continue
            partial.update((made_of[r.id], run) for r in run.records if r.id in made_of)
            score = run.score
            if not run.succeeded or score < self._min_score:
                continue
            key = demonstration_id(run)
            rival = better_runs.get(key)
            if rival is not None:
                if score >= rival[0]:
                    better_runs[key] = (score, run)
            elif key not in stored or key in partial or score > stored[key].score:
                better_runs[key] = (score, run)
        if not better_runs and not partial:
            return DemonstrationChanges()
        # Only the best `max` new ones can enter (kept ones outrank new ones on ties).
        contenders = sorted(better_runs.values(), key=lambda pair: (pair[0], pair[1].ended_at))
        better: dict[str, Demonstration] = {}
        continuing: dict[str, str] = {}  # new demo id -> the partial one its run replaces
        for _, run in contenders[-self._max :]:
            demo = demonstration_from(run.run(), min_score=self._min_score)
            if demo is not None:
                better[demo.id] = demo
                ids = {r.id for r in run.records}
                continuing.update(
                    (demo.id, old) for old in partial if ids & set(stored[old].record_ids)
                )
        # Ties keep what is kept: a kept one outranks a new one of the same score.
        pool = [(d, True) for d in stored.values() if d.id not in better and d.id not in partial]
        pool += [(d, False) for d in better.values()]
        pool.sort(key=lambda pair: (pair[0].score, pair[1], pair[0].recorded_at), reverse=True)
        kept = {d.id for d, _ in pool[: self._max]}
        entering = sorted(
            (d for d in better.values() if d.id in kept), key=lambda d: d.score, reverse=True
        )
        gone = [d for d in stored.values() if d.id not in kept]
        self._write(agent_id, entering, [d.id for d in gone if d.id not in better])
        return self._audit_changes(stored, entering, gone, continuing, set(partial))

    def _audit_changes(
        self,
        stored: dict[str, Demonstration],
        entering: list[Demonstration],
        gone: list[Demonstration],
        continuing: dict[str, str],
        partial: set[str],
    ) -> DemonstrationChanges:
        """One audit entry per change: a demonstration that takes another's place (the same
        task's, its own run's first calls', or the weakest's) is one ``replaced`` line."""
        leaving = {d.id: d for d in sorted(gone, key=lambda d: d.score)}
        replaced = added = 0
        for demo in entering:
            previous, why = self._predecessor(demo, stored, leaving, continuing, partial)
            if previous is None:
                added += 1
                self._audit.record(
                    demo.agent_id,
                    "demonstration.added",
                    subject=demo.id,
                    after=_shown(demo),
                    reason=f"run scored {demo.score:.2f} ≥ {self._min_score:.2f}",
                )
                continue
            replaced += 1
            self._audit.record(
                demo.agent_id,
                "demonstration.replaced",
                subject=demo.id,
                before=_shown(previous),
                after=_shown(demo),
                reason=f"run scored {demo.score:.2f} (was {previous.score:.2f}): {why}",
            )
        for demo in leaving.values():
            self._audit.record(
                demo.agent_id,
                "demonstration.dropped",
                subject=demo.id,
                before=_shown(demo),
                reason="its run continued after the last pass and no longer qualifies"
                if demo.id in partial
                else f"library full ({self._max}): better runs kept",
            )
        return DemonstrationChanges(added=added, replaced=replaced, dropped=len(leaving))

    def _predecessor(
        self,
        demo: Demonstration,
        stored: dict[str, Demonstration],
        leaving: dict[str, Demonstration],
        continuing: dict[str, str],
        partial: set[str],
    ) -> tuple[Demonstration | None, str]:
        """The kept demonstration ``demo`` takes the place of (taken off ``leaving``)."""
        continued = "its run continued after the last pass"
        if demo.id in stored:
            leaving.pop(demo.id, None)
            why = continued if demo.id in partial else "a better run of the same task"
            return stored[demo.id], why
        if continuing.get(demo.id) in leaving:
            return leaving.pop(continuing[demo.id]), continued
        weakest = next((i for i in leaving if i not in partial), None)
        if weakest is not None:
            return leaving.pop(weakest), f"library full ({self._max}): the weakest gives way"
        return None, ""

    def _write(self, agent_id: str, entering: Sequence[Demonstration], gone: Sequence[str]) -> None:
        if entering:
            vectors = self._embedding([d.document for d in entering])
            self._store.put(
                "demonstrations",
                agent_id,
                [
                    Item(d.id, d.model_dump_json(), d.recorded_at.timestamp(), v)
                    for d, v in zip(entering, vectors, strict=True)
                ],
            )
        self._store.remove("demonstrations", agent_id, list(gone))

    def drop(self, agent_id: str, demos: Sequence[Demonstration], *, reason: str) -> None:
        """Remove demonstrations (one store write), one audit entry each."""
        self._store.remove("demonstrations", agent_id, [d.id for d in demos])
        for demo in demos:
            self._audit.record(
                agent_id,
                "demonstration.dropped",
                subject=demo.id,
                before=demo.render(),
                reason=reason,
            )

    def find(self, agent_id: str, task: str, k: int) -> list[Demonstration]:
        """The ``k`` demonstrations whose task is most similar to ``task``, best first."""
        vector = self._embedding([task])[0]
        return [
            Demonstration.model_validate_json(item.payload)
            for item, _ in self._store.nearest("demonstrations", agent_id, vector, k)
        ]


def _shown(demo: Demonstration) -> str:
    return f"{demo.render()} [score {demo.score:.2f}]"
