"""``Improver``: the improvement loop beside the production loop, and its public surface.

One pass for one agent (:meth:`Improver.improve`), bounded by :class:`ImproveConfig`:

1. read the newest ``max_records`` records (one bounded read);
2. **lessons** from failures not seen by an earlier pass, one per cluster (≤ ``max_new_lessons``);
3. **curation**: merge similar lessons, keep the ``max_lessons`` strongest;
4. **demonstrations** from runs that succeeded with a score ≥ ``min_demo_score``;
5. **composites**: review existing ones (promote or retire by their own record), then propose
   ≤ ``max_composites`` new ones from recurring sequences, each validated in the sandbox;
6. **prompt refinement**, only for agents configured with :meth:`configure_refinement`.

Every change goes to the audit trail. The pass runs on demand, or after
``improve_after_failures`` new failures: :meth:`notify` (called from the record path) only
counts under a lock, and every N failures starts a named daemon thread (or, with
``background=False``, marks the agent due for :meth:`improve_if_due`).
"""

from __future__ import annotations

import json
import logging
import random
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from toolwise.errors import InvalidArgumentError
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
from toolwise.improve.curation import plan_curation
from toolwise.improve.demonstrations import DemonstrationLibrary
from toolwise.improve.lessons import (
    ChatLessons,
    LessonBook,
    LessonWriter,
    TemplateLessons,
    cluster_failures,
    lesson_from,
)
from toolwise.improve.models import (
    AuditEntry,
    CompositeSpec,
    Demonstration,
    ImprovementReport,
    Lesson,
    PermissionLevel,
    PromptVersion,
    RefinementResult,
    Run,
)
from toolwise.improve.patterns import Pattern, find_patterns
from toolwise.improve.permissions import Review, count_uses, review_level
from toolwise.improve.prompts import PromptBook, PromptGate
from toolwise.improve.protocols import ChatModel, Evaluator
from toolwise.improve.runs import group_runs
from toolwise.improve.store import Item, KnowledgeStore, knowledge_store_for
from toolwise.models import ToolOutcome
from toolwise.storage.protocol import CallFilter

if TYPE_CHECKING:
    from typing import Protocol

    from langchain_core.tools import BaseTool

    from toolwise.storage.embeddings import EmbeddingFunction
    from toolwise.storage.protocol import OutcomeStore

    class Toolwise(Protocol):  # the runtime's parts the improver reads, until it takes them
        _clock: Callable[[], datetime]

        @property
        def store(self) -> OutcomeStore: ...
        @property
        def embedding(self) -> EmbeddingFunction: ...

        def flush(self, timeout: float | None = None) -> bool: ...


__all__ = ["Improver", "RefinementPlan"]

log = logging.getLogger("toolwise.improve")

_FLUSH_TIMEOUT = 5.0
_WATERMARK_ID = "lessons-watermark"
_MAX_USES_READ = 10_000
_MAX_RUNS_FOR_PROMPT = 50
_COUNTS = (
    "lessons_added",
    "lessons_merged",
    "lessons_dropped",
    "lessons_rejected",
    "demonstrations_added",
    "demonstrations_dropped",
    "composites_proposed",
    "composites_rejected",
    "composites_promoted",
    "composites_retired",
)


@dataclass(frozen=True)
class RefinementPlan:
    """What :meth:`Improver.improve` needs to refine an agent's prompt on its own.

    Args:
        prompt: the prompt in force when no revision was accepted yet.
        validation_tasks: held-out tasks passed to ``evaluate`` (at least one).
        evaluate: ``evaluate(prompt, task) -> float`` in [0, 1]; raising counts as 0.
        model: the chat model proposing revisions (default: the improver's).
    """

    prompt: str
    validation_tasks: Sequence[Any]
    evaluate: Evaluator
    model: ChatModel | None = None

    def __post_init__(self) -> None:
        if not self.validation_tasks:
            raise InvalidArgumentError(
                "validation_tasks", self.validation_tasks, "the gate needs at least one task"
            )
        if not callable(self.evaluate):
            raise InvalidArgumentError("evaluate", self.evaluate, "must be callable")


