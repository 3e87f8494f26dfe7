"""``Improver``: the improvement loop beside the production loop, and its public surface.

It wires the parts — :class:`~.lesson_book.LessonBook`, :class:`~.demonstrations.
DemonstrationLibrary`, :class:`~.composite_library.CompositeLibrary`, :class:`~.prompts.
PromptBook` and the audit log, all in one knowledge store — and takes from outside only what
it uses: an :class:`~.protocols.OutcomeReader`, an embedding function, a clock and a flush.
A pass (:mod:`.passes`) reads only the records after the agent's watermark; passes run on
demand (:meth:`Improver.improve`) or after N failures (:mod:`.trigger`). The reads for a
brief (lessons, demonstrations) are those of :class:`~.knowledge.KnowledgeReader`, which
``Improver`` extends.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from toolwise.errors import InvalidArgumentError
from toolwise.improve.audit import AuditLog
from toolwise.improve.composite_library import CompositeLibrary
from toolwise.improve.config import ImproveConfig, PromotionPolicy
from toolwise.improve.demonstrations import DemonstrationLibrary
from toolwise.improve.forgetting import forget_derived
from toolwise.improve.knowledge import KnowledgeReader
from toolwise.improve.lesson_book import LessonBook
from toolwise.improve.lessons import ChatLessons, LessonWriter, TemplateLessons
from toolwise.improve.models import (
    AuditEntry,
    CompositeSpec,
    ImprovementReport,
    PromptVersion,
    RefinementResult,
    Run,
)
from toolwise.improve.passes import PassRunner
from toolwise.improve.permissions import Review
from toolwise.improve.progress import ProgressBook
from toolwise.improve.prompts import PromptBook, PromptGate
from toolwise.improve.protocols import ChatModel, Clock, Evaluator, Flush, OutcomeReader
from toolwise.improve.refinement import PromptRefiner, RefinementPlan
from toolwise.improve.runs import group_runs
from toolwise.improve.store import KnowledgeStore, knowledge_store_for
from toolwise.improve.trigger import PassTrigger
from toolwise.models import ToolOutcome, utcnow
from toolwise.storage.embeddings import EmbeddingFunction
from toolwise.storage.protocol import CallFilter

if TYPE_CHECKING:
    from langchain_core.tools import BaseTool

__all__ = ["Improver"]

_FLUSH_TIMEOUT = 5.0
_RECENT_RECORDS = 2_000  # records behind runs() and a planned refinement: the newest


class Improver(KnowledgeReader):
    """Self-improvement for the agents whose records ``outcomes`` holds: lessons, examples,
    composites, guarded prompt refinement, and an audit trail of every change.

    Args:
        outcomes: the records that are the evidence (any outcome store, e.g. ``tw.store``).
        embedding: vectors for lessons, demonstrations and prompts (the outcome store's).
        store: where lessons etc. live (default: beside ``outcomes`` if it lends its Chroma
            client, see :func:`~toolwise.improve.store.knowledge_store_for`; else memory).
        clock: "now" in UTC.
        flush: ``flush(timeout)`` called before reading, so a pass sees the caller's own
            latest records (e.g. ``tw.flush``); ``None`` reads what is stored.
        chat_model: writes lessons and proposes prompt revisions (any LangChain chat model);
            without one, lessons come from a template and prompts are not refined.
        tools: the agent's tools, needed to build (and validate) composites.
        config: bounds and thresholds, see :class:`ImproveConfig`.
        promotion: when composites gain permissions, see :class:`PromotionPolicy`.
        seed: seeds the RNG (audit ids, which recorded inputs are replayed).
        background: run passes triggered by :meth:`notify` in a daemon thread (default) or
            only mark them due for :meth:`improve_if_due`.

    Thread-safe: one pass runs at a time; reads can run alongside. Call :meth:`close` to wait
    for a background pass.
    """

    def __init__(
        self,
        outcomes: OutcomeReader,
        *,
        embedding: EmbeddingFunction,
        store: KnowledgeStore | None = None,
        clock: Clock = utcnow,
        flush: Flush | None = None,
        chat_model: ChatModel | None = None,
        tools: Iterable[BaseTool] = (),
        config: ImproveConfig | None = None,
        promotion: PromotionPolicy | None = None,
        seed: int | None = None,
        background: bool = True,
    ) -> None:
        if chat_model is not None and not isinstance(chat_model, ChatModel):
            raise InvalidArgumentError("chat_model", chat_model, "must have invoke(messages)")
        self.config = config or ImproveConfig()
        self.promotion = promotion or PromotionPolicy()
        self.chat_model = chat_model
        self._outcomes = outcomes
        self._clock = clock
        self._flush = flush
        rng = random.Random(seed)
        self._store = store if store is not None else knowledge_store_for(outcomes, embedding)
        self._audit = AuditLog(self._store, clock=clock, rng=rng)
        super().__init__(
            LessonBook(
                self._store, embedding, self._audit, merge_threshold=self.config.merge_threshold
            ),
            DemonstrationLibrary(
                self._store,
                embedding,
                self._audit,
                min_score=self.config.min_demo_score,
                max_demonstrations=self.config.max_demonstrations,
            ),
        )
        self._composites = CompositeLibrary(
            self._store,
            self._audit,
            outcomes,
            config=self.config,
            promotion=self.promotion,
            clock=clock,
            rng=random.Random(rng.getrandbits(64)),
        )
        self._prompts = PromptBook(self._store, self._audit)
        self._gate = PromptGate(
            self._prompts,
            self._audit,
            embedding,
            max_changed_lines=self.config.max_changed_lines,
            drift_threshold=self.config.drift_threshold,
        )
        self._progress = ProgressBook(self._store, keep=max(6, 2 * self.config.max_replays))
        writer: LessonWriter = ChatLessons(chat_model) if chat_model else TemplateLessons()
        self._passes = PassRunner(
            outcomes,
            lessons=self._lessons,
            writer=writer,
            demonstrations=self._demos,
            composites=self._composites,
            progress=self._progress,
            config=self.config,
            clock=clock,
        )
        self._refiner = PromptRefiner(
            self._gate,
            self._prompts,
            chat_model=chat_model,
            recent_runs=self.runs,
            run_gap=self.config.run_gap,
            clock=clock,
        )
        # One writer at a time: a pass, a review, a retirement, a refinement or a rollback.
        # Re-entrant because a pass reviews composites and a review may retire one.
        self._pass_lock = threading.RLock()
        self._trigger = PassTrigger(
            self._improve_one, every=self.config.improve_after_failures, background=background
        )
        self.register_tools(tools)

    # -- configuration ------------------------------------------------------------------------

    def register_tools(self, tools: Iterable[BaseTool]) -> None:
        """Make tools available as composite steps (by name; a later one replaces)."""
        self._composites.register_tools(tools)

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
        self._refiner.configure(agent_id, plan)

    # -- reads (lessons and demonstrations: see KnowledgeReader) -------------------------------

    def runs(self, agent_id: str = "default", *, limit: int | None = None) -> list[Run]:
        """The agent's runs from its newest 2,000 records, oldest first."""
        records = self._outcomes.find(
            agent_id, CallFilter(), limit=_RECENT_RECORDS, offset=0, now=self._read_now()
        )
        found = group_runs(records, gap=self.config.run_gap)
        return found if limit is None else found[-limit:]

    # -- composites ---------------------------------------------------------------------------

    def composites(
        self, agent_id: str = "default", *, include_retired: bool = False
    ) -> list[CompositeSpec]:
        """Proposed composites (specs), newest first."""
        return self._composites.specs(agent_id, include_retired=include_retired)

    def composite_tools(self, agent_id: str = "default") -> list[BaseTool]:
        """Runnable tools for the active composites whose steps are all registered.

        Each reads its permission level from the store at every call, so a promotion or a
        retirement takes effect without rebuilding the agent.
        """
        return self._composites.tools(agent_id)

    def review_composites(self, agent_id: str = "default") -> list[Review]:
        """Promote or retire each active composite by its own record at its current level."""
        with self._pass_lock, self._audit.batch():
            return self._composites.review(agent_id, now=self._read_now())

    def retire(self, name: str, *, agent_id: str = "default", reason: str) -> bool:
        """Retire a composite (it refuses to run from now on); False if there is none."""
        with self._pass_lock:
            return self._composites.retire(name, agent_id, reason)

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
        with self._pass_lock:
            return self._refiner.refine(
                agent_id,
                current,
                runs=runs,
                validation_tasks=validation_tasks,
                model=model,
                evaluate=evaluate,
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
        """Run one bounded pass over the new records of ``agent_id`` (or every agent)."""
        agents = [agent_id] if agent_id is not None else self._outcomes.agents()
        return [self._improve_one(agent) for agent in agents]

    def _improve_one(self, agent_id: str) -> ImprovementReport:
        with self._pass_lock, self._audit.batch():
            return self._passes.run(
                agent_id, now=self._read_now(), refine=self._refiner.refine_if_planned
            )

    def _read_now(self) -> datetime:
        if self._flush is not None:
            self._flush(_FLUSH_TIMEOUT)  # read-your-writes when the store is up
        return self._clock()

    def notify(self, outcome: ToolOutcome) -> None:
        """Count a new record; every ``improve_after_failures`` failures, schedule a pass.

        Cheap and non-blocking (a dict update under a lock): safe on the record path.
        """
        self._trigger.notify(outcome)

    def due(self) -> list[str]:
        """Agents whose failure count reached the threshold and await a pass."""
        return self._trigger.due()

    def improve_if_due(self) -> list[ImprovementReport]:
        """Run the passes :meth:`notify` scheduled (inline); ``[]`` when none is due."""
        return self._trigger.run_due()

    def close(self, timeout: float = 10.0) -> bool:
        """Stop scheduling passes and wait up to ``timeout`` s for a running one."""
        return self._trigger.close(timeout)

    # -- forgetting and the audit trail -------------------------------------------------------

    def on_forget(
        self,
        agent_id: str,
        *,
        tool: str | None = None,
        ids: Sequence[str] | None = None,
        removed: int = 0,
    ) -> None:
        """Audit a ``tw.forget`` and drop what was learnt from the forgotten records (see
        :mod:`toolwise.improve.forgetting`)."""
        with self._pass_lock, self._audit.batch():
            forget_derived(
                agent_id,
                tool=tool,
                ids=ids,
                removed=removed,
                audit=self._audit,
                lessons=self._lessons,
                demonstrations=self._demos,
                composites=self._composites,
                progress=self._progress,
            )

    def audit(
        self,
        agent_id: str | None = None,
        limit: int = 50,
        since: datetime | None = None,
    ) -> list[AuditEntry]:
        """Changes made by self-improvement, newest first (every agent when ``None``)."""
        return self._audit.entries(agent_id, limit=limit, since=since)
