"""Demonstrations: the agent's own successful runs, kept as few-shot examples by similarity.

A run becomes a demonstration when it ended in success and scored at least ``min_score``
(0.8 by default). Only the task text (already redacted by the recorder), the tool sequence and
the *shape* of each call's arguments are kept — never argument values. One demonstration per
(task type, task, tool sequence): a better-scoring repeat replaces it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

from toolwise.improve.audit import AuditLog
from toolwise.improve.models import Demonstration, DemoStep, Run
from toolwise.improve.store import Item, KnowledgeStore
from toolwise.storage.embeddings import EmbeddingFunction

__all__ = ["DemonstrationLibrary", "demonstration_from"]


def demonstration_from(run: Run, *, min_score: float) -> Demonstration | None:
    """The demonstration ``run`` makes, or ``None`` if it failed or scored below ``min_score``."""
    if not run.succeeded or run.score < min_score:
        return None
    steps = tuple(
        DemoStep(tool=s.tool, args_shape=s.args_shape) for s in run.steps if s.outcome != "failure"
    )
    identity = "\x1f".join(
        (run.agent_id, run.task_type, " ".join(run.task.lower().split()), *(s.tool for s in steps))
    )
    return Demonstration(
        id=hashlib.sha256(identity.encode()).hexdigest()[:24],
        agent_id=run.agent_id,
        task=run.task[:500],
        task_type=run.task_type,
        environment=run.environment,
        steps=steps,
        score=run.score,
        recorded_at=run.ended_at,
        record_ids=tuple(s.record_id for s in run.steps if s.record_id),
    )


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

    def learn(self, agent_id: str, runs: Iterable[Run]) -> tuple[int, int]:
        """Keep the qualifying runs of ``agent_id``; returns (added or improved, dropped)."""
        stored = {d.id: d for d in self.all(agent_id)}
        fresh: dict[str, Demonstration] = {}
        for run in runs:
            demo = demonstration_from(run, min_score=self._min_score)
            if demo is None or demo.agent_id != agent_id:
                continue
            best = fresh.get(demo.id) or stored.get(demo.id)
            if best is not None and best.score >= demo.score:
                continue  # already kept, at least as good: no change
            fresh[demo.id] = demo
        if fresh:
            vectors = self._embedding([d.document for d in fresh.values()])
            self._store.put(
                "demonstrations",
                agent_id,
                [
                    Item(d.id, d.model_dump_json(), d.recorded_at.timestamp(), v)
                    for d, v in zip(fresh.values(), vectors, strict=True)
                ],
            )
        for demo in fresh.values():
            previous = stored.get(demo.id)
            self._audit.record(
                agent_id,
                "demonstration.added",
                subject=demo.id,
                before=previous.render() if previous else "",
                after=f"{demo.render()} [score {demo.score:.2f}]",
                reason=(
                    f"run scored {demo.score:.2f} ≥ {self._min_score:.2f}"
                    + (" (better than the kept one)" if previous else "")
                ),
            )
        stored.update(fresh)
        dropped = sorted(stored.values(), key=lambda d: (d.score, d.recorded_at), reverse=True)[
            self._max :
        ]
        self.drop(dropped, reason=f"more than {self._max} demonstrations: lowest score dropped")
        return len(fresh), len(dropped)

    def drop(self, demos: Sequence[Demonstration], *, reason: str) -> None:
        for demo in demos:
            self._store.remove("demonstrations", demo.agent_id, [demo.id])
            self._audit.record(
                demo.agent_id,
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
