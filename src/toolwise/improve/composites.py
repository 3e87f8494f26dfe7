"""Composite tools: one ``BaseTool`` chaining existing tools, with an args schema merged
from theirs, run in the sandbox until its own record earns it more permission.

The merged schema keeps each sub-tool's field (type, default, description); a field name
used by more than one step is prefixed with its tool's name (``helm_upgrade_release``), and
with the step number if one tool appears twice. The composite calls the steps in order, each
with its own arguments, and returns their outputs as JSON; the first failing step fails it.

Where it runs depends on its permission level, read at every call: ``sandbox`` (no network,
no file writes) and ``restricted`` (no network) in a fresh interpreter behind bubblewrap (see
:mod:`toolwise.improve.sandbox`; the steps travel pickled, the result comes back as JSON),
``full`` in process. Sub-tools with injected arguments
(``InjectedToolCallId``, state, store) cannot be composed: nothing could supply them.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from langchain_core.callbacks import CallbackManagerForToolRun
from langchain_core.runnables import RunnableConfig
from langchain_core.tools import BaseTool, ToolException
from pydantic import BaseModel, ConfigDict, ValidationError, create_model
from pydantic.fields import FieldInfo

from toolwise.improve.models import CompositeSpec, FieldMapping, PermissionLevel
from toolwise.improve.sandbox import Sandbox, SandboxResult, default_sandbox, tool_step
from toolwise.models import ToolOutcome
from toolwise.recording.redact import REDACTED

__all__ = [
    "CompositeTool",
    "composite_description",
    "composite_name",
    "is_composable",
    "merged_schema",
    "replay_input",
]

_MAX_NAME = 64  # OpenAI's function-name limit, the strictest common one
_TRUNCATION = re.compile(r"…\[truncated \d+ chars\]")

LevelSource = Callable[[], PermissionLevel | None]
"""Returns the composite's current level, or ``None`` once it is retired."""


def composite_name(tools: Sequence[str]) -> str:
    """``terraform_apply_then_ansible_run``; shortened with a hash beyond 64 characters."""
    name = "_then_".join(tools)
    if len(name) <= _MAX_NAME:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    return f"{name[: _MAX_NAME - 9].rstrip('_')}_{digest}"


def _model_fields(tool: BaseTool) -> dict[str, tuple[Any, FieldInfo]] | None:
    schema = tool.args_schema
    if isinstance(schema, type) and issubclass(schema, BaseModel):
        visible = tool.tool_call_schema
        visible_names = (
            set(visible.model_fields)
            if isinstance(visible, type) and issubclass(visible, BaseModel)
            else set(schema.model_fields)
        )
        if visible_names != set(schema.model_fields):
            return None  # injected arguments: a composite could not supply them
        return {n: (f.annotation, copy.copy(f)) for n, f in schema.model_fields.items()}
    if schema is None or isinstance(schema, dict):
        required = set(schema.get("required", [])) if isinstance(schema, dict) else set()
        found: dict[str, tuple[Any, FieldInfo]] = {}
        for name, prop in tool.args.items():
            description = prop.get("description") if isinstance(prop, dict) else None
            default = ... if name in required else (prop or {}).get("default")
            found[name] = (Any, FieldInfo.from_field(default, description=description))
        return found
    return None


def is_composable(tool: BaseTool) -> bool:
    """Whether ``tool`` can be a step: a schema toolwise can read and no injected arguments."""
    return _model_fields(tool) is not None


def merged_schema(
    name: str, tools: Sequence[BaseTool]
) -> tuple[type[BaseModel], tuple[FieldMapping, ...]]:
    """The composite's args model and how its fields map to each step's arguments.

    Raises:
        ValueError: a tool cannot be composed (see :func:`is_composable`).
    """
    per_step: list[dict[str, tuple[Any, FieldInfo]]] = []
    for tool in tools:
        fields = _model_fields(tool)
        if fields is None:
            msg = f"tool {tool.name!r} has injected or unreadable arguments"
            raise ValueError(msg)
        per_step.append(fields)
    uses = Counter(arg for fields in per_step for arg in fields)
    definitions: dict[str, Any] = {}
    mappings: list[FieldMapping] = []
    for step, (tool, fields) in enumerate(zip(tools, per_step, strict=True)):
        for arg, (annotation, info) in fields.items():
            field = arg if uses[arg] == 1 else f"{tool.name}_{arg}"
            if field in definitions:  # the same tool twice in the sequence
                field = f"step{step + 1}_{tool.name}_{arg}"
            definitions[field] = (annotation, info)
            mappings.append(FieldMapping(field=field, step=step, argument=arg))
    title = "".join(part.capitalize() for part in re.split(r"[^A-Za-z0-9]+", name) if part)
    model = create_model(
        f"{title or 'Composite'}Input", __config__=ConfigDict(extra="forbid"), **definitions
    )
    return model, tuple(mappings)


def composite_description(tools: Sequence[BaseTool], occurrences: int, example: str) -> str:
    """What the model reads: the chain, where it came from, and each step's purpose."""
    chain = ", then ".join(t.name for t in tools)
    lines = [
        f"Runs {chain} in one call (this sequence succeeded together in {occurrences} runs"
        + (f", e.g. {example[:100]!r}" if example else "")
        + "). Returns each step's output as JSON; stops at the first failing step.",
        "Steps:",
    ]
    for index, tool in enumerate(tools, start=1):
        first = (tool.description or "").strip().splitlines()
        lines.append(f"{index}. {tool.name}: {first[0] if first else ''}".rstrip(": "))
    return "\n".join(lines)


