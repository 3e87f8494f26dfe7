"""The brief's layout: stable sections, a hard character budget, a fence emitted whole."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from toolwise.advice import CLOSE, OPEN
from toolwise.advice.fence import label
from toolwise.advice.format import Failure, failure_line, header_lines, no_history_line, render

HEAD = header_lines(task_type="deploy", inferred=False, new_task=False, forced_tool=None)
TOOLS = [f"{n}. tool_{n}: 90% (80-95%), high, 40 calls, p50 400 ms" for n in range(1, 9)]
FAILURES = [f"- tool_{n}, 2 h ago: TimeoutError: deadline exceeded" for n in range(1, 9)]


def test_every_section_appears_in_order_when_the_budget_allows() -> None:
    """Head, ranking, alert, then the fenced failures — in that order."""
    text = render(head=HEAD, tools=TOOLS[:2], alert="outage", failures=FAILURES[:1], budget=5_000)
    lines = text.splitlines()
    assert lines[: len(HEAD)] == HEAD
    assert lines.index(TOOLS[0]) < lines.index("Alert: outage") < lines.index(OPEN)
    assert lines[-1] == CLOSE


def test_a_tight_budget_drops_the_tail_tools_and_says_so() -> None:
    """When not every tool fits, the top ones stay and a line counts the others."""
    text = render(head=HEAD, tools=TOOLS, alert="", failures=[], budget=420)
    assert TOOLS[0] in text
    assert TOOLS[-1] not in text
    assert "more tools not shown" in text
    assert len(text) <= 420


def test_the_top_tool_outranks_recalled_failures_for_space() -> None:
    """With room for one more line only, the best tool is kept rather than a failure."""
    text = render(head=HEAD, tools=TOOLS[:1], alert="", failures=FAILURES[:1], budget=320)
    assert TOOLS[0] in text
    assert OPEN not in text


def test_without_history_the_brief_is_one_line() -> None:
    """The no-history brief is a single line that still says what to do."""
    line = no_history_line(None)
    assert "\n" not in line
    assert "No tool history" in line


def test_the_no_history_line_names_a_routed_tool() -> None:
    """In route mode the one line says which tool is tried to start learning."""
    assert "helm_upgrade" in no_history_line("helm_upgrade")


@settings(max_examples=200, deadline=None)
@given(
    tools=st.lists(st.text(min_size=1, max_size=250), max_size=20),
    errors=st.lists(st.text(max_size=400), max_size=20),
    alert=st.text(max_size=400),
    budget=st.integers(min_value=300, max_value=3_000),
)
def test_render_respects_the_budget_and_keeps_the_fence_whole(
    tools: list[str], errors: list[str], alert: str, budget: int
) -> None:
    """For any content: within budget, and the fence is either absent or opened and closed."""
    failures = [failure_line(Failure("tool", error, error, 60.0)) for error in errors]
    lines = [label(tool, 200) for tool in tools]  # as tool_line makes them
    text = render(head=HEAD, tools=lines, alert=alert, failures=failures, budget=budget)
    assert len(text) <= budget
    assert text.count(OPEN) == text.count(CLOSE) <= 1