class Improver:
    """Self-improvement for the agents recorded in ``tw``: lessons, examples, composites,
    guarded prompt refinement, and an audit trail of every change.

    Args:
        tw: the :class:`~toolwise.Toolwise` whose records are the evidence.
        chat_model: writes lessons and proposes prompt revisions (any LangChain chat model);
            without one, lessons come from a template and prompts are not refined.
        tools: the agent's tools, needed to build (and validate) composites.
        config: bounds and thresholds, see :class:`ImproveConfig`.
        promotion: when composites gain permissions, see :class:`PromotionPolicy`.
        store: where lessons etc. live (default: beside ``tw``'s Chroma, same prefix).
        clock: "now" in UTC (default: ``tw``'s clock).
        seed: seeds the RNG (audit ids, which recorded inputs are replayed).
        background: run passes triggered by :meth:`notify` in a daemon thread (default) or
            only mark them due for :meth:`improve_if_due`.

    Thread-safe: one pass runs at a time; reads can run alongside. Call :meth:`close` to wait
    for a background pass.
    """

    def __init__(
        self,
        tw: Toolwise,
        *,
        chat_model: ChatModel | None = None,
        tools: Iterable[BaseTool] = (),
        config: ImproveConfig | None = None,
        promotion: PromotionPolicy | None = None,
        store: KnowledgeStore | None = None,
        clock: Callable[[], datetime] | None = None,
        seed: int | None = None,
        background: bool = True,
    ) -> None:
        if chat_model is not None and not isinstance(chat_model, ChatModel):
            raise InvalidArgumentError("chat_model", chat_model, "must have invoke(messages)")
        self._tw = tw
        self.config = config or ImproveConfig()
        self.promotion = promotion or PromotionPolicy()
        self.chat_model = chat_model
        self._clock: Callable[[], datetime] = clock or tw._clock
        self._rng = random.Random(seed)
        self._store = store if store is not None else knowledge_store_for(tw)
        self._audit = AuditLog(self._store, clock=self._clock, rng=self._rng)
        self._lessons = LessonBook(
            self._store, tw.embedding, self._audit, merge_threshold=self.config.merge_threshold
        )
        self._writer: LessonWriter = (
            ChatLessons(chat_model) if chat_model is not None else TemplateLessons()
        )
        self._demos = DemonstrationLibrary(
            self._store,
            tw.embedding,
            self._audit,
            min_score=self.config.min_demo_score,
            max_demonstrations=self.config.max_demonstrations,
        )
        self._prompts = PromptBook(self._store, self._audit)
        self._gate = PromptGate(
            self._prompts,
            self._audit,
            tw.embedding,
            max_changed_lines=self.config.max_changed_lines,
            drift_threshold=self.config.drift_threshold,
        )
        self._tools: dict[str, BaseTool] = {}
        self._plans: dict[str, RefinementPlan] = {}
        self._background = background
        self._lock = threading.Lock()  # counters, due set, tools, plans, thread
        # One writer at a time: a pass, a review, a retirement, a refinement or a rollback.
        # Re-entrant because a pass reviews composites and a review may retire one.
        self._pass_lock = threading.RLock()
        self._failures: dict[str, int] = {}
        self._due: list[str] = []
        self._thread: threading.Thread | None = None
        self._closed = False
        self.register_tools(tools)

    # -- configuration ------------------------------------------------------------------------

    def register_tools(self, tools: Iterable[BaseTool]) -> None:
        """Make tools available as composite steps (by name; a later one replaces)."""
        with self._lock:
            for tool in tools:
                self._tools[tool.name] = tool

    def configure_refinement(
        self,
        agent_id: str,
        *,
        prompt: str,
        validation_tasks: Sequence[Any],
        evaluate: Evaluator,
        model: ChatModel | None = None,
    ) -> None:
        """Let :meth:`improve` refine ``agent_id``'s prompt (it is never refined otherwise)."""
        plan = RefinementPlan(prompt, tuple(validation_tasks), evaluate, model)
        if (model or self.chat_model) is None:
            raise InvalidArgumentError("model", None, "prompt refinement needs a chat model")
        with self._lock:
            self._plans[agent_id] = plan

    # -- reads for the brief ------------------------------------------------------------------

    def lessons(
        self, task: str, k: int = 5, *, agent_id: str = "default", min_similarity: float = 0.0
    ) -> list[Lesson]:
        """The ``k`` lessons most similar to ``task``, best first."""
        _check_k(k)
        return [
            lesson
            for lesson, _ in self._lessons.find(agent_id, task, k, min_similarity=min_similarity)
        ]

    def lessons_for(
        self,
        task_text: str,
        k: int = 5,
        budget_chars: int = 600,
        *,
        agent_id: str = "default",
        min_similarity: float = 0.0,
    ) -> list[str]:
        """Lesson sentences for a brief: most similar first, total length ≤ ``budget_chars``.

        A lesson that does not fit is skipped (a shorter, less similar one may still fit).
        """
        if budget_chars < 0:
            raise InvalidArgumentError("budget_chars", budget_chars, "must be >= 0")
        chosen: list[str] = []
        used = 0
        for lesson in self.lessons(task_text, k, agent_id=agent_id, min_similarity=min_similarity):
            if used + len(lesson.text) <= budget_chars:
                chosen.append(lesson.text)
                used += len(lesson.text)
        return chosen

    def examples(self, task: str, k: int = 3, *, agent_id: str = "default") -> list[Demonstration]:
        """The ``k`` demonstrations whose task is most similar to ``task``, best first."""
        _check_k(k)
        return self._demos.find(agent_id, task, k)

    def examples_for(
        self, task_text: str, k: int = 3, *, agent_id: str = "default"
    ) -> list[Demonstration]:
        """Same as :meth:`examples`; the name the brief calls (render with ``.render()``)."""
        return self.examples(task_text, k, agent_id=agent_id)

    def all_lessons(self, agent_id: str = "default") -> list[Lesson]:
        """Every lesson of the agent, strongest support first."""
        return sorted(
            (lesson for lesson, _ in self._lessons.all(agent_id)),
            key=lambda lesson: (-lesson.support, lesson.id),
        )

    def demonstrations(self, agent_id: str = "default") -> list[Demonstration]:
        """Every demonstration of the agent, best score first."""
        return sorted(self._demos.all(agent_id), key=lambda d: (-d.score, d.id))

    def runs(self, agent_id: str = "default", *, limit: int | None = None) -> list[Run]:
        """The agent's runs from its newest ``max_records`` records, oldest first."""
        found = group_runs(self._window(agent_id), gap=self.config.run_gap)
        return found if limit is None else found[-limit:]

    # -- composites ---------------------------------------------------------------------------

    def composites(
        self, agent_id: str = "default", *, include_retired: bool = False
    ) -> list[CompositeSpec]:
        """Proposed composites (specs), newest first."""
        specs = [
            CompositeSpec.model_validate_json(item.payload)
            for item in self._store.load("composites", agent_id)
        ]
        specs = [s for s in specs if include_retired or s.status == "active"]
        return sorted(specs, key=lambda s: (s.proposed_at, s.name), reverse=True)

    def composite_tools(self, agent_id: str = "default") -> list[BaseTool]:
        """Runnable tools for the active composites whose steps are all registered.

        Each reads its permission level from the store at every call, so a promotion or a
        retirement takes effect without rebuilding the agent.
        """
        with self._lock:
            tools = dict(self._tools)
        built: list[BaseTool] = []
        for spec in self.composites(agent_id):
            if all(name in tools for name in spec.tools):
                built.append(self._build(spec, tools))
        return built

    def _build(self, spec: CompositeSpec, tools: dict[str, BaseTool]) -> CompositeTool:
        agent_id, name = spec.agent_id, spec.name
        return CompositeTool.build(
            spec,
            tools,
            level_of=lambda: self._level_of(agent_id, name),
            timeout=self.config.validation_timeout,
        )

    def _level_of(self, agent_id: str, name: str) -> PermissionLevel | None:
        for spec in self.composites(agent_id, include_retired=True):
            if spec.name == name:
                return spec.level if spec.status == "active" else None
        return None

    def _save(self, spec: CompositeSpec) -> None:
        self._store.put(
            "composites",
            spec.agent_id,
            [Item(spec.name, spec.model_dump_json(), spec.proposed_at.timestamp())],
        )

    def review_composites(self, agent_id: str = "default") -> list[Review]:
        """Promote or retire each active composite by its own record at its current level."""
        with self._pass_lock:
            return self._review_composites(agent_id)

    def _review_composites(self, agent_id: str) -> list[Review]:
        now = self._read_now()
        reviews = []
        for spec in self.composites(agent_id):
            records = self._tw.store.find(
                agent_id,
                CallFilter(tool=spec.name, since=spec.level_since),
                limit=_MAX_USES_READ,
                offset=0,
                now=now,
            )
            # Strictly after: the use that earned the last promotion belongs to the old level.
            uses, successes = count_uses(r for r in records if r.timestamp > spec.level_since)
            review = review_level(spec.level, uses, successes, self.promotion)
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
                self._retire(spec.name, agent_id, review.reason)
        return reviews

    def retire(self, name: str, *, agent_id: str = "default", reason: str) -> bool:
        """Retire a composite (it refuses to run from now on); False if there is none."""
        with self._pass_lock:
            return self._retire(name, agent_id, reason)

    def _retire(self, name: str, agent_id: str, reason: str) -> bool:
        for spec in self.composites(agent_id):
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

    def _propose(self, agent_id: str, patterns: Sequence[Pattern], report: dict[str, int]) -> None:
        with self._lock:
            tools = dict(self._tools)
        known = {s.name for s in self.composites(agent_id, include_retired=True)}
        proposed = 0
        for pattern in patterns:
            if proposed >= self.config.max_composites:
                return
            name = composite_name(pattern.tools)
            steps = [tools.get(t) for t in pattern.tools]
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
                report["composites_rejected"] += 1
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
            report["composites_proposed"] += 1

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
        by_id = {r.id: r for r in self._tw.store.get(ids, agent_id=agent_id)}
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
        chosen = self._rng.sample(replays, min(len(replays), self.config.max_replays))
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

    # -- prompt refinement --------------------------------------------------------------------

    def refine_prompt(
        self,
        current: str,
        runs: Sequence[Run] | Sequence[ToolOutcome] | None = None,
        validation_tasks: Sequence[Any] = (),
        model: ChatModel | None = None,
        evaluate: Evaluator | None = None,
        *,
        agent_id: str = "default",
    ) -> RefinementResult:
        """Propose a revision of ``current`` and keep it only if it passes the gate.

        Args:
            current: the system prompt in force.
            runs: runs (or raw records, grouped into runs) to learn from; default: the
                agent's latest 50 runs.
            validation_tasks: passed one by one to ``evaluate``; at least one.
            model: proposes the revision (default: the improver's chat model).
            evaluate: ``evaluate(prompt, task) -> float`` in [0, 1]; errors score 0.

        Returns:
            The decision; ``result.prompt`` is the prompt to use from now on. Accepted
            revisions, rejections and malformed output are all audited; the original is kept
            for :meth:`rollback`.

        Raises:
            InvalidArgumentError: no model, no ``evaluate``, or no validation tasks.
        """
        chosen = model or self.chat_model
        if chosen is None:
            raise InvalidArgumentError("model", None, "prompt refinement needs a chat model")
        if evaluate is None or not callable(evaluate):
            raise InvalidArgumentError("evaluate", evaluate, "give evaluate(prompt, task)")
        if runs is None:
            run_list = self.runs(agent_id, limit=_MAX_RUNS_FOR_PROMPT)
        elif all(isinstance(r, ToolOutcome) for r in runs):
            records = [r for r in runs if isinstance(r, ToolOutcome)]
            run_list = group_runs(records, gap=self.config.run_gap)
        else:
            run_list = [r for r in runs if isinstance(r, Run)]
        with self._pass_lock:
            return self._gate.refine(
                agent_id,
                current,
                runs=run_list,
                validation_tasks=tuple(validation_tasks),
                model=chosen,
                evaluate=evaluate,
                now=self._clock(),
            )

    def prompt(self, agent_id: str = "default") -> str | None:
        """The prompt in force after refinements and rollbacks (``None``: never refined)."""
        active = self._prompts.active(agent_id)
        return active.text if active is not None else None

    def prompt_history(self, agent_id: str = "default") -> list[PromptVersion]:
        """Every prompt version, original (version 0) first."""
        return self._prompts.history(agent_id)

    def rollback(
        self, agent_id: str = "default", *, to_original: bool = False, reason: str = ""
    ) -> str:
        """Undo the last accepted revision (or all of them) and return the prompt in force.

        Raises:
            InvalidArgumentError: nothing to roll back.
        """
        with self._pass_lock:
            return self._prompts.rollback(agent_id, to_original=to_original, reason=reason)

    # -- the loop -----------------------------------------------------------------------------

    def improve(self, agent_id: str | None = None) -> list[ImprovementReport]:
        """Run one bounded pass for ``agent_id`` (or every agent with records)."""
        agents = [agent_id] if agent_id is not None else self._tw.store.agents()
        return [self._improve_one(agent) for agent in agents]

    def _improve_one(self, agent_id: str) -> ImprovementReport:
        with self._pass_lock:
            started = self._clock()
            counts: dict[str, int] = dict.fromkeys(_COUNTS, 0)
            window = self._window(agent_id)
            failures = self._new_failures(agent_id, window)
            self._learn_lessons(failures, counts)
            self._curate(agent_id, counts)
            runs = group_runs(window, gap=self.config.run_gap)
            if runs and len(window) >= self.config.max_records:
                runs = runs[1:]  # it starts at the window's edge: maybe cut, so not evidence
            added, dropped = self._demos.learn(agent_id, runs)
            counts["demonstrations_added"], counts["demonstrations_dropped"] = added, dropped
            for review in self._review_composites(agent_id):
                counts["composites_promoted"] += review.action == "promote"
                counts["composites_retired"] += review.action == "retire"
            if self.config.max_composites:
                patterns = find_patterns(
                    runs,
                    min_occurrences=self.config.min_occurrences,
                    min_length=self.config.min_sequence_length,
                    max_length=self.config.max_sequence_length,
                    limit=self.config.max_composites * 4,  # some may be known or unbuildable
                )
                self._propose(agent_id, patterns, counts)
            refinement = self._refine_if_planned(agent_id, runs)
            return ImprovementReport(
                agent_id=agent_id,
                started_at=started,
                records_scanned=len(window),
                failures_scanned=len(failures),
                refinement=refinement,
                **counts,
            )

    def _refine_if_planned(self, agent_id: str, runs: list[Run]) -> RefinementResult | None:
        with self._lock:
            plan = self._plans.get(agent_id)
        model = (plan.model or self.chat_model) if plan is not None else None
        if plan is None or model is None:
            return None
        return self._gate.refine(
            agent_id,
            self.prompt(agent_id) or plan.prompt,
            runs=runs[-_MAX_RUNS_FOR_PROMPT:],
            validation_tasks=plan.validation_tasks,
            model=model,
            evaluate=plan.evaluate,
            now=self._clock(),
        )

    def _read_now(self) -> datetime:
        self._tw.flush(timeout=_FLUSH_TIMEOUT)  # read-your-writes when the store is up
        return self._clock()

    def _window(self, agent_id: str) -> list[ToolOutcome]:
        now = self._read_now()
        return self._tw.store.find(
            agent_id, CallFilter(), limit=self.config.max_records, offset=0, now=now
        )

    def _new_failures(self, agent_id: str, window: list[ToolOutcome]) -> list[ToolOutcome]:
        """Failures in ``window`` later than the last pass's watermark; moves the watermark."""
        state = {i.id: i for i in self._store.load("state", agent_id)}.get(_WATERMARK_ID)
        seen_until, seen_ids = 0.0, set()
        if state is not None:
            mark = json.loads(state.payload)
            seen_until, seen_ids = float(mark["until"]), set(mark["ids"])

        def unseen(record: ToolOutcome) -> bool:
            moment = record.timestamp.timestamp()
            return moment > seen_until or (moment == seen_until and record.id not in seen_ids)

        fresh = [r for r in window if r.outcome == "failure" and unseen(r)]
        if fresh:
            until = max(r.timestamp.timestamp() for r in fresh)
            ids = sorted(
                {r.id for r in fresh if r.timestamp.timestamp() == until}
                | (seen_ids if until == seen_until else set())
            )
            payload = json.dumps({"until": until, "ids": ids})
            self._store.put("state", agent_id, [Item(_WATERMARK_ID, payload, until)])
        return fresh

    def _learn_lessons(self, failures: list[ToolOutcome], counts: dict[str, int]) -> None:
        for cluster in cluster_failures(failures)[: self.config.max_new_lessons]:
            text = self._writer(cluster)
            if text is None:  # malformed model output: logged by the writer, nothing changes
                counts["lessons_rejected"] += 1
                continue
            lesson = lesson_from(cluster, text, self._writer.source)
            verdict = self._lessons.absorb(
                lesson, reason=f"{len(cluster.records)} new failure(s) of {cluster.tool}"
            )
            counts["lessons_added" if verdict == "added" else "lessons_merged"] += 1

    def _curate(self, agent_id: str, counts: dict[str, int]) -> None:
        plan = plan_curation(
            self._lessons.all(agent_id),
            max_lessons=self.config.max_lessons,
            merge_threshold=self.config.merge_threshold,
            half_life=self.config.lesson_half_life,
            now=self._clock(),
        )
        for merge in plan.merges:
            self._lessons.replace(
                merge.merged, merge.absorbed, reason="curation: similar lessons merged"
            )
            counts["lessons_merged"] += len(merge.absorbed)
        if plan.drops:
            self._lessons.drop(
                plan.drops,
                reason=f"curation: more than {self.config.max_lessons} lessons; the weakest "
                "(support × recency) dropped",
            )
            counts["lessons_dropped"] += len(plan.drops)

    # -- triggering ---------------------------------------------------------------------------

    def notify(self, outcome: ToolOutcome) -> None:
        """Count a new record; every ``improve_after_failures`` failures, schedule a pass.

        Cheap and non-blocking (a dict update under a lock): safe on the record path.
        Never raises.
        """
        threshold = self.config.improve_after_failures
        if threshold is None or outcome.outcome != "failure":
            return
        agent = outcome.agent_id
        with self._lock:
            count = self._failures.get(agent, 0) + 1
            if count < threshold:
                self._failures[agent] = count
                return
            self._failures[agent] = 0
            if agent not in self._due:
                self._due.append(agent)
            start = (
                self._background
                and not self._closed
                and (self._thread is None or not self._thread.is_alive())
            )
            if start:
                self._thread = threading.Thread(
                    target=self._drain, name="toolwise-improve", daemon=True
                )
                self._thread.start()

    def due(self) -> list[str]:
        """Agents whose failure count reached the threshold and await a pass."""
        with self._lock:
            return list(self._due)

    def improve_if_due(self) -> list[ImprovementReport]:
        """Run the passes :meth:`notify` scheduled (inline); ``[]`` when none is due."""
        reports: list[ImprovementReport] = []
        while True:
            with self._lock:
                if not self._due:
                    return reports
                agent = self._due.pop(0)
            reports.append(self._improve_one(agent))

    def _drain(self) -> None:
        try:
            self.improve_if_due()
        except Exception as exc:  # a background pass must never take the process down
            log.warning("toolwise.improve: background improvement failed: %s", exc)

    def close(self, timeout: float = 10.0) -> bool:
        """Stop scheduling passes and wait up to ``timeout`` s for a running one."""
        with self._lock:
            self._closed = True
            thread = self._thread
        if thread is not None:
            thread.join(timeout)
            return not thread.is_alive()
        return True

    # -- forgetting and the audit trail -------------------------------------------------------

    def on_forget(
        self,
        agent_id: str,
        *,
        tool: str | None = None,
        ids: Sequence[str] | None = None,
        removed: int = 0,
    ) -> None:
        """Audit a ``tw.forget`` and drop what was learnt from the forgotten records.

        A forgotten ``tool`` takes its lessons, the demonstrations using it and the composites
        containing it; forgotten ``ids`` take the lessons and demonstrations built on them;
        forgetting everything takes all of the agent's lessons, demonstrations and composites.
        The prompt history is kept (it is not derived from records alone).
        """
        with self._pass_lock:
            self._forget(agent_id, tool, ids, removed)

    def _forget(
        self, agent_id: str, tool: str | None, ids: Sequence[str] | None, removed: int
    ) -> None:
        what = f"tool {tool}" if tool else (f"{len(ids)} record id(s)" if ids else "every record")
        self._audit.record(
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
        lessons = [
            lesson
            for lesson, _ in self._lessons.all(agent_id)
            if everything or lesson.tool == tool or gone.intersection(lesson.source_ids)
        ]
        self._lessons.drop(lessons, reason=reason)
        demos = [
            d
            for d in self._demos.all(agent_id)
            if everything or any(s.tool == tool for s in d.steps) or gone.intersection(d.record_ids)
        ]
        self._demos.drop(demos, reason=reason)
        for spec in self.composites(agent_id):
            if everything or (tool is not None and tool in spec.tools):
                self._retire(spec.name, agent_id, reason)

    def audit(
        self,
        agent_id: str | None = None,
        limit: int = 50,
        since: datetime | None = None,
    ) -> list[AuditEntry]:
        """Changes made by self-improvement, newest first (every agent when ``None``)."""
        return self._audit.entries(agent_id, limit=limit, since=since)


def _check_k(k: int) -> None:
    if not 1 <= k <= 100:
        raise InvalidArgumentError("k", k, "must be between 1 and 100")
