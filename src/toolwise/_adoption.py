"""The ways into an agent, one method each: what ``tw.callback()``, ``tw.middleware()`` … build.

Mixed into :class:`~toolwise.Toolwise`. Each method validates its labels once
(:meth:`Adoption.defaults`) and builds an adapter from :mod:`toolwise.integrations` around the
runtime's recorder and, for pre-selection, an :class:`~toolwise.advice.Advisor` — the same
objects a caller can build by hand from ``tw.runtime``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from toolwise.errors import InvalidArgumentError
from toolwise.models import check_agent_id
from toolwise.recording.context import RecordingDefaults
from toolwise.recording.judge import Judge

if TYPE_CHECKING:
    from langchain_core.runnables import Runnable
    from langchain_core.tools import BaseTool
    from tenacity.wait import WaitBaseT

    from toolwise._runtime import Runtime
    from toolwise.advice import AdviceOptions, Advisor
    from toolwise.integrations.langchain import (
        ConfirmHook,
        InstrumentedTool,
        ToolwiseCallbackHandler,
        ToolwiseMiddleware,
    )
    from toolwise.integrations.langgraph import ToolCallRecorder, ToolGuard

__all__ = ["Adoption"]

_RECORDING_LABELS = frozenset({"agent_id", "task_type", "environment", "tags", "judge", "costs"})


def _split_options(options: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Recording labels (for :meth:`Adoption.defaults`) apart from the brief's options."""
    labels = {k: v for k, v in options.items() if k in _RECORDING_LABELS}
    return labels, {k: v for k, v in options.items() if k not in _RECORDING_LABELS}


def _advice_labels(labels: Mapping[str, Any]) -> dict[str, Any]:
    """The recording labels the brief shares (which agent, environment and task type)."""
    return {k: v for k, v in labels.items() if k in ("agent_id", "environment", "task_type")}


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
        judge: Judge | None = None,
        costs: Mapping[str, float] | None = None,
    ) -> RecordingDefaults:
        """The labels an entry point puts on its records (validated now, not per call)."""
        check_agent_id(agent_id)  # raises InvalidAgentIdError naming agent_id
        for tool, cost in (costs or {}).items():
            if not cost >= 0.0 or cost == float("inf"):
                raise InvalidArgumentError(f"costs[{tool!r}]", cost, "must be finite and >= 0")
        return RecordingDefaults(
            agent_id=agent_id,
            task_type=task_type,
            environment=environment,
            tags=tuple(tags),
            judge=judge,
            costs=dict(costs or {}),
        )

    def callback(self, **labels: Any) -> ToolwiseCallbackHandler:
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
        **labels: Any,
    ) -> InstrumentedTool:
        """Wrap ``tool`` so every attempt is timed, judged and recorded.

        The result is a ``BaseTool`` with the same name, description and args schema, plus a
        ``timeout`` (seconds), ``retries`` with jittered backoff (each attempt recorded), a
        per-call ``cost_estimate`` and an optional human confirmation hook; ``backoff`` is a
        tenacity wait strategy between attempts. Accepts the labels of :meth:`defaults`.
        """
        from toolwise.integrations.langchain import InstrumentedTool

        if cost_estimate is not None:
            labels["costs"] = {**labels.get("costs", {}), tool.name: cost_estimate}
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

    def tool_wrapper(self, **labels: Any) -> ToolCallRecorder:
        """A LangGraph ``ToolNode`` interceptor that records each call.

        ``w = tw.tool_wrapper(agent_id=...)``, then
        ``ToolNode(tools, wrap_tool_call=w, awrap_tool_call=w.awrap)``.
        """
        from toolwise.integrations.langgraph import ToolCallRecorder

        return ToolCallRecorder(self.runtime.recorder, self.defaults(**labels))

    def middleware(self, *, advice: bool = True, **options: Any) -> ToolwiseMiddleware:
        """A langchain v1 ``AgentMiddleware`` for ``create_agent(..., middleware=[...])``.

        Records every tool call and, unless ``advice=False``, briefs the model before each
        call. Accepts the labels of :meth:`defaults` and the brief's options
        (:class:`~toolwise.advice.AdviceOptions`: ``mode="advise" | "filter" | "route"``,
        ``top_k``, ``budget``, ``strategy``, ``objective``, ``requires_confirmation`` …).
        """
        from toolwise.integrations.langchain import ToolwiseMiddleware

        labels, brief = _split_options(options)
        defaults = self.defaults(**labels)
        advisor = self._advisor(self._advice_options(defaults, brief)) if advice else None
        return ToolwiseMiddleware(self.runtime.recorder, defaults, advisor)

    def _advice_options(
        self, defaults: RecordingDefaults, options: Mapping[str, Any]
    ) -> AdviceOptions:
        from toolwise.advice import AdviceOptions

        return AdviceOptions(
            **{
                "agent_id": defaults.agent_id,
                "environment": defaults.environment,
                "task_type": defaults.task_type,
                **options,
            }
        )

    def _advisor(self, options: AdviceOptions | None = None, /, **fields: Any) -> Advisor:
        from toolwise.advice import Advisor

        return Advisor(self.runtime, options, **fields)

    def advisor(self, **options: Any) -> Advisor:
        """The pre-selection core: ``advisor.advise(messages, state, config, tools) -> Brief``."""
        return self._advisor(**options)

    def preselect_node(self, **options: Any) -> Runnable[Any, Any]:
        """A LangGraph node for hand-built ``StateGraph``s, placed before the model node.

        It writes the decision and brief under the ``toolwise`` state key (never into
        ``messages``); the model node reads it with
        :func:`toolwise.integrations.langgraph.with_brief`. Needs ``tools=``.
        """
        from toolwise.integrations.langgraph import make_preselect_node

        return make_preselect_node(self._advisor(**options))

    def pre_model_hook(self, **options: Any) -> Runnable[Any, Any]:
        """A ``pre_model_hook`` for ``create_react_agent``: the brief reaches the model via
        ``llm_input_messages`` without entering history. Use
        ``state_schema=toolwise.integrations.langgraph.ToolwiseReactState``. Needs ``tools=``.
        """
        from toolwise.integrations.langgraph import make_pre_model_hook

        return make_pre_model_hook(self._advisor(**options))

    def tool_guard(self, **options: Any) -> ToolGuard:
        """A ``ToolNode`` interceptor that refuses hidden tools, asks before gated ones
        (LangGraph ``interrupt()``), then records the call.

        ``ToolNode(tools, wrap_tool_call=g, awrap_tool_call=g.awrap)`` with
        ``g = tw.tool_guard(agent_id=..., mode="filter")``.
        """
        from toolwise.integrations.langgraph import ToolGuard

        labels, brief = _split_options(options)
        recorder = self.tool_wrapper(**labels)
        advisor = self._advisor(**{**_advice_labels(labels), **brief})
        return ToolGuard(advisor, then=recorder, athen=recorder.awrap)
