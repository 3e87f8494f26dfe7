"""The one core behind every way in: turn a model turn into a ranked, fenced brief.

The LangGraph node, the ``pre_model_hook`` and the agent middleware all call
:meth:`Advisor.advise` (or :meth:`Advisor.aadvise`) and only differ in where they put the
result. One decision per model turn:

1. labels (agent, environment) and the task type are resolved (:mod:`toolwise.advice.task`);
2. the candidate tools are ranked by the learnt view (the strategy's sample, so exploration
   happens here);
3. the most similar past failures of those tools are recalled from the store;
4. the mode hides tools or forces one (:mod:`toolwise.advice.modes`);
5. the text is laid out within the budget, recalled text fenced (:mod:`toolwise.advice.format`).

Advice never breaks an agent: if the store or the view fails, the brief says history is
unavailable and the run goes on (logged).
"""

from __future__ import annotations

import asyncio
import logging
import random
import threading
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, Unpack

from toolwise import _process
from toolwise._checks import clipped
from toolwise.advice.confirm import ConfirmationPolicy
from toolwise.advice.format import (
    Failure,
    RankedTool,
    failure_line,
    header_lines,
    learnt_line,
    no_history_line,
    render,
    tool_line,
)
from toolwise.advice.models import (
    AdviceFields,
    AdviceOptions,
    Brief,
    TaskQuery,
    tool_name,
)
from toolwise.advice.modes import forced_tool, hidden_tools
from toolwise.advice.pools import collapse, expand, provider_line
from toolwise.advice.protocols import AdviceRuntime
from toolwise.advice.recall import FailureRecall
from toolwise.advice.task import TaskMatcher, TaskResolution, resolve_labels, resolve_task
from toolwise.advice.task_learning import TaskTypeLearner
from toolwise.errors import InvalidArgumentError, StoreUnavailableError
from toolwise.learning.models import Recommendation
from toolwise.learning.quantile import betaincinv
from toolwise.models import new_id
from toolwise.recording.context import CallContext, RecordingDefaults, latest_human_text
from toolwise.recording.judge import Verdict

__all__ = ["Advisor"]

log = logging.getLogger("toolwise.advice")

NO_TOOLS = "[toolwise] No tools to advise on."
UNAVAILABLE = (
    "[toolwise] Tool history is unavailable right now: choose tools by their descriptions."
)
NO_RECALL = "[toolwise] Past failures not recalled this turn: the outcome store is unavailable."
RECALL_PENDING = (
    "[toolwise] Past failures not recalled from the store this turn: its answer is still"
    " loading (the next turns have it)."
)
RECALL_LATE = (
    "[toolwise] Past failures not recalled this turn: the outcome store did not answer in time."
)
RECALL_NEARBY = (
    "[toolwise] Past failures recalled for a similar request of this task: the store's answer"
    " for this one is still loading."
)
_NARROWER = 1e-6  # an interval this much narrower than the bare prior's has evidence behind it


def _interval_width(alpha: float, beta: float) -> float:
    """Width of the 90 % equal-tailed interval of Beta(alpha, beta): the bare prior's."""
    low, high = betaincinv(alpha, beta, [0.05, 0.95])
    return float(high - low)