def replay_input(
    spec: CompositeSpec, records: Sequence[ToolOutcome], schema: type[BaseModel]
) -> dict[str, Any] | None:
    """The composite's input that reproduces one recorded occurrence, or ``None``.

    ``None`` when a step's recorded input was redacted, truncated, not a JSON object, or the
    assembled input does not validate against the composite's schema.
    """
    if len(records) != len(spec.tools):
        return None
    parsed: list[dict[str, Any]] = []
    for record in records:
        text = record.tool_input
        if REDACTED in text or _TRUNCATION.search(text):
            return None
        try:
            value = json.loads(text) if text else {}
        except ValueError:
            return None
        if not isinstance(value, dict):
            return None
        parsed.append(value)
    arguments = {
        m.field: parsed[m.step][m.argument] for m in spec.arguments if m.argument in parsed[m.step]
    }
    try:
        schema.model_validate(arguments)
    except ValidationError:
        return None
    return arguments


def _plain(value: Any) -> Any:
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    content = getattr(value, "content", None)  # a ToolMessage or Command-like result
    return content if isinstance(content, str) else str(value)


class CompositeTool(BaseTool):
    """A tool that runs ``steps`` in order, at the permission level ``level_of`` returns.

    Build it with :meth:`toolwise.improve.Improver.composite_tools`; record its calls like any
    tool (``tw.callback()``, ``tw.instrument()``, middleware) — those records are what
    promotes it.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    spec: CompositeSpec
    steps: list[BaseTool]
    level_of: LevelSource
    timeout: float = 10.0
    sandbox: Sandbox | None = None
    """Where ``sandbox``/``restricted`` calls run (default: the process-wide one)."""

    @classmethod
    def build(
        cls,
        spec: CompositeSpec,
        tools: Mapping[str, BaseTool],
        *,
        level_of: LevelSource,
        timeout: float,
    ) -> CompositeTool:
        """The runnable composite for ``spec`` from the registered ``tools``.

        Raises:
            KeyError: a step's tool is not in ``tools``.
            ValueError: a step's tool cannot be composed.
        """
        steps = [tools[name] for name in spec.tools]
        schema, _ = merged_schema(spec.name, steps)
        return cls(
            name=spec.name,
            description=spec.description,
            args_schema=schema,
            spec=spec,
            steps=steps,
            level_of=level_of,
            timeout=timeout,
        )

    def split(self, arguments: Mapping[str, Any]) -> list[dict[str, Any]]:
        """Each step's own arguments out of the composite's."""
        per_step: list[dict[str, Any]] = [{} for _ in self.steps]
        for mapping in self.spec.arguments:
            if mapping.field in arguments:
                per_step[mapping.step][mapping.argument] = arguments[mapping.field]
        return per_step

    def chain(self, arguments: Mapping[str, Any], callbacks: Any = None) -> str:
        """Run every step in this process (no guard): the body the sandbox wraps.

        Raises:
            ToolException: naming the step that failed and its error.
        """
        outputs = []
        config = RunnableConfig(callbacks=callbacks) if callbacks is not None else None
        for index, (tool, args) in enumerate(
            zip(self.steps, self.split(arguments), strict=True), start=1
        ):
            try:
                output = tool.invoke(args, config)
            except Exception as exc:
                msg = (
                    f"step {index}/{len(self.steps)} ({tool.name}) failed: "
                    f"{type(exc).__name__}: {exc}"
                )
                raise ToolException(msg) from exc
            outputs.append({"tool": tool.name, "output": _plain(output)})
        return json.dumps({"steps": outputs}, default=str)

    def run_at(self, level: PermissionLevel, arguments: Mapping[str, Any]) -> SandboxResult:
        """Run the chain at ``level``: ``full`` in process, unguarded; ``sandbox`` and
        ``restricted`` in a fresh interpreter behind bubblewrap (see
        :mod:`toolwise.improve.sandbox`). Never raises for the steps' errors."""
        if level == "full":
            try:
                return SandboxResult(ok=True, value=self.chain(arguments))
            except Exception as exc:
                return SandboxResult(False, None, "error", type(exc).__name__, str(exc))
        steps = []
        for index, (tool, args) in enumerate(
            zip(self.steps, self.split(arguments), strict=True), start=1
        ):
            try:
                steps.append(tool_step(tool, args))
            except Exception as exc:  # bad arguments, found in the parent as invoke would
                msg = f"step {index}/{len(self.steps)} ({tool.name}) failed: {exc}"
                return SandboxResult(False, None, "error", "StepFailed", msg)
        sandbox = self.sandbox or default_sandbox()
        return sandbox.run_steps(steps, level=level, timeout=self.timeout)

    def _run(self, run_manager: CallbackManagerForToolRun | None = None, **kwargs: Any) -> str:
        level = self.level_of()
        if level is None:
            msg = f"composite tool {self.name!r} was retired; use its steps instead"
            raise ToolException(msg)
        if level == "full":  # sub-calls are traced and recorded
            return self.chain(kwargs, run_manager.get_child() if run_manager else None)
        result = self.run_at(level, kwargs)
        if not result.ok:
            raise ToolException(f"{result.error_type}: {result.error_message}")
        return json.dumps(result.value, default=str)
