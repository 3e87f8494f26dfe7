"""Which calls need a human, how answers read, and what each mode does to the tools."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage

from toolwise.advice import AdviceOptions, ConfirmationPolicy, read_answer
from toolwise.advice.modes import forced_tool, hidden_tools
from toolwise.errors import InvalidArgumentError
from toolwise.learning.models import ObjectiveWeights, Recommendation, ScoreBreakdown
from toolwise.recording.scope import approved, is_approved

POLICY = ConfirmationPolicy.from_options(AdviceOptions(requires_confirmation={"restart_pod"}))


class _Tool:
    """Just the attributes a guard reads from a tool."""

    def __init__(self, description: str = "", *, requires_confirmation: bool = False) -> None:
        self.description = description
        self.requires_confirmation = requires_confirmation


def _rec(tool: str, rank: int, upper: float, observations: int = 10) -> Recommendation:
    weights = ObjectiveWeights(success=1.0)
    return Recommendation(
        tool=tool,
        rank=rank,
        score=0.5,
        breakdown=ScoreBreakdown(success=0.5, speed=0.5, cost=0.5, weights=weights),
        rate=upper / 2,
        sampled_success=0.5,
        observations=observations,
        effective_observations=float(observations),
        confidence="medium",
        credible_interval=(0.0, upper),
        strategy="thompson",
        reason="",
    )


def test_a_listed_tool_needs_confirmation() -> None:
    """Tools named in ``requires_confirmation`` always need approval."""
    assert POLICY.reason("restart_pod") == "requires_confirmation"


def test_a_tool_that_says_so_needs_confirmation() -> None:
    """A tool object with ``requires_confirmation = True`` needs approval."""
    assert POLICY.reason("scale", _Tool(requires_confirmation=True)) == "requires_confirmation"


@pytest.mark.parametrize(
    ("name", "description"),
    [("drop_database", ""), ("cleanup", "Deletes every stale volume."), ("vm-terminate", "")],
)
def test_destructive_names_and_descriptions_need_confirmation(name: str, description: str) -> None:
    """Delete/drop/terminate in the name (``_``/``-`` read as spaces) or description match."""
    assert POLICY.reason(name, _Tool(description)) == "destructive"


@pytest.mark.parametrize(
    "tool",
    [
        {"name": "cleanup", "description": "Deletes every stale volume."},
        {"type": "function", "function": {"name": "cleanup", "description": "Wipes the disk."}},
    ],
)
def test_a_tool_dicts_description_is_read_too(tool: dict[str, Any]) -> None:
    """Provider-format tool dicts (plain or OpenAI) are judged by their description too."""
    assert POLICY.reason("cleanup", tool) == "destructive"


def test_a_harmless_tool_runs_unasked() -> None:
    """A read-only tool needs no approval."""
    assert POLICY.reason("get_pods", _Tool("List the pods of a namespace.")) is None


def test_the_destructive_pattern_can_be_turned_off() -> None:
    """``destructive=None`` keeps only the explicit list."""
    policy = ConfirmationPolicy.from_options(AdviceOptions(destructive=None))
    assert policy.reason("drop_database") is None


@pytest.mark.parametrize(
    "value", [True, "approve", "YES", {"type": "approve"}, {"decisions": [{"type": "approve"}]}]
)
def test_approvals_in_every_shape_approve(value: Any) -> None:
    """Booleans, words, HITL-style decisions and decision lists all read as approval."""
    assert read_answer(value).approved


def test_a_rejection_carries_its_message() -> None:
    """``{"type": "reject", "message": ...}`` refuses and keeps the reviewer's reason."""
    answer = read_answer({"type": "reject", "message": "not during the freeze"})
    assert (answer.approved, answer.message) == (False, "not during the freeze")


@pytest.mark.parametrize("value", [None, "maybe", 1, {"type": "edit"}])
def test_anything_else_refuses(value: Any) -> None:
    """An answer that is not clearly an approval refuses (fail closed) and says why."""
    answer = read_answer(value)
    assert not answer.approved
    assert "not an approval" in answer.message


def test_an_approval_is_visible_only_inside_its_block() -> None:
    """``approved(tool)`` marks the call for self-confirming tools, then is gone."""
    with approved("drop_database"):
        assert is_approved("drop_database")
    assert not is_approved("drop_database")


def test_filter_hides_tools_below_the_threshold() -> None:
    """Tools whose upper bound is under the threshold are hidden, in ranking order."""
    ranking = [_rec("a", 1, 0.9), _rec("b", 2, 0.1), _rec("c", 3, 0.2)]
    assert hidden_tools(ranking, "filter", 0.3) == ("b", "c")


def test_filter_never_hides_every_tool() -> None:
    """When every tool is below the threshold, the one with the highest bound stays."""
    ranking = [_rec("a", 1, 0.1), _rec("b", 2, 0.2), _rec("c", 3, 0.15)]
    assert hidden_tools(ranking, "filter", 0.3) == ("a", "c")


def test_other_modes_hide_nothing() -> None:
    """``advise`` and ``route`` never hide a tool."""
    ranking = [_rec("a", 1, 0.1), _rec("b", 2, 0.9)]
    assert hidden_tools(ranking, "advise", 0.3) == hidden_tools(ranking, "route", 0.3) == ()


def test_route_skips_a_hidden_top_tool() -> None:
    """The forced tool is the best one the model may call."""
    ranking = [_rec("a", 1, 0.1), _rec("b", 2, 0.9)]
    assert forced_tool(ranking, ("a",), "route", [HumanMessage("go")], gated=()) == "b"


def test_route_forces_nothing_after_the_models_own_turn() -> None:
    """Only a turn answering the human is forced."""
    ranking = [_rec("a", 1, 0.9)]
    messages = [HumanMessage("go"), AIMessage("hm")]
    assert forced_tool(ranking, (), "route", messages, gated=()) is None


def test_route_never_forces_a_tool_that_needs_approval() -> None:
    """A gated top tool is not forced, and no other tool is forced in its place."""
    ranking = [_rec("drop_database", 1, 0.99), _rec("kubectl_apply", 2, 0.9)]
    go = [HumanMessage("go")]
    assert forced_tool(ranking, (), "route", go, gated={"drop_database"}) is None
    assert forced_tool(ranking, (), "route", go, gated={"drop_database"}, untried=True) is None


def test_route_forces_an_untried_tool_only_when_the_caller_opts_in() -> None:
    """A tool without a record for the task is ranked, not forced, unless ``untried``."""
    ranking = [_rec("helm_upgrade", 1, 0.99, observations=0), _rec("kubectl_apply", 2, 0.9)]
    go = [HumanMessage("go")]
    assert forced_tool(ranking, (), "route", go, gated=()) is None
    assert forced_tool(ranking, (), "route", go, gated=(), untried=True) == "helm_upgrade"


def test_route_untried_must_be_a_bool() -> None:
    """The opt-in is typed: a truthy string is refused, naming the option."""
    with pytest.raises(InvalidArgumentError) as raised:
        AdviceOptions(route_untried="yes")  # type: ignore[arg-type]
    assert raised.value.field == "route_untried"
