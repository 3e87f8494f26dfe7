"""The default judge reads failures the way tools return them; overrides and fallbacks."""

from __future__ import annotations

import dataclasses
import json
import logging
from typing import Any

import pytest
from langchain_core.messages import ToolMessage
from langchain_core.tools import tool
from langgraph.types import Command
from pydantic import BaseModel

from toolwise import InvalidArgumentError, Verdict
from toolwise.recording import FieldRule, JudgeRules
from toolwise.recording.context import RecordingDefaults
from toolwise.recording.judge import (
    DECLARED_JUDGE_KEY,
    check_judge,
    declare_judge,
    judge_fallbacks,
    judge_output,
)


class Payment(BaseModel):
    success: bool
    error: str = ""


@dataclasses.dataclass
class Job:
    state: str
    detail: str = ""


def _message(content: Any, status: str = "success") -> ToolMessage:
    return ToolMessage(content, tool_call_id="c1", status=status)


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        ({"success": False, "error": "card declined", "suggestion": "retry"}, "success_false"),
        (json.dumps({"success": False, "error": "card declined"}), "success_false"),
        ({"error": "Amount must be positive"}, "error_field"),
        ({"errors": [{"message": "bad field"}]}, "error_field"),
        ({"ok": False}, "success_false"),
        ({"status": "FAILED"}, "status_failed"),
        (Job(state="error", detail="disk full"), "status_failed"),
        ({"status_code": 503}, "http_status"),
        ('{"statusCode": 404, "message": "no such repo"}', "http_status"),
        ({"isError": True, "content": [{"type": "text", "text": "boom"}]}, "mcp_is_error"),
        (Payment(success=False, error="declined"), "success_false"),
        (str(Payment(success=False, error="declined")), "success_false"),
        (repr(Job(state="failed")), "status_failed"),
        ("Error: registry down", "error_prefix"),
        ("  Traceback (most recent call last):\n  ...\nKeyError: 'x'", "error_prefix"),
        (_message('{"success": false}'), "success_false"),
        (Command(update={"messages": [_message('{"error": "x"}')]}), "error_field"),
        (_message("registry down", status="error"), "tool_error"),
    ],
)
def test_returned_failures_are_failures_with_the_rule_that_fired(
    output: Any, expected: str
) -> None:
    """Each way a tool returns a failure is judged a failure, naming the rule."""
    verdict = judge_output(output)

    assert (verdict.outcome, verdict.reason) == ("failure", expected)


@pytest.mark.parametrize(
    "output",
    [
        "2024-01-01 error: disk full on web-3\n2024-01-01 info: retried",  # a log search
        {"lines": ["error: disk full"], "count": 1},
        {"success": True, "error": None},
        {"ok": True, "warnings": ["slow"]},
        {"status": "done", "status_code": 200},
        '{"result": {"success": false}}',  # nested: not the call's own status
        "status=500 path=/api",  # a log line, not a model's text
        ["error: a", "error: b"],  # lines of data
        "",
        None,
        {"error": ""},
        "The error rate is 0.1%",
    ],
)
def test_data_that_mentions_errors_stays_a_success(output: Any) -> None:
    """Only top-level structure or a leading prefix counts: data mentioning errors is fine."""
    verdict = judge_output(output)

    assert (verdict.outcome, verdict.reason) == ("success", "")


def test_a_failure_carries_the_results_own_words_and_type() -> None:
    """The message comes from the error field; a typed error names the error type."""
    verdict = judge_output({"error": {"type": "CardDeclined", "message": "insufficient funds"}})

    assert (verdict.error_type, verdict.error_message) == ("CardDeclined", "insufficient funds")


def test_an_http_status_names_its_code() -> None:
    """An HTTP failure's error type is the status, for lessons and the brief."""
    assert judge_output({"status": 429}).error_type == "HTTP429"


