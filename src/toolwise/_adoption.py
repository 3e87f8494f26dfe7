"""The ways into an agent, one method each: what ``tw.callback()``, ``tw.middleware()`` … build.

Mixed into :class:`~toolwise.Toolwise`. Each method validates its labels once
(:meth:`Adoption.defaults`) and builds an adapter from :mod:`toolwise.integrations` around the
runtime's recorder and, for pre-selection, an :class:`~toolwise.advice.Advisor` — the same
objects a caller can build by hand from ``tw.runtime``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Unpack, cast

from toolwise._checks import check_int, check_number, check_seconds, check_text
from toolwise.advice.fields import AdviceFields, BriefOptions
from toolwise.errors import InvalidArgumentError
from toolwise.learning.models import Objective
from toolwise.models import check_agent_id
from toolwise.recording.context import RecordingDefaults, RecordingLabels
from toolwise.recording.judge import JudgeSpec, check_judge
from toolwise.recording.records import MAX_COST

if TYPE_CHECKING:
    from langchain_core.runnables import Runnable
    from langchain_core.tools import BaseTool
    from tenacity.wait import WaitBaseT

    from toolwise._runtime import Runtime
    from toolwise.advice import Advisor
    from toolwise.advice.models import AdviceOptions
    from toolwise.integrations.langchain import (
        ConfirmHook,
        InstrumentedTool,
        PooledTool,
        ToolwiseCallbackHandler,
        ToolwiseMiddleware,
    )
    from toolwise.integrations.langgraph import ToolCallRecorder, ToolGuard
    from toolwise.pools import Adapter, PoolOptions

__all__ = ["Adoption", "AgentOptions"]


class AgentOptions(RecordingLabels, BriefOptions, total=False):
    """What ``tw.middleware()`` and ``tw.tool_guard()`` take: the recording labels and the
    brief's options, typed (a misspelt keyword fails in the type checker)."""


_RECORDING_LABELS = frozenset(RecordingLabels.__annotations__)
_SHARED_LABELS = ("agent_id", "environment", "task_type")  # the brief uses these labels too


def _split_options(options: AgentOptions) -> tuple[RecordingLabels, AdviceFields]:
    """Recording labels (for :meth:`Adoption.defaults`) apart from the brief's fields (which
    share the agent, environment and task type)."""
    labels = {k: v for k, v in options.items() if k in _RECORDING_LABELS}
    brief = {k: v for k, v in options.items() if k not in _RECORDING_LABELS or k in _SHARED_LABELS}
    return cast("RecordingLabels", labels), cast("AdviceFields", brief)


