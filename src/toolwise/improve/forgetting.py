"""What forgetting records takes with it: the lessons, demonstrations, composites and pattern
counts learnt from them (``tw.forget`` calls :meth:`~toolwise.improve.Improver.on_forget`).

A forgotten ``tool`` takes its lessons, the demonstrations using it, the composites containing
it and the tool sequences counted with it; forgotten ``ids`` take the lessons and
demonstrations built on them and the sequence occurrences they made; forgetting everything
takes all of the agent's lessons, demonstrations and composites, and its watermark. The prompt
history is kept (it is not derived from records alone). Every step is audited.
"""

from __future__ import annotations

from collections.abc import Sequence

from toolwise.improve.audit import AuditLog
from toolwise.improve.composite_library import CompositeLibrary
from toolwise.improve.demonstrations import DemonstrationLibrary
from toolwise.improve.lesson_book import LessonBook
from toolwise.improve.progress import ProgressBook

__all__ = ["forget_derived"]


def forget_derived(
    agent_id: str,
    *,
    tool: str | None,
    ids: Sequence[str] | None,
    removed: int,
    audit: AuditLog,
    lessons: LessonBook,
    demonstrations: DemonstrationLibrary,
    composites: CompositeLibrary,
    progress: ProgressBook,
) -> None:
    """Audit a forget of ``removed`` records and drop what was learnt from them."""
    what = f"tool {tool}" if tool else (f"{len(ids)} record id(s)" if ids else "every record")
    audit.record(
        agent_id,
        "records.forgotten",
        subject=what,
        before=f"{removed} record(s)",
        after="deleted",
        reason="forgotten on request",
    )
    gone = set(ids or ())
    everything = tool is None and ids is None
    reason = f"derived from forgotten records ({what})"
    lessons.drop(
        agent_id,
        [
            lesson
            for lesson, _ in lessons.all(agent_id)
            if everything or lesson.tool == tool or gone.intersection(lesson.source_ids)
        ],
        reason=reason,
    )
    demonstrations.drop(
        agent_id,
        [
            d
            for d in demonstrations.all(agent_id)
            if everything or any(s.tool == tool for s in d.steps) or gone.intersection(d.record_ids)
        ],
        reason=reason,
    )
    if everything:
        composites.forget(agent_id, tool=None, reason=reason)
        progress.reset(agent_id)
        return
    if tool is not None:
        composites.forget(agent_id, tool=tool, reason=reason)
    mark, tally = progress.load(agent_id)
    tally.forget(tool=tool, ids=gone)
    progress.save(agent_id, mark, tally)