def test_a_declared_field_rule_comes_before_the_defaults() -> None:
    """'status 404 = partial' turns the default HTTP failure into a partial result."""
    rules = JudgeRules(fields=(FieldRule("status", equals=404, outcome="partial"),))

    verdict = judge_output({"status": 404}, rules)

    assert (verdict.outcome, verdict.reason) == ("partial", "rule:status")


def test_a_field_rule_can_declare_a_custom_failure_field() -> None:
    """'field `accepted` false = failure' for a tool with its own vocabulary."""
    rules = JudgeRules(fields=(FieldRule("accepted", equals=False),))

    assert judge_output('{"accepted": false}', rules).reason == "rule:accepted"


def test_a_numeric_range_rule() -> None:
    """at_least/below match status ranges, here only 5xx."""
    rules = JudgeRules(fields=(FieldRule("code", at_least=500, below=600),), structured=False)

    assert judge_output({"code": 502}, rules).outcome == "failure"
    assert judge_output({"code": 404}, rules).outcome == "success"


def test_a_tool_can_turn_error_prefixes_off() -> None:
    """A log search whose lines start with 'error:' opts out of the prefix rule."""
    verdict = judge_output("error: disk full", JudgeRules(error_prefixes=()))

    assert verdict.outcome == "success"


def test_empty_is_a_success_unless_the_tool_declares_otherwise() -> None:
    """Empty means 'nothing found' only where a tool says so."""
    assert judge_output([]).outcome == "success"
    verdict = judge_output(_message("[]"), JudgeRules(empty="partial"))
    assert (verdict.outcome, verdict.reason) == ("partial", "empty_result")


def test_rules_are_chosen_per_tool() -> None:
    """A mapping picks a tool's rules by name, '*' for the rest."""
    judge = {"search_logs": JudgeRules(error_prefixes=()), "*": JudgeRules(empty="failure")}

    assert judge_output("error: x", judge, tool="search_logs").outcome == "success"
    assert judge_output("", judge, tool="deploy").outcome == "failure"


def test_a_tool_declares_its_own_rules_in_its_metadata() -> None:
    """``@tool(metadata={"toolwise_judge": ...})``: the tool's rules replace the entry
    point's rules for every tool."""
    declared = {DECLARED_JUDGE_KEY: JudgeRules(empty="partial")}

    defaults = RecordingDefaults(judge=JudgeRules(empty="failure")).for_tool("find", declared)

    assert judge_output([], defaults.judge, tool="find").outcome == "partial"


def test_an_entry_points_rule_naming_the_tool_wins_over_its_declared_rules() -> None:
    declared = {DECLARED_JUDGE_KEY: JudgeRules(empty="partial")}
    judge = {"find": JudgeRules(empty="failure"), "*": JudgeRules(empty="partial")}

    defaults = RecordingDefaults(judge=judge).for_tool("find", declared)

    assert judge_output([], defaults.judge, tool="find").outcome == "failure"


def test_a_tool_that_declares_nothing_keeps_the_entry_points_judge() -> None:
    defaults = RecordingDefaults(judge=JudgeRules(empty="failure"))

    assert defaults.for_tool("find", {"other": 1}) is defaults
    assert defaults.for_tool("find", None) is defaults


def test_a_declared_judge_that_is_not_one_is_ignored_and_counted() -> None:
    before = judge_fallbacks()

    defaults = RecordingDefaults().for_tool("find", {DECLARED_JUDGE_KEY: 5})

    assert defaults.judge is None
    assert judge_fallbacks() == before + 1


def test_declare_judge_puts_a_checked_judge_in_the_tools_metadata() -> None:
    @tool
    def find(name: str) -> list[str]:
        """Find."""
        return []

    find.metadata = {"team": "search"}
    rules = JudgeRules(empty="partial")

    assert declare_judge(find, rules) is find
    assert find.metadata == {"team": "search", DECLARED_JUDGE_KEY: rules}
    with pytest.raises(InvalidArgumentError) as raised:
        declare_judge(find, {"find": rules})  # type: ignore[arg-type]
    assert raised.value.field == "judge"