class Adoption:
    """Builders of the framework adapters, over :attr:`runtime`."""

    @property
    def runtime(self) -> Runtime:
        """The wired parts the adapters record into and read from."""
        raise NotImplementedError

    def defaults(
        self,
        *,
        agent_id: str = "default",
        task_type: str = "",
        environment: str = "",
        tags: Sequence[str] = (),
        judge: JudgeSpec | None = None,
        costs: Mapping[str, float] | None = None,
    ) -> RecordingDefaults:
        """The labels an entry point puts on its records (validated now, not per call)."""
        check_agent_id(agent_id)  # raises InvalidAgentIdError naming agent_id
        check_text("task_type", task_type)
        check_text("environment", environment)
        if isinstance(tags, str | bytes) or not isinstance(tags, Sequence | set | frozenset):
            raise InvalidArgumentError("tags", tags, "must be a list of strings")
        for tag in tags:
            check_text("tags", tag)
        if costs is not None and not isinstance(costs, Mapping):
            raise InvalidArgumentError("costs", costs, "must be a mapping of tool name to cost")
        judge = check_judge(judge)
        for tool, cost in (costs or {}).items():
            check_text("costs", tool)
            check_number(f"costs[{tool!r}]", cost, minimum=0.0, maximum=MAX_COST)
        return RecordingDefaults(
            agent_id=agent_id,
            task_type=task_type,
            environment=environment,
            tags=tuple(tags),
            judge=judge,
            costs=dict(costs or {}),
        )

    def callback(self, **labels: Unpack[RecordingLabels]) -> ToolwiseCallbackHandler:
        """A LangChain callback handler that records every tool call it sees.

        Accepts the keyword arguments of :meth:`defaults`. Add it once, e.g.
        ``agent.invoke(inputs, config={"callbacks": [tw.callback(agent_id="devops")]})``.
        """
        from toolwise.integrations.langchain import ToolwiseCallbackHandler

        return ToolwiseCallbackHandler(self.runtime.recorder, self.defaults(**labels))

    def instrument(
        self,
        tool: BaseTool,
        *,
        timeout: float | None = None,
        retries: int = 0,
        cost_estimate: float | None = None,
        requires_confirmation: bool = False,
        confirm: ConfirmHook | None = None,
        backoff: WaitBaseT | None = None,
        **labels: Unpack[RecordingLabels],
    ) -> InstrumentedTool:
        """Wrap ``tool`` so every attempt is timed, judged and recorded.

        The result is a ``BaseTool`` with the same name, description and args schema, plus a
        ``timeout`` (seconds), ``retries`` with jittered backoff (each attempt recorded), a
        per-call ``cost_estimate`` and an optional human confirmation hook; ``backoff`` is a
        tenacity wait strategy between attempts. Accepts the labels of :meth:`defaults`.
        """
        from langchain_core.tools import BaseTool as LangChainTool

        from toolwise.integrations.langchain import InstrumentedTool
        from toolwise.integrations.langchain.attempts import check_backoff

        if not isinstance(tool, LangChainTool):
            raise InvalidArgumentError("tool", tool, "must be a LangChain BaseTool")
        if timeout is not None:
            check_seconds("timeout", timeout, positive=True)
        check_int("retries", retries, minimum=0)
        if cost_estimate is not None:
            check_number("cost_estimate", cost_estimate, minimum=0.0, maximum=MAX_COST)
        if not isinstance(requires_confirmation, bool):
            raise InvalidArgumentError(
                "requires_confirmation", requires_confirmation, "must be True or False"
            )
        if backoff is not None:
            check_backoff(backoff)
        if cost_estimate is not None:
            labels["costs"] = {**(labels.get("costs") or {}), tool.name: cost_estimate}
        wrapped = InstrumentedTool.wrap(
            tool,
            recorder=self.runtime.recorder,
            defaults=self.defaults(**labels),
            timeout=timeout,
            retries=retries,
            requires_confirmation=requires_confirmation,
            confirm=confirm,
        )
        return wrapped if backoff is None else wrapped.with_backoff(backoff)

    def pool(
        self,
        name: str,
        providers: Sequence[BaseTool],
        *,
        description: str | None = None,
        objective: Objective | None = None,
        hedge: bool | None = None,
        deadline: float | None = None,
        max_attempts: int | None = None,
        adapters: Mapping[str, Adapter] | None = None,
        options: PoolOptions | None = None,
        handle_tool_error: bool = True,
        **labels: Unpack[RecordingLabels],
    ) -> PooledTool:
        """One tool over interchangeable ``providers``, tried in the order toolwise learnt.

        Each call ranks the providers for its task type and environment, calls the best and,
        on a failure (as judged), the next, until one succeeds or ``deadline`` (seconds) or
        ``max_attempts`` is spent; ``hedge=True`` also starts the next provider when the
        running one passes its learnt p95 latency. Every attempt is recorded under the
        provider's name. The providers must take the same arguments, or have an adapter in
        ``adapters`` (by provider name). ``options`` (a
        :class:`~toolwise.pools.PoolOptions`) sets the rest; the keywords given win. Accepts
        the labels of :meth:`defaults` (``costs`` by provider name). See ``docs/pools.md``.
        """
        from langchain_core.tools import BaseTool as LangChainTool

        from toolwise.integrations.langchain import PooledTool
        from toolwise.pools import PoolOptions

        check_text("name", name, blank=False)
        if isinstance(providers, str | bytes) or not isinstance(providers, Sequence):
            raise InvalidArgumentError("providers", providers, "must be a list of LangChain tools")
        for provider in providers:
            if not isinstance(provider, LangChainTool):
                raise InvalidArgumentError("providers", provider, "must be a LangChain tool")
        if description is not None:
            check_text("description", description)
        if adapters is not None and not (
            isinstance(adapters, Mapping) and all(callable(a) for a in adapters.values())
        ):
            raise InvalidArgumentError("adapters", adapters, "must map provider names to callables")
        if options is not None and not isinstance(options, PoolOptions):
            raise InvalidArgumentError("options", options, "must be a PoolOptions")
        if not isinstance(handle_tool_error, bool):
            raise InvalidArgumentError("handle_tool_error", handle_tool_error, "must be a bool")
        given = {
            "objective": objective,
            "hedge": hedge,
            "deadline": deadline,
            "max_attempts": max_attempts,
        }
        chosen = {key: value for key, value in given.items() if value is not None}
        base = options.model_dump() if options is not None else {}
        return PooledTool.build(
            name,
            providers,
            runtime=self.runtime,
            defaults=self.defaults(**labels),
            options=PoolOptions(**{**base, **chosen}),
            description=description,
            adapters=adapters,
            handle_tool_error=handle_tool_error,
        )

    def tool_wrapper(self, **labels: Unpack[RecordingLabels]) -> ToolCallRecorder:
        """A LangGraph ``ToolNode`` interceptor that records each call.

        ``w = tw.tool_wrapper(agent_id=...)``, then
        ``ToolNode(tools, wrap_tool_call=w, awrap_tool_call=w.awrap)``.
        """
        from toolwise.integrations.langgraph import ToolCallRecorder

        return ToolCallRecorder(self.runtime.recorder, self.defaults(**labels))

    def middleware(
        self, *, advice: bool | AdviceOptions = True, **options: Unpack[AgentOptions]
    ) -> ToolwiseMiddleware:
        """A langchain v1 ``AgentMiddleware`` for ``create_agent(..., middleware=[...])``.

        Records every tool call and, unless ``advice=False``, briefs the model before each
        call. Accepts the labels of :meth:`defaults` and the brief's options
        (:class:`~toolwise.advice.AdviceOptions`: ``mode="advise" | "filter" | "route"``,
        ``top_k``, ``budget``, ``strategy``, ``objective``, ``requires_confirmation`` …), or a
        whole ``AdviceOptions`` as ``advice=``.
        """
        from toolwise.advice.models import AdviceOptions
        from toolwise.integrations.langchain import ToolwiseMiddleware

        labels, fields = _split_options(options)
        defaults = self.defaults(**labels)
        advisor = None
        if isinstance(advice, AdviceOptions):
            advisor = self.advisor(advice, **fields)  # keywords given win
        elif advice:
            advisor = self.advisor(**fields)
        return ToolwiseMiddleware(self.runtime.recorder, defaults, advisor)

    def advisor(
        self, options: AdviceOptions | None = None, /, **fields: Unpack[AdviceFields]
    ) -> Advisor:
        """The pre-selection core: ``advisor.advise(messages, state, config, tools) -> Brief``.

        Give an :class:`~toolwise.advice.AdviceOptions`, its fields as keywords, or both (the
        keywords win).
        """
        from toolwise.advice import Advisor

        return Advisor(self.runtime, options, **fields)

    def preselect_node(
        self, options: AdviceOptions | None = None, /, **fields: Unpack[AdviceFields]
    ) -> Runnable[Any, Any]:
        """A LangGraph node for hand-built ``StateGraph``s, placed before the model node.

        It writes the decision and brief under the ``toolwise`` state key (never into
        ``messages``); the model node reads it with
        :func:`toolwise.integrations.langgraph.with_brief`. Needs ``tools=``.
        """
        from toolwise.integrations.langgraph import make_preselect_node

        return make_preselect_node(self.advisor(options, **fields))

    def pre_model_hook(
        self, options: AdviceOptions | None = None, /, **fields: Unpack[AdviceFields]
    ) -> Runnable[Any, Any]:
        """A ``pre_model_hook`` for ``create_react_agent``: the brief reaches the model via
        ``llm_input_messages`` without entering history. Use
        ``state_schema=toolwise.integrations.langgraph.ToolwiseReactState``. Needs ``tools=``.
        """
        from toolwise.integrations.langgraph import make_pre_model_hook

        return make_pre_model_hook(self.advisor(options, **fields))

    def tool_guard(self, **options: Unpack[AgentOptions]) -> ToolGuard:
        """A ``ToolNode`` interceptor that refuses hidden tools, asks before gated ones
        (LangGraph ``interrupt()``), then records the call.

        ``ToolNode(tools, wrap_tool_call=g, awrap_tool_call=g.awrap)`` with
        ``g = tw.tool_guard(agent_id=..., mode="filter")``.
        """
        from toolwise.integrations.langgraph import ToolGuard

        labels, fields = _split_options(options)
        recorder = self.tool_wrapper(**labels)
        return ToolGuard(self.advisor(**fields), then=recorder, athen=recorder.awrap)
