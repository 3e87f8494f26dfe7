"""The model's invalid arguments are recorded as its own mistakes, never the tool's."""

from __future__ import annotations

from datetime import timedelta

import pytest
from langchain_core.tools import tool

from toolwise import ToolOutcome, Toolwise
from toolwise._summary import summarize
from toolwise.cli import format_summary
from toolwise.improve.lessons import TemplateLessons, cluster_failures
from toolwise.models import utcnow

START = utcnow() - timedelta(hours=1)  # records within the default TTL


def _outcome(outcome: str, minutes: int = 0, **fields: object) -> ToolOutcome:
    return ToolOutcome(
        tool="deploy",
        outcome=outcome,  # type: ignore[arg-type]
        timestamp=START + timedelta(minutes=minutes),
        **fields,  # type: ignore[arg-type]
    )


def test_bad_arguments_through_the_callback_are_the_models_mistake(tw: Toolwise) -> None:
    """A ValidationError from the arguments is recorded as invalid_arguments."""

    @tool
    def deploy(replicas: int) -> str:
        """Deploy."""
        return "ok"

    with pytest.raises(ValueError, match="validation error"):
        deploy.invoke({"replicas": "many"}, config={"callbacks": [tw.callback()]})
    tw.flush()

    [record] = tw.list_calls("default")
    assert (record.outcome, record.error_type, record.judged_by) == (
        "invalid_arguments",
        "ValidationError",
        "invalid_arguments",
    )


def test_invalid_arguments_do_not_lower_the_tools_reliability(tw: Toolwise) -> None:
    """Ten argument mistakes leave the tool's learnt rate where its real calls put it."""
    for minute in range(5):
        tw.record(_outcome("success", minute))
    before = tw.priors("deploy")[0]
    for minute in range(5, 15):
        tw.record(_outcome("invalid_arguments", minute, error_type="ValidationError"))

    after = tw.priors("deploy")[0]
    assert after.observations == before.observations
    assert after.rate == pytest.approx(before.rate, rel=1e-6)  # only time decay moves it


def test_summaries_count_argument_mistakes_apart() -> None:
    """Per tool: the model's mistakes are counted and left out of the success rate."""
    records = [_outcome("success", 0), _outcome("failure", 1), _outcome("invalid_arguments", 2)]

    summary = summarize(records, agent_id="default")

    [stats] = summary.tools
    assert (stats.call_count, stats.invalid_arguments_count) == (3, 1)
    assert stats.success_rate == summary.success_rate == 0.5
    assert "the model's invalid arguments" in format_summary(summary)


def test_lessons_name_argument_mistakes_as_the_models() -> None:
    """A lesson from invalid arguments says the model called the tool wrongly."""
    records = [
        _outcome("invalid_arguments", m, error_type="ValidationError", error_message="replicas")
        for m in range(3)
    ]

    [cluster] = cluster_failures(records)
    text = TemplateLessons()(cluster)

    assert text is not None
    assert text.startswith("the model called deploy with invalid arguments")
    assert "check its arguments against its schema" in text


def test_argument_mistakes_and_tool_failures_cluster_apart() -> None:
    """The same error type from the model and from the tool makes two lessons."""
    records = [
        _outcome("invalid_arguments", 0, error_type="ValidationError"),
        _outcome("failure", 1, error_type="ValidationError"),
    ]

    assert sorted(c.mistake for c in cluster_failures(records)) == [False, True]
