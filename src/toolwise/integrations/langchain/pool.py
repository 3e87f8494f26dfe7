"""``tw.pool(name, [tool, ...])``: one LangChain tool in front of interchangeable providers.

:class:`PooledTool` is a ``BaseTool`` with the pool's name, a description and the providers'
shared argument schema, so a model, a ``ToolNode`` or ``create_agent`` uses it like any tool.
Each call goes through a :class:`~toolwise.pools.Pool`: ranked by the learnt view, the best
provider first, the next on a failure (an exception or an error ``ToolMessage``), hedged when
asked; every attempt is recorded under the provider's own name, tagged ``pool:<name>``.

* **Schemas must agree** (checked when built): every provider takes the same arguments as the
  first, unless it is given an adapter (``adapters={"provider": fn}``) turning the pool's
  arguments into its own.
* **One record per attempt**, even with other entry points: the pooled tool carries
  ``SELF_RECORDING_KEY`` (a callback handler skips it; ``ToolNode`` interceptors and the
  middleware hand their graph state down to it) and claims each provider's name while it runs
  (the provider's own callback run is not recorded twice).
* **When every provider fails** a :class:`PoolExhaustedToolError` is raised — a
  ``PoolExhaustedError`` (under ``ToolwiseError``) and a ``ToolException``, so with
  ``handle_tool_error=True`` (the default) the model reads which providers failed and why,
  and the agent run goes on.
* **Never hedged twice over a side effect**: with ``hedge=True`` a provider that requires
  confirmation (``requires_confirmation = True``, or in its ``metadata``) or is marked
  non-idempotent (``metadata={"idempotent": False}``) is refused when the pool is built.
* **Control flow** (``interrupt()``) from a provider is re-raised, not recorded; a cancelled
  pool call records each provider still running as a failure judged ``cancelled``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForToolRun, CallbackManagerForToolRun
from langchain_core.runnables import RunnableConfig
from langchain_core.runnables.config import patch_config
from langchain_core.tools import BaseTool, ToolException
from langchain_core.utils.pydantic import TypeBaseModel
from pydantic import PrivateAttr
from typing_extensions import override

from toolwise.advice.pools import POOL_METADATA_KEY
from toolwise.errors import InvalidArgumentError
from toolwise.integrations.langgraph.control_flow import is_control_flow
from toolwise.pools import Adapter, Member, Pool, PoolExhaustedError, PoolOptions, PoolRuntime
from toolwise.recording.context import CallContext, RecordingDefaults
from toolwise.recording.scope import SELF_RECORDING_KEY, claim, handed_down_state

__all__ = ["PoolExhaustedToolError", "PooledTool"]

_TOOL_CALL_ID = "__toolwise_tool_call_id"


class PoolExhaustedToolError(PoolExhaustedError, ToolException):
    """Every provider failed: a ``PoolExhaustedError`` that LangChain handles as a
    ``ToolException`` (``handle_tool_error``)."""


def _shape(tool: BaseTool) -> tuple[dict[str, Any], tuple[str, ...]]:
    """The argument names, types and required set a model sees (titles and prose dropped)."""
    schema: Any = tool.tool_call_schema
    json = schema if isinstance(schema, dict) else schema.model_json_schema()
    properties = {
        name: {k: v for k, v in spec.items() if k not in ("title", "description")}
        for name, spec in (json.get("properties") or {}).items()
    }
    return properties, tuple(sorted(json.get("required") or ()))


def _check_providers(providers: Sequence[BaseTool], adapters: Mapping[str, Adapter]) -> None:
    if not providers:
        raise InvalidArgumentError("providers", providers, "a pool needs at least one tool")
    for tool in providers:
        if not isinstance(tool, BaseTool):
            raise InvalidArgumentError("providers", tool, "must be langchain BaseTools")
    names = [t.name for t in providers]
    unknown = sorted(set(adapters) - set(names))
    if unknown:
        raise InvalidArgumentError("adapters", unknown, f"name no provider (providers: {names})")
    expected = _shape(providers[0])
    for tool in providers[1:]:
        if tool.name not in adapters and _shape(tool) != expected:
            reason = (
                f"takes other arguments than {providers[0].name!r} "
                f"({_shape(tool)[0]} vs {expected[0]}); give it an adapter"
            )
            raise InvalidArgumentError(f"providers[{tool.name!r}]", tool.name, reason)


def _check_hedging(providers: Sequence[BaseTool], options: PoolOptions) -> None:
    """Never hedge a provider that must not run twice for one call."""
    if not options.hedge:
        return
    for tool in providers:
        metadata = tool.metadata or {}
        if getattr(tool, "requires_confirmation", False) is True or metadata.get(
            "requires_confirmation"
        ):
            reason = f"cannot hedge {tool.name!r}: it requires confirmation"
            raise InvalidArgumentError("hedge", True, reason)
        if metadata.get("idempotent") is False:
            reason = f"cannot hedge {tool.name!r}: it is marked non-idempotent"
            raise InvalidArgumentError("hedge", True, reason)


def _member(tool: BaseTool, adapter: Adapter | None, config_of: _Configs) -> Member:
    """A pool member calling a copy of ``tool`` that raises (so failures are seen)."""
    raising = tool.model_copy(update={"handle_tool_error": False, "handle_validation_error": False})

    def call(args: Mapping[str, Any]) -> Any:
        return raising.invoke(dict(args), config=config_of.get())

    async def acall(args: Mapping[str, Any]) -> Any:
        return await raising.ainvoke(dict(args), config=config_of.get())

    return Member(tool.name, call, acall, adapter, tool.metadata)


class _Configs:
    """The current call's child config, handed to the members through a context variable."""

    def __init__(self) -> None:
        import contextvars

        self.var: contextvars.ContextVar[RunnableConfig | None] = contextvars.ContextVar(
            "toolwise_pool_config", default=None
        )

    def get(self) -> RunnableConfig | None:
        return self.var.get()