class Advisor:
    """Briefs the model before it picks a tool; shared by the node, the hook and the middleware.

    Args:
        runtime: whose records and learnt view are used (``tw.runtime``, or anything that
            satisfies :class:`~toolwise.advice.AdviceRuntime`).
        options: an :class:`AdviceOptions`; or pass its fields as keyword arguments.

    Raises:
        InvalidArgumentError: an option is invalid (``.field`` names it), or ``runtime`` is
            not one.

    Thread-safe; one advisor serves every thread and task of an agent.
    """

    def __init__(
        self,
        runtime: AdviceRuntime,
        options: AdviceOptions | None = None,
        /,
        **fields: Unpack[AdviceFields],
    ) -> None:
        if not isinstance(runtime, AdviceRuntime):
            reason = "pass tw.runtime (or build it with tw.advisor(...))"
            raise InvalidArgumentError("runtime", runtime, reason)
        if options is None:
            options = AdviceOptions(**fields)
        elif fields:  # validated again as a whole, so a bad field is still named
            current = {name: getattr(options, name) for name in AdviceOptions.model_fields}
            options = AdviceOptions(**{**current, **fields})
        self.runtime = runtime
        self.options = options
        runtime.warm_up()  # the first turn should not wait for the view to be built
        self.confirmation = ConfirmationPolicy.from_options(options)
        self._matcher = TaskMatcher(runtime.embedding, options.similarity_threshold)
        self._learner = (
            TaskTypeLearner(
                runtime.embedding,
                runtime.task_clusters,
                options.similarity_threshold,
                redact=lambda text: runtime.view().stored_label(text),
            )
            if options.learn_task_types
            else None
        )
        self._seeds = random.Random(options.seed) if options.seed is not None else None
        self._seed_lock = threading.Lock()
        self._recall = FailureRecall(runtime, options)  # its cache renews itself after a fork
        config = runtime.learning_config
        self._bare_width = _interval_width(config.prior_alpha, config.prior_beta)
        # The runtime's injected clock, so recall ("recent"), ranking and tests agree on "now".
        self._clock: Callable[[], datetime] = runtime.clock
        _process.renew_after_fork(self)

    def after_fork(self) -> None:
        """In a forked child: fresh locks (one a parent thread held at the fork would hang
        the child's first brief); what was matched and learnt stays."""
        self._seed_lock = threading.Lock()
        self._matcher.after_fork()
        if self._learner is not None:
            self._learner.after_fork()

    # -- the decision ----------------------------------------------------------------------

    def advise(
        self,
        messages: Sequence[Any] | None = None,
        state: Mapping[str, Any] | None = None,
        config: Mapping[str, Any] | None = None,
        tools: Sequence[Any] | None = None,
    ) -> Brief:
        """Decide and brief for one model turn.

        Args:
            messages: the conversation the model will see (default: ``state["messages"]``).
            state: the graph state; its ``toolwise`` key may carry labels.
            config: the run's ``RunnableConfig``; ``metadata["toolwise_*"]`` keys override.
            tools: the candidate tools (``BaseTool``, tool dicts or names); default: the
                options' ``tools``.

        Returns:
            A :class:`Brief`; never raises for store or learning failures.

        Raises:
            InvalidArgumentError: naming ``tools`` when it is not a list (a bare string
                would be read as one tool per character, as the options refuse it).
                Naming ``config`` or ``config['metadata']`` when either is not a mapping.

        Blocking: reads the learnt view (in memory) and, when ``top_k > 0``, runs one vector
        query on the store (its cost: ``docs/preselection.md``). Use :meth:`aadvise` on an
        event loop.
        """
        if tools is not None and (
            isinstance(tools, str | bytes) or not isinstance(tools, Sequence | set | frozenset)
        ):
            raise InvalidArgumentError("tools", tools, "must be a list of tools or tool names")
        state = state if isinstance(state, Mapping) else {}
        if messages is None:
            found = state.get("messages")
            messages = found if isinstance(found, Sequence) else ()
        metadata = _config_metadata(config)
        options = self.options
        labels = resolve_labels(options, state, metadata)
        candidates = options.tools if tools is None else tools
        names = list(dict.fromkeys(n for n in (tool_name(t) for t in candidates) if n))
        ranked_names, pools = expand(candidates, names)
        decision_id = new_id()

        def brief(text: str, **fields: Any) -> Brief:
            return Brief(
                decision_id=decision_id,
                agent_id=labels.agent_id,
                environment=labels.environment,
                mode=options.mode,
                text=text,
                **{"task_type": labels.task_type, **fields},
            )

        if not names:
            return brief(NO_TOOLS)
        text = latest_human_text(messages)
        now = self._clock()
        try:
            view = self.runtime.view()
            task = resolve_task(
                labels,
                TaskQuery(text, messages, state, metadata),
                resolver=options.task_resolver,
                infer=lambda request: self._infer(
                    labels.agent_id, request, view.known_task_types(labels.agent_id)
                ),
            )
            ranking, providers = collapse(
                view.recommend(
                    task_type=task.ranking_key,
                    tools=ranked_names,
                    agent_id=labels.agent_id,
                    environment=labels.environment or None,
                    objective=options.objective,
                    strategy=options.strategy,
                    seed=self._next_seed(),
                    now=now,
                ),
                pools,
            )
        except StoreUnavailableError as exc:  # the feed warned once for this outage
            log.debug("toolwise: no advice this turn: %s", exc)
            return brief(UNAVAILABLE)
        except Exception as exc:  # the view could not be built (store down at first use)
            log.warning("toolwise: no advice this turn, the learnt view failed: %s", exc)
            return brief(UNAVAILABLE)

        hidden = hidden_tools(ranking, options.mode, options.filter_threshold)
        forced = forced_tool(
            ranking,
            hidden,
            options.mode,
            messages,
            gated=self._gated(candidates) if options.mode == "route" else (),
            untried=options.route_untried,
        )
        visible = [rec for rec in ranking if rec.tool not in hidden]
        failures, recalled = self._recall.recall(
            labels.agent_id, task, text, {r.tool for r in visible}, now
        )
        learnt = self._learnt(labels.agent_id, text)
        # The header names the task type as records store it: the label alphabet would turn
        # a redactable "password=hunter2" into "password_hunter2" and put it in the prompt.
        shown = view.stored_label(task.task_type)
        brief_text = self._text(
            task, visible, failures, forced, learnt, providers=providers, shown_task_type=shown
        )
        notice = {
            "nearby": RECALL_NEARBY,
            "pending": RECALL_PENDING,
            "late": RECALL_LATE,
            "unavailable": NO_RECALL,
        }.get(recalled)
        if notice is not None and len(brief_text) + len(notice) < options.budget:
            brief_text += "\n" + notice
        first = visible[0] if visible else None
        return brief(
            brief_text,
            task_type=task.task_type,
            inferred=task.inferred,
            task_source=task.source,
            similarity=task.similarity,
            recommendations=tuple(ranking),
            recommended_tool=first.tool if first else None,
            hidden_tools=hidden,
            forced_tool=forced,
            propensity=first.propensity if first else None,
        )

    async def aadvise(
        self,
        messages: Sequence[Any] | None = None,
        state: Mapping[str, Any] | None = None,
        config: Mapping[str, Any] | None = None,
        tools: Sequence[Any] | None = None,
    ) -> Brief:
        """:meth:`advise` for event loops: the same core, run in a worker thread.

        The core queries Chroma (and may call a remote embedding API) through blocking
        clients; on the loop that would stall every other task for the query's duration.
        """
        return await asyncio.to_thread(self.advise, messages, state, config, tools)

    # -- parts --------------------------------------------------------------------------------

    def _infer(self, agent_id: str, text: str, known: Sequence[str]) -> TaskResolution:
        """The nearest known (or learnt) type to the request; a new one when none is near."""
        if self._learner is not None:
            return self._learner.resolve(agent_id, text, known)
        return self._matcher.match(text, known)

    def _next_seed(self) -> int | None:
        if self._seeds is None:
            return None
        with self._seed_lock:
            return self._seeds.randrange(2**32)

    def _gated(self, candidates: Sequence[Any]) -> set[str]:
        """The candidates that need a human's approval: ``route`` never forces them."""
        gated = set()
        for tool in candidates:
            name = tool_name(tool)
            if name and self.confirmation.reason(name, tool) is not None:
                gated.add(name)
        return gated

    def _evidence(self, rec: Recommendation) -> str:
        if rec.observations > 0:
            return "own"
        low, high = rec.credible_interval
        if high - low < self._bare_width - _NARROWER:
            return "borrowed"
        return "none"

    def _learnt(self, agent_id: str, text: str) -> list[str]:
        """Lesson and demonstration lines from self-improvement (empty when off or failing)."""
        options = self.options
        if not text.strip() or (options.lessons == 0 and options.demonstrations == 0):
            return []
        if self._recall.store_down():  # follow the breaker: no store call, no warning per turn
            return []
        lines: list[str] = []
        try:
            improver = self.runtime.improver
            if options.lessons:
                lines.extend(
                    f"lesson: {lesson}"
                    for lesson in improver.lessons_for(
                        text,
                        options.lessons,
                        budget_chars=options.budget // 3,
                        agent_id=agent_id,
                    )
                )
            if options.demonstrations:
                lines.extend(
                    f"example: {demo.render()}"
                    for demo in improver.examples_for(
                        text, options.demonstrations, agent_id=agent_id
                    )
                )
        except StoreUnavailableError as exc:  # the store's breaker logs the outage once
            log.debug("toolwise: no lessons this turn: %s", exc)
        except Exception as exc:  # advice must not fail a turn because lessons did
            log.warning("toolwise: reading lessons for the brief failed: %s", exc)
        return lines

    def _text(
        self,
        task: TaskResolution,
        visible: Sequence[Recommendation],
        failures: Sequence[Failure],
        forced: str | None,
        learnt: Sequence[str] = (),
        *,
        providers: Mapping[str, list[Recommendation]] | None = None,
        shown_task_type: str,
    ) -> str:
        ranked = [RankedTool(rec, self._evidence(rec)) for rec in visible]
        lines = [tool_line(i, r) for i, r in enumerate(ranked, start=1)]
        for i, rec in enumerate(visible):  # a pool: its providers' records under it
            if providers and rec.tool in providers:
                lines[i] += "\n" + provider_line(providers[rec.tool])
        alert = next((rec.infra_alert for rec in visible if rec.infra_alert), None) or ""
        if not failures and not learnt and not alert and all(r.evidence == "none" for r in ranked):
            return no_history_line(forced)
        head = header_lines(
            task_type=shown_task_type,
            inferred=task.inferred,
            new_task=task.source == "new",
            forced_tool=forced,
        )
        return render(
            head=head,
            tools=lines,
            alert=alert,
            failures=[learnt_line(line) for line in learnt] + [failure_line(f) for f in failures],
            budget=self.options.budget,
        )

    # -- confirmation --------------------------------------------------------------------------

    def record_refusal(
        self,
        *,
        tool: str,
        args: Any,
        tool_call_id: str,
        state: Any,
        metadata: Mapping[str, Any] | None,
        error_type: str,
        message: str,
    ) -> None:
        """Record a call that did not run because it was refused (``outcome="refused"``).

        Labelled like the records of calls that ran (same decision id and recommendation),
        never charged to the tool by the learning layer. Never raises.
        """
        options = self.options
        defaults = RecordingDefaults(
            agent_id=options.agent_id,
            task_type=options.task_type,
            environment=options.environment,
        )
        try:
            context = CallContext.resolve(defaults, metadata, state)
            recorder = self.runtime.recorder
            call = recorder.start(
                tool, args, context, defaults, source="confirmation", tool_call_id=tool_call_id
            )
            recorder.finish(call, verdict=Verdict("refused", 0.0, error_type, message, "refused"))
        except Exception as exc:  # recording never fails the agent
            log.warning("toolwise: could not record the refusal of %s: %s", clipped(tool), exc)


def _config_metadata(config: object) -> Mapping[str, Any]:
    """The ``metadata`` of a ``RunnableConfig``; refused, naming it, when not a mapping."""
    if config is None:
        return {}
    if not isinstance(config, Mapping):
        raise InvalidArgumentError("config", config, "must be a RunnableConfig (a mapping)")
    metadata = config.get("metadata")
    if metadata is None:
        return {}
    if not isinstance(metadata, Mapping):
        raise InvalidArgumentError("config['metadata']", metadata, "must be a mapping")
    return metadata
