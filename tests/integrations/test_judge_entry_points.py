"""One verdict per result shape, whichever entry point saw the call (issue 17).

Each shape is a tool that returns (or raises) something; it runs through the callback handler
and ``tw.instrument`` (direct ``invoke``: they see the raw value) and through the ToolNode
wrapper and ``create_agent`` middleware (in a graph: they see LangChain's ``ToolMessage`` of
it). All four must record the same outcome, quality, error type and reason.
"""

# ruff: noqa: E501 - the shape table reads best one shape per line
from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from langchain.agents import create_agent
from langchain_core.messages import HumanMessage
from langchain_core.tools import BaseTool, ToolException, tool
from langgraph.prebuilt import ToolNode
from pydantic import BaseModel

from toolwise import ToolOutcome
from toolwise.recording import FieldRule, JudgeRules
from toolwise.recording.judge import DECLARED_JUDGE_KEY, JudgeSpec


class Payment(BaseModel):
    success: bool
    error: str = ""
    at: datetime | None = None


@dataclasses.dataclass
class Job:
    state: str
    detail: str = ""


def _raise(error: BaseException) -> Callable[[], Any]:
    def run() -> Any:
        raise error

    return run


def _returns(value: Any) -> Callable[[], Any]:
    return lambda: value


def _invalid_payment() -> Any:
    return Payment.model_validate({"success": "perhaps"})  # the tool's own bug


def _mcp_error(error: ToolException) -> list[dict[str, str]]:
    return [{"type": "text", "text": str(error)}]


def _meh_is_partial(output: Any) -> tuple[str, float] | None:
    return ("partial", 0.3) if getattr(output, "content", output) == "meh" else None


NOW = datetime(2026, 1, 5, tzinfo=UTC)


@dataclass(frozen=True)
class Shape:
    """What the tool does, and the one verdict every entry point must record for it."""

    run: Callable[[], Any]
    outcome: str
    reason: str
    error_type: str = ""
    args: dict[str, Any] = field(default_factory=lambda: {"query": "q"})
    handle_tool_error: Any = False
    handle_validation_error: bool = False
    judge: JudgeSpec | None = None
    metadata: dict[str, Any] | None = None


def _fail(reason: str, error_type: str = "ReturnedError") -> dict[str, str]:
    return {"outcome": "failure", "reason": reason, "error_type": error_type}


SHAPES: dict[str, Shape] = {
    "seed 003 structured failure": Shape(
        _returns({"success": False, "error": "card declined", "suggestion": "Try again"}),
        **_fail("success_false"),
    ),
    "JSON text failure": Shape(
        _returns(json.dumps({"success": False, "error": "card declined"})),
        **_fail("success_false"),
    ),
    "error field only": Shape(_returns({"error": "Amount must be positive"}), **_fail("error_field")),
    "errors list": Shape(_returns({"data": None, "errors": [{"message": "x"}]}), **_fail("error_field")),
    "ok false": Shape(_returns({"ok": False, "reason": "quota"}), **_fail("success_false")),
    "status failed": Shape(_returns({"status": "failed"}), **_fail("status_failed")),
    "state error": Shape(_returns({"state": "ERROR", "id": 3}), **_fail("status_failed")),
    "status_code 503": Shape(_returns({"status_code": 503, "body": ""}), **_fail("http_status", "HTTP503")),
    "statusCode 404": Shape(_returns({"statusCode": 404}), **_fail("http_status", "HTTP404")),
    "numeric status 500": Shape(_returns({"status": 500}), **_fail("http_status", "HTTP500")),
    "typed error": Shape(_returns({"error": {"type": "RateLimited", "message": "slow down"}}), **_fail("error_field", "RateLimited")),
    "MCP isError": Shape(
        _returns({"content": [{"type": "text", "text": "boom"}], "isError": True}),
        **_fail("mcp_is_error", "MCPError"),
    ),
    "pydantic failure": Shape(_returns(Payment(success=False, error="declined")), **_fail("success_false")),
    "pydantic failure with a datetime": Shape(
        _returns(Payment(success=False, error="declined", at=NOW)), **_fail("success_false")
    ),
    "dataclass failure": Shape(_returns(Job(state="failed", detail="oom")), **_fail("status_failed")),
    "dict with a datetime": Shape(_returns({"success": False, "at": NOW}), **_fail("success_false")),
    "Error: text": Shape(_returns("Error: registry down"), **_fail("error_prefix")),
    "traceback text": Shape(
        _returns("Traceback (most recent call last):\n  File 'x'\nKeyError: 'region'"),
        **_fail("error_prefix", "KeyError"),
    ),
    "Failed to text": Shape(_returns("Failed to connect to db-1"), **_fail("error_prefix")),
    "MCP error text block": Shape(_returns([{"type": "text", "text": "Error: no such file"}]), **_fail("error_prefix")),
    "raised": Shape(_raise(ValueError("rollout stalled")), **_fail("exception", "ValueError")),
    "handled ToolException": Shape(
        _raise(ToolException("registry down")), handle_tool_error=True, **_fail("tool_error", "ToolError")
    ),
    "handled MCP-style error": Shape(
        _raise(ToolException("server said no")), handle_tool_error=_mcp_error, **_fail("tool_error", "ToolError")
    ),
    "the tool's own ValidationError": Shape(_invalid_payment, **_fail("exception", "ValidationError")),
    "bad arguments": Shape(
        _returns("unused"), "invalid_arguments", "invalid_arguments", "ValidationError", args={"query": {"x": 1}}
    ),
    "bad arguments, handled": Shape(
        _returns("unused"), "invalid_arguments", "invalid_arguments", "ValidationError",
        args={"query": {"x": 1}}, handle_validation_error=True,
    ),
    "plain text": Shape(_returns("rolled out"), "success", ""),
    "explicit success": Shape(_returns({"success": True, "data": [1, 2]}), "success", ""),
    "log lines mentioning errors": Shape(_returns("09:00 info start\n09:01 error: disk full"), "success", ""),
    "data with error lines": Shape(_returns({"lines": ["error: disk full"], "count": 1}), "success", ""),
    "a list of error lines": Shape(_returns(["error: a", "error: b"]), "success", ""),
    "HTTP 200 done": Shape(_returns({"status": "done", "status_code": 200}), "success", ""),
    "nested failure": Shape(_returns({"result": {"success": False}}), "success", ""),
    "pydantic success": Shape(_returns(Payment(success=True)), "success", ""),
    "empty text": Shape(_returns(""), "success", ""),
    "MCP text blocks": Shape(_returns([{"type": "text", "text": "3 files"}]), "success", ""),
    "empty error field": Shape(_returns({"error": None, "rows": []}), "success", ""),
    "rule: 404 is partial": Shape(
        _returns({"status": 404}), "partial", "rule:status", "ReturnedError",
        judge={"probe": JudgeRules(fields=(FieldRule("status", equals=404, outcome="partial"),))},
    ),
    "rule: prefixes off": Shape(
        _returns("error: disk full"), "success", "", judge={"probe": JudgeRules(error_prefixes=())}
    ),
    "rule: empty is partial": Shape(
        _returns([]), "partial", "empty_result", "EmptyResult", judge={"probe": JudgeRules(empty="partial")}
    ),
    "judge callable": Shape(_returns("meh"), "partial", "judge", judge={"probe": _meh_is_partial}),
    "declared by the tool: empty is partial": Shape(
        _returns([]), "partial", "empty_result", "EmptyResult",
        metadata={DECLARED_JUDGE_KEY: JudgeRules(empty="partial")},
    ),
    "declared by the tool, the entry point's rule for it wins": Shape(
        _returns([]), "failure", "empty_result", "EmptyResult",
        metadata={DECLARED_JUDGE_KEY: JudgeRules(empty="partial")},
        judge={"probe": JudgeRules(empty="failure")},
    ),
}  # fmt: skip


