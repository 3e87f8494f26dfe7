"""One pass of the improvement loop for one agent, reading only what is new.

1. read the records after the agent's watermark (:mod:`.progress`), at most ``max_records``,
   and those of runs still open at the last pass;
2. **lessons** from the new failures, one per cluster (≤ ``max_new_lessons``), then
   **curation** (merge similar lessons, keep the ``max_lessons`` strongest);
3. **demonstrations** from the runs with new calls, replacing kept ones only when better;
4. **composites**: review existing ones by their own record, count the runs' tool sequences
   into the agent's tally and propose ≤ ``max_composites`` from the frequent ones;
5. **prompt refinement**, through the ``refine`` callback (only planned agents);
6. move the watermark.

With no new record the pass reads one page, changes nothing and writes no audit entry.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from toolwise.improve.composite_library import CompositeLibrary
from toolwise.improve.config import ImproveConfig
from toolwise.improve.curation import plan_curation
from toolwise.improve.demonstrations import DemonstrationLibrary
from toolwise.improve.lesson_book import LessonBook
from toolwise.improve.lessons import LessonWriter, cluster_failures, lesson_from
from toolwise.improve.models import ImprovementReport, RefinementResult
from toolwise.improve.progress import ProgressBook, advance, read_new
from toolwise.improve.protocols import Clock, OutcomeReader
from toolwise.improve.runs import RunRecords, group_records
from toolwise.models import ToolOutcome

__all__ = ["PassRunner"]

_LESSON_OUTCOMES = frozenset({"failure", "invalid_arguments"})
"""What lessons are learnt from: the tool's failures and the model's invalid arguments."""

Refine = Callable[[str], RefinementResult | None]
"""``refine(agent_id)``: refine the agent's prompt if a plan says so (``None``: not done)."""


@dataclass(frozen=True, slots=True)
class _Counts:
    added: int = 0
    merged: int = 0
    dropped: int = 0
    rejected: int = 0


class PassRunner:
    """Runs passes over the parts it is given; the caller serialises passes.

    Args:
        outcomes: where the records are read from.
        config: the bounds of a pass.
        clock: "now" in UTC (curation's recency).
    """

    def __init__(
        self,
        outcomes: OutcomeReader,
        *,
        lessons: LessonBook,
        writer: LessonWriter,
        demonstrations: DemonstrationLibrary,
        composites: CompositeLibrary,
        progress: ProgressBook,
        config: ImproveConfig,
        clock: Clock,
    ) -> None:
        self._outcomes = outcomes
        self._lessons = lessons
        self._writer = writer
        self._demos = demonstrations
        self._composites = composites
        self._progress = progress
        self._config = config
        self._clock = clock

    def run(self, agent_id: str, *, now: datetime, refine: Refine) -> ImprovementReport:
        """One pass for ``agent_id``; ``now`` is after the caller's flush (read-your-writes)."""
        started = self._clock()
        config = self._config
        progress, tally = self._progress.load(agent_id)
        new = read_new(
            self._outcomes,
            agent_id,
            progress,
            now=now,
            limit=config.max_records,
            margin=config.arrival_margin,
        )
        if not new.fresh:
            return ImprovementReport(agent_id=agent_id, started_at=started)
        # invalid_arguments: the model's mistakes, taught as lessons about calling the tool
        failures = [r for r in new.fresh if r.outcome in _LESSON_OUTCOMES]
        learnt = self._learn_lessons(agent_id, failures)
        # Only new lessons change what curation sees (a drop needs more than max_lessons).
        curated = self._curate(agent_id) if learnt.added or learnt.merged else _Counts()
        runs = group_records([*new.carried, *new.fresh], gap=config.run_gap)
        fresh_ids = {r.id for r in new.fresh}
        learning = _learning_runs(runs, fresh_ids, cut=new.fresh[0].id if new.full else None)
        demos = self._demos.learn(agent_id, learning)
        reviews = self._composites.review(agent_id, now=now)
        carried_ids = {r.id for r in new.carried}
        tally.add(
            learning,
            min_length=config.min_sequence_length,
            max_length=config.max_sequence_length,
            counted=carried_ids.__contains__,
        )
        proposals = self._composites.propose(
            agent_id,
            tally.frequent(
                min_occurrences=config.min_occurrences,
                limit=config.max_composites * 4,  # some may be known or unbuildable
            )
            if config.max_composites
            else [],
        )
        refinement = refine(agent_id)
        self._progress.save(
            agent_id,
            advance(
                progress, new.fresh, runs, margin=config.arrival_margin, run_gap=config.run_gap
            ),
            tally,
        )
        return ImprovementReport(
            agent_id=agent_id,
            started_at=started,
            records_scanned=len(new.fresh),
            failures_scanned=len(failures),
            lessons_added=learnt.added,
            lessons_merged=learnt.merged + curated.merged,
            lessons_dropped=curated.dropped,
            lessons_rejected=learnt.rejected,
            demonstrations_added=demos.added,
            demonstrations_replaced=demos.replaced,
            demonstrations_dropped=demos.dropped,
            composites_proposed=proposals.proposed,
            composites_rejected=proposals.rejected,
            composites_promoted=sum(r.action == "promote" for r in reviews),
            composites_retired=sum(r.action == "retire" for r in reviews),
            refinement=refinement,
        )

    def _learn_lessons(self, agent_id: str, failures: list[ToolOutcome]) -> _Counts:
        written = []
        rejected = 0
        for cluster in cluster_failures(failures)[: self._config.max_new_lessons]:
            text = self._writer(cluster)
            if text is None:  # malformed model output: logged by the writer, nothing changes
                rejected += 1
                continue
            lesson = lesson_from(cluster, text, self._writer.source)
            written.append((lesson, f"{len(cluster.records)} new failure(s) of {cluster.tool}"))
        verdicts = self._lessons.absorb(agent_id, written)
        return _Counts(
            added=verdicts.count("added"), merged=verdicts.count("merged"), rejected=rejected
        )

    def _curate(self, agent_id: str) -> _Counts:
        max_lessons = self._config.max_lessons
        plan = plan_curation(
            self._lessons.all(agent_id),
            max_lessons=max_lessons,
            merge_threshold=self._config.merge_threshold,
            half_life=self._config.lesson_half_life,
            now=self._clock(),
        )
        merged = 0
        for merge in plan.merges:
            self._lessons.replace(
                merge.merged, merge.absorbed, reason="curation: similar lessons merged"
            )
            merged += len(merge.absorbed)
        if plan.drops:
            self._lessons.drop(
                agent_id,
                plan.drops,
                reason=f"curation: more than {max_lessons} lessons; the weakest "
                "(support × recency) dropped",
            )
        return _Counts(merged=merged, dropped=len(plan.drops))


def _learning_runs(
    runs: list[RunRecords], fresh_ids: set[str], *, cut: str | None
) -> list[RunRecords]:
    """The runs with a new call; without the one holding ``cut`` (the oldest record of a full
    read: its run may have begun before the read, so it is not evidence)."""
    return [
        run
        for run in runs
        if any(r.id in fresh_ids for r in run.records)
        and (cut is None or all(r.id != cut for r in run.records))
    ]
