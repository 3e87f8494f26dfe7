"""The composite library: sequences recurring in three runs are proposed, validated by
sandboxed replays, and promoted or retired only by the composite's own record."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from langchain_core.tools import ToolException
from tests.improve.conftest import INPUT, RELEASE, Runner, releases

from toolwise.improve import Improver


def test_recurring_three_tool_sequence_yields_a_sandboxed_composite(
    run_task: Runner, make_improver: Callable[..., Improver]
) -> None:
    """Three release runs produce one composite that passed replay validation in sandbox."""
    releases(run_task, 3)
    improver = make_improver()
    report = improver.improve("devops")[0]
    [spec] = improver.composites("devops")
    assert report.composites_proposed == 1
    assert spec.tools == tuple(RELEASE)
    assert spec.level == "sandbox"
    assert spec.validated_replays == 3


def test_a_sequence_seen_twice_is_not_proposed(
    run_task: Runner, make_improver: Callable[..., Improver]
) -> None:
    """Below the default of three occurrences nothing is proposed."""
    releases(run_task, 2)
    improver = make_improver()
    improver.improve("devops")
    assert improver.composites("devops") == []


def test_ten_successful_uses_promote_sandbox_to_restricted(
    proposed: Improver, record_uses: Callable[[list[str]], None]
) -> None:
    """Ten recorded uses at 100 % move the composite from sandbox to restricted."""
    record_uses(["success"] * 10)
    [review] = proposed.review_composites("devops")
    assert (review.action, review.level) == ("promote", "restricted")
    assert proposed.composites("devops")[0].level == "restricted"


def test_nine_uses_are_not_enough_to_promote(
    proposed: Improver, record_uses: Callable[[list[str]], None]
) -> None:
    """Below ten uses the level is kept however good the record."""
    record_uses(["success"] * 9)
    proposed.review_composites("devops")
    assert proposed.composites("devops")[0].level == "sandbox"


def test_full_needs_99_percent_at_the_restricted_level(
    proposed: Improver, record_uses: Callable[[list[str]], None]
) -> None:
    """At restricted, 19 of 20 uses (95 %) keep the level; the sandbox uses do not count."""
    record_uses(["success"] * 10)
    proposed.review_composites("devops")
    record_uses(["success"] * 19 + ["failure"])
    [review] = proposed.review_composites("devops")
    assert (review.action, review.uses, review.level) == ("keep", 20, "restricted")


def test_a_clean_record_at_restricted_promotes_to_full(
    proposed: Improver, record_uses: Callable[[list[str]], None]
) -> None:
    """Ten successful uses at restricted (100 % ≥ 99 %) grant full permissions."""
    record_uses(["success"] * 10)
    proposed.review_composites("devops")
    record_uses(["success"] * 10)
    proposed.review_composites("devops")
    assert proposed.composites("devops")[0].level == "full"


def test_a_failing_composite_is_retired_and_refuses_to_run(
    proposed: Improver, record_uses: Callable[[list[str]], None]
) -> None:
    """Under 50 % success over ten uses retires it; the built tool then refuses calls."""
    [composite] = proposed.composite_tools("devops")
    record_uses(["failure"] * 7 + ["success"] * 3)
    [review] = proposed.review_composites("devops")
    assert review.action == "retire"
    with pytest.raises(ToolException, match="retired"):
        composite.invoke(INPUT)