def _probe(shape: Shape) -> BaseTool:
    @tool
    def probe(query: str) -> Any:
        """Probe how a result is judged."""
        return shape.run()

    probe.handle_tool_error = shape.handle_tool_error
    probe.handle_validation_error = shape.handle_validation_error
    probe.metadata = shape.metadata
    return probe


def _labels(shape: Shape, agent_id: str) -> dict[str, Any]:
    return {"agent_id": agent_id, "judge": shape.judge}


def _verdict(record: ToolOutcome) -> tuple[str, float | None, str, str]:
    return (record.outcome, record.quality, record.error_type, record.judged_by)


@pytest.mark.parametrize("name", list(SHAPES))
def test_every_entry_point_gives_one_verdict(lab: Any, name: str) -> None:
    """The callback, instrument, the ToolNode wrapper and the middleware agree on a shape."""
    shape = SHAPES[name]
    call = [{"name": "probe", "args": shape.args, "id": "c1"}]
    callback = lab.tw.callback(**_labels(shape, "cb"))
    with suppress(Exception):
        _probe(shape).invoke(shape.args, config={"callbacks": [callback]})
    with suppress(Exception):
        lab.tw.instrument(_probe(shape), **_labels(shape, "inst")).invoke(shape.args)
    wrapper = lab.tw.tool_wrapper(**_labels(shape, "node"))
    node = ToolNode([_probe(shape)], wrap_tool_call=wrapper, awrap_tool_call=wrapper.awrap)
    with suppress(Exception):
        lab.tool_node_graph(lab.script(call), node).invoke({"messages": [HumanMessage("go")]})
    middleware = lab.tw.middleware(advice=False, **_labels(shape, "mw"))
    agent = create_agent(lab.script(call), [_probe(shape)], middleware=[middleware])
    with suppress(Exception):
        agent.invoke({"messages": [HumanMessage("go")]})

    verdicts = {
        entry: [_verdict(r) for r in lab.records(entry)] for entry in ("cb", "inst", "node", "mw")
    }
    quality = {"success": 1.0, "partial": 0.3 if shape.reason == "judge" else 0.5}.get(
        shape.outcome, 0.0
    )
    expected = [(shape.outcome, quality, shape.error_type, shape.reason)]
    assert verdicts == dict.fromkeys(verdicts, expected)


def test_the_table_covers_at_least_thirty_shapes() -> None:
    """Issue 17 asks for 30 or more result shapes through all four entry points."""
    assert len(SHAPES) >= 30