def test_a_judge_callable_decides_after_the_rules() -> None:
    """A judge may override a structured failure; None keeps the rules' verdict."""
    assert judge_output({"error": "soft"}, lambda _o: "partial").outcome == "partial"
    assert judge_output({"error": "x"}, lambda _o: None).reason == "error_field"


def test_a_judge_cannot_override_an_error_message() -> None:
    """LangChain's own error signal is final."""
    verdict = judge_output(_message("boom", status="error"), lambda _o: "success")

    assert verdict.outcome == "failure"


@pytest.mark.parametrize(
    "returned",
    [("partial", "x"), Verdict("partial", float("nan")), ("bogus", 0.5), 42, ("partial", 2.0)],
)
def test_an_invalid_judge_return_keeps_the_default_and_is_counted(returned: Any) -> None:
    """A judge returning no verdict falls back to the default verdict, counted."""
    before = judge_fallbacks()

    verdict = judge_output({"error": "x"}, lambda _o: returned)

    assert (verdict.outcome, verdict.reason) == ("failure", "error_field")
    assert judge_fallbacks() == before + 1


def test_a_failing_judge_is_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    """Every fallback is counted, but each judge is logged only once."""

    def broken(_output: Any) -> str:
        raise RuntimeError("oops")

    with caplog.at_level(logging.WARNING, logger="toolwise.judge"):
        for _ in range(3):
            judge_output("fine", broken)

    assert len([r for r in caplog.records if "broken" in r.getMessage()]) == 1


def test_a_judge_returning_the_output_does_not_log_its_secrets(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A judge that hands back the tool's output by mistake: the log line quoting it is
    redacted like the record (it showed the output as it came, secrets and all)."""

    def echo(output: Any) -> Any:
        return output

    with caplog.at_level(logging.WARNING, logger="toolwise.judge"):
        judge_output({"password": "hunter2hunter2", "rows": 3}, echo)

    [logged] = [r.getMessage() for r in caplog.records if "echo" in r.getMessage()]
    assert "hunter2hunter2" not in logged
    assert "rows" in logged


def test_a_judge_whose_answer_cannot_be_printed_keeps_the_default_verdict() -> None:
    """A returned object with a broken ``__repr__`` is still a fallback, not a lost record."""

    class Unprintable:
        def __repr__(self) -> str:
            raise RuntimeError("no repr")

    verdict = judge_output({"error": "x"}, lambda _o: Unprintable())

    assert (verdict.outcome, verdict.reason) == ("failure", "error_field")


class _RemoteProxy:
    """A remote object's local stand-in: every attribute is asked of the far side."""

    def __getattr__(self, name: str) -> Any:
        raise RuntimeError(f"connection lost while reading {name}")


def test_an_output_whose_attributes_raise_is_judged_a_success_and_counted() -> None:
    """The tool returned; reading its result's attributes raised, which lost the record."""
    before = judge_fallbacks()

    verdict = judge_output(_RemoteProxy())

    assert verdict.outcome == "success"
    assert judge_fallbacks() == before + 1


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda: check_judge(5), "judge"),
        (lambda: check_judge({"t": 5}), "judge['t']"),
        (lambda: FieldRule("ok"), "equals"),
        (lambda: FieldRule("status", at_least=float("nan")), "at_least"),
        (lambda: FieldRule("ok", equals=False, outcome="bad"), "outcome"),  # type: ignore[arg-type]
        (lambda: JudgeRules(empty="maybe"), "empty"),  # type: ignore[arg-type]
        (lambda: JudgeRules(error_prefixes="Error:"), "error_prefixes"),
    ],
)
def test_bad_judging_options_fail_when_built(build: Any, field: str) -> None:
    """Rules and judge= are checked when built, naming the field."""
    with pytest.raises(InvalidArgumentError) as raised:
        build()

    assert raised.value.field == field


def test_big_text_is_not_parsed() -> None:
    """Text over the size bound is never parsed as JSON (it stays a success)."""
    huge = json.dumps({"success": False, "data": "x" * 70_000})

    assert judge_output(huge).outcome == "success"
