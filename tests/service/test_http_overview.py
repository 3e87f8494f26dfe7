"""The dashboard's numbers: per-tool rates with intervals, recent failures, the learning curve."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from toolwise import ToolOutcome
from toolwise.service.overview import build_overview

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _call(tool: str, minutes: float, outcome: str = "success", **fields: object) -> ToolOutcome:
    return ToolOutcome(
        agent_id="devops",
        tool=tool,
        outcome=outcome,  # type: ignore[arg-type]
        timestamp=START + timedelta(minutes=minutes),
        **fields,  # type: ignore[arg-type]
    )


def test_a_tool_has_its_rate_and_a_90_percent_interval_around_it() -> None:
    """3 of 4: rate 0.75, the interval of Beta(4, 2), which contains the rate."""
    calls = [_call("kubectl", i, "failure" if i == 1 else "success") for i in range(4)]
    (tool,) = build_overview("devops", calls).tools
    assert tool.success_rate == 0.75
    assert tool.interval == pytest.approx((0.3426, 0.9241), abs=1e-3)


def test_refusals_are_not_charged_to_the_tool() -> None:
    """A refused call counts as a call, not in the success rate."""
    calls = [_call("rm_rf", 0), _call("rm_rf", 1, "refused")]
    (tool,) = build_overview("devops", calls).tools
    assert (tool.calls, tool.success_rate) == (2, 1.0)


def test_the_models_invalid_arguments_are_counted_apart_not_charged_to_the_tool() -> None:
    """Issue 17 / 14.6: an argument mistake is the model's; the tool's rate and the curve
    leave it out, and the overview counts it per tool."""
    calls = [_call("helm", 0), _call("helm", 1, "invalid_arguments"), _call("helm", 2, "failure")]
    overview = build_overview("devops", calls)
    (tool,) = overview.tools
    assert (tool.calls, tool.invalid_arguments, tool.failures) == (3, 1, 1)
    assert tool.success_rate == overview.success_rate == 0.5
    assert sum(point.calls for point in overview.curve) == 2


def test_latency_percentiles_and_cost_per_tool() -> None:
    """p50/p95 over calls that ran; cost summed and averaged."""
    calls = [_call("helm", i, latency_ms=100.0 * (i + 1), cost=0.5) for i in range(10)]
    (tool,) = build_overview("devops", calls).tools
    assert tool.p50_latency_ms == 550.0
    assert tool.p95_latency_ms == pytest.approx(955.0)
    assert (tool.total_cost, tool.mean_cost) == (5.0, 0.5)


def test_recent_failures_are_newest_first_and_bounded() -> None:
    """At most ten failures, newest first, with their error text."""
    calls = [
        _call("ansible", i, "failure", error_type="SSHTimeout", error_message=f"try {i}")
        for i in range(15)
    ]
    failures = build_overview("devops", calls).recent_failures
    assert len(failures) == 10
    assert failures[0].error == "SSHTimeout: try 14"


def test_the_learning_curve_has_one_point_per_bucket() -> None:
    """Two hours of calls fall in 5-minute buckets (the finest under 40 points); their rates."""
    calls = [_call("kubectl", m, "success" if m >= 60 else "failure") for m in range(0, 120, 10)]
    overview = build_overview("devops", calls)
    assert overview.bucket_seconds == 300
    assert [round(p.success_rate) for p in overview.curve] == [0] * 6 + [1] * 6
    assert sum(p.calls for p in overview.curve) == 12


def test_an_agent_without_calls_has_an_empty_overview() -> None:
    """No records: zero totals, no tools, no curve."""
    overview = build_overview("devops", [])
    assert (overview.total_calls, overview.tools, overview.curve) == (0, [], [])