class PooledTool(BaseTool):
    """One tool over interchangeable providers; build with :meth:`build` (or ``tw.pool``)."""

    providers: list[BaseTool]
    """The providers, in declared order (the order before anything is learnt)."""

    _pool: Pool = PrivateAttr()
    _configs: _Configs = PrivateAttr()

    @classmethod
    def build(
        cls,
        name: str,
        providers: Sequence[BaseTool],
        *,
        runtime: PoolRuntime,
        defaults: RecordingDefaults,
        options: PoolOptions | None = None,
        description: str | None = None,
        adapters: Mapping[str, Adapter] | None = None,
        handle_tool_error: bool = True,
        timer: Callable[[], float] = time.monotonic,
    ) -> PooledTool:
        """Check the providers' schemas agree, then build the tool.

        Raises:
            InvalidArgumentError: naming ``providers`` (none, not tools, duplicate names, or
                a provider whose arguments differ and has no adapter), ``adapters``,
                ``name``, or an option of :class:`~toolwise.pools.PoolOptions`.

        ``timer`` (monotonic seconds, for hedges and the deadline) is injectable for
        simulations in virtual time (``benchmarks/pool.py``).
        """
        adapters = dict(adapters or {})
        _check_providers(providers, adapters)
        options = options or PoolOptions()
        _check_hedging(providers, options)
        configs = _Configs()
        members = [_member(p, adapters.get(p.name), configs) for p in providers]
        first = providers[0]
        tool = cls(
            name=name,
            description=description
            or f"{first.description} (one of {len(providers)} interchangeable providers)",
            args_schema=first.args_schema,
            metadata={SELF_RECORDING_KEY: True, POOL_METADATA_KEY: [p.name for p in providers]},
            handle_tool_error=handle_tool_error,
            providers=list(providers),
        )
        tool._pool = Pool(
            name,
            members,
            runtime=runtime,
            defaults=defaults,
            options=options,
            control_flow=is_control_flow,
            timer=timer,
        )
        tool._configs = configs
        return tool

    @property
    def pool(self) -> Pool:
        """The framework-neutral pool: ``plan()``, ``stats``, ``members``."""
        return self._pool

    # -- the first provider's schema, so models and ToolNode see one tool ------------------

    @override
    def get_input_schema(self, config: RunnableConfig | None = None) -> TypeBaseModel:
        return self.providers[0].get_input_schema(config)

    @property
    @override
    def tool_call_schema(self) -> Any:
        return self.providers[0].tool_call_schema

    # BaseTool validates the input against the shared schema first (a bad argument is the
    # model's error, not a provider's: no provider is tried or charged for it); the tool call
    # id travels on to the records.
    @override
    def _to_args_and_kwargs(
        self, tool_input: str | dict[str, Any], tool_call_id: str | None
    ) -> tuple[tuple[Any, ...], dict[str, Any]]:
        args, kwargs = super()._to_args_and_kwargs(tool_input, tool_call_id)
        if args:  # a plain-string call of a one-argument tool
            kwargs = {next(iter(self.providers[0].args)): args[0], **kwargs}
        return (), {**kwargs, _TOOL_CALL_ID: tool_call_id or ""}

    # -- the sync and async shells over the pool ---------------------------------------------

    @override
    def _run(
        self,
        *args: Any,
        config: RunnableConfig,
        run_manager: CallbackManagerForToolRun | None = None,
        **kwargs: Any,
    ) -> Any:
        tool_call_id = kwargs.pop(_TOOL_CALL_ID, "")
        with self._calling(config, run_manager) as (context, records):
            return self._pool.call(kwargs, context, tool_call_id=tool_call_id, record=records)

    @override
    async def _arun(
        self,
        *args: Any,
        config: RunnableConfig,
        run_manager: AsyncCallbackManagerForToolRun | None = None,
        **kwargs: Any,
    ) -> Any:
        tool_call_id = kwargs.pop(_TOOL_CALL_ID, "")
        with self._calling(config, run_manager) as (context, records):
            return await self._pool.acall(
                kwargs, context, tool_call_id=tool_call_id, record=records
            )

    @contextmanager
    def _calling(
        self,
        config: RunnableConfig,
        run_manager: CallbackManagerForToolRun | AsyncCallbackManagerForToolRun | None,
    ) -> Iterator[tuple[CallContext, bool]]:
        """Around one call: the providers' config, the claims, the error LangChain handles.

        Yields the call's labels and whether this tool records it (no enclosing entry point
        does).
        """
        child = patch_config(config, callbacks=run_manager.get_child() if run_manager else None)
        token = self._configs.var.set(child)
        try:
            with ExitStack() as claims:
                records = claims.enter_context(claim(self.name))
                for provider in self.providers:
                    claims.enter_context(claim(provider.name))
                yield self._call_context(run_manager), records
        except PoolExhaustedError as exc:
            raise PoolExhaustedToolError(exc.pool, exc.attempts, exc.reason) from exc
        finally:
            self._configs.var.reset(token)

    def _call_context(
        self, run_manager: CallbackManagerForToolRun | AsyncCallbackManagerForToolRun | None
    ) -> CallContext:
        """Labels of this call: defaults, the handed-down graph state, then run metadata."""
        metadata = run_manager.metadata if run_manager is not None else {}
        return CallContext.resolve(
            self._pool.defaults,
            metadata,
            handed_down_state(),
            run_id=str(run_manager.run_id) if run_manager is not None else "",
            tags=run_manager.tags if run_manager is not None else (),
        )
