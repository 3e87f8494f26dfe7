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


def demonstration_id(run: Run | RunRecords) -> str:
    """The identity of the demonstration ``run`` makes: agent, task type, task (digits
    ignored) and the tools of its calls that did not fail."""
    calls = run.steps if isinstance(run, Run) else run.records
    task = _DIGITS.sub("#", " ".join(run.task.lower().split()))
    tools = (c.tool for c in calls if c.outcome != "failure")
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
        DemoStep(tool=s.tool, args_shape=s.args_shape) for s in run.steps if s.outcome != "failure"
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
        runs of equal score the later wins.
        """
        stored = {d.id: d for d in self.all(agent_id)}
        better_runs: dict[str, tuple[float, RunRecords]] = {}  # built at the end, if they enter
        for run in runs:  # oldest first
            if run.agent_id != agent_id or not run.succeeded:
                continue
            score = run.score
            if score < self._min_score:
                continue
            key = demonstration_id(run)
            rival = better_runs.get(key)
            if rival is not None:
                if score >= rival[0]:
                    better_runs[key] = (score, run)
            elif key not in stored or score > stored[key].score:
                better_runs[key] = (score, run)
        if not better_runs:
            return DemonstrationChanges()
        # Only the best `max` new ones can enter (kept ones outrank new ones on ties).
        contenders = sorted(better_runs.values(), key=lambda pair: (pair[0], pair[1].ended_at))
        better: dict[str, Demonstration] = {}
        for _, run in contenders[-self._max :]:
            demo = demonstration_from(run.run(), min_score=self._min_score)
            if demo is not None:
                better[demo.id] = demo
        # Ties keep what is kept: a kept one outranks a new one of the same score.
        pool = [(d, True) for d in stored.values() if d.id not in better]
        pool += [(d, False) for d in better.values()]
        pool.sort(key=lambda pair: (pair[0].score, pair[1], pair[0].recorded_at), reverse=True)
        kept = {d.id for d, _ in pool[: self._max]}
        entering = sorted(
            (d for d in better.values() if d.id in kept), key=lambda d: d.score, reverse=True
        )
        improved = [d for d in entering if d.id in stored]
        new = [d for d in entering if d.id not in stored]
        leaving = sorted(
            (d for d in stored.values() if d.id not in kept and d.id not in better),
            key=lambda d: d.score,
        )
        outdated = [stored[d.id] for d in better.values() if d.id in stored and d.id not in kept]
        self._write(agent_id, entering, [d.id for d in (*leaving, *outdated)])
        for demo in improved:
            self._replaced(stored[demo.id], demo, "a better run of the same task")
        for demo, evicted in zip(new, leaving, strict=False):
            self._replaced(evicted, demo, f"library full ({self._max}): the weakest gives way")
        for demo in new[len(leaving) :]:
            self._audit.record(
                agent_id,
                "demonstration.added",
                subject=demo.id,
                after=f"{demo.render()} [score {demo.score:.2f}]",
                reason=f"run scored {demo.score:.2f} ≥ {self._min_score:.2f}",
            )
        for demo in (*leaving[len(new) :], *outdated):
            self._audit.record(
                agent_id,
                "demonstration.dropped",
                subject=demo.id,
                before=f"{demo.render()} [score {demo.score:.2f}]",
                reason=f"library full ({self._max}): better runs kept",
            )
        dropped = len(leaving[len(new) :]) + len(outdated)
        return DemonstrationChanges(
            added=max(len(new) - len(leaving), 0),
            replaced=len(improved) + min(len(new), len(leaving)),
            dropped=dropped,
        )

    def _replaced(self, before: Demonstration, after: Demonstration, why: str) -> None:
        self._audit.record(
            after.agent_id,
            "demonstration.replaced",
            subject=after.id,
            before=f"{before.render()} [score {before.score:.2f}]",
            after=f"{after.render()} [score {after.score:.2f}]",
            reason=f"run scored {after.score:.2f} > {before.score:.2f}: {why}",
        )

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
