"""Composite tools: detected from recurring sequences, validated in the sandbox, promoted
only by their own record."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from langchain_core.tools import ToolException, tool

from toolwise import Toolwise
from toolwise.improve import Improver
from toolwise.improve.sandbox import default_sandbox

_SUPPORT = default_sandbox().support
pytestmark = pytest.mark.skipif(
    not _SUPPORT.available, reason=f"composites need the OS sandbox: {_SUPPORT.reason}"
)

Runner = Callable[..., None]  # the run_task fixture
RELEASE = ["terraform_apply", "helm_upgrade", "kubectl_deploy"]
NAME = "terraform_apply_then_helm_upgrade_then_kubectl_deploy"
INPUT = {
    "workspace": "staging",
    "release": "web",
    "chart": "web-1.5.0",
    "helm_upgrade_namespace": "shop",
    "service": "web",
    "kubectl_deploy_namespace": "shop",
}


def _releases(run_task: Runner, count: int) -> None:
    for i in range(count):
        run_task(f"release-{i}", f"release web build {i} to production", RELEASE)


def _record_pair(
    tw: Toolwise, clock: Any, session: str, *calls: tuple[str, dict[str, Any]]
) -> None:
    """Record successful calls of one run, as if the agent had made them."""
    for name, args in calls:
        tw.record(
            agent_id="devops",
            tool=name,
            session_id=session,
            task="deploy web",
            tool_input=json.dumps(args),
            timestamp=clock.advance(),
        )


@pytest.fixture
def record_uses(tw: Toolwise, clock: Any) -> Callable[[list[str]], None]:
    """Record uses of the release composite, as the agent's recording integration would."""

    def record(outcomes: list[str]) -> None:
        for outcome in outcomes:
            tw.record(agent_id="devops", tool=NAME, outcome=outcome, timestamp=clock.advance())

    return record


@pytest.fixture
def proposed(run_task: Runner, make_improver: Callable[..., Improver]) -> Improver:
    """An improver that has proposed the release composite from three recorded releases."""
    _releases(run_task, 3)
    improver = make_improver()
    improver.improve("devops")
    return improver


def test_recurring_three_tool_sequence_yields_a_sandboxed_composite(
    run_task: Runner, make_improver: Callable[..., Improver]
) -> None:
    """Three release runs produce one composite that passed replay validation in sandbox."""
    _releases(run_task, 3)
    improver = make_improver()
    report = improver.improve("devops")[0]
    [spec] = improver.composites("devops")
    assert report.composites_proposed == 1
    assert spec.tools == tuple(RELEASE)
    assert spec.level == "sandbox"
    assert spec.validated_replays == 3


def test_composite_runs_its_steps_in_order(proposed: Improver) -> None:
    """Invoking the composite calls the three tools and returns their outputs as JSON."""
    [composite] = proposed.composite_tools("devops")
    result = json.loads(composite.invoke(INPUT))
    assert [step["tool"] for step in result["steps"]] == RELEASE
    assert "upgraded to web-1.5.0 in shop" in result["steps"][1]["output"]


def test_composite_schema_prefixes_colliding_fields(proposed: Improver) -> None:
    """``namespace`` of helm_upgrade and kubectl_deploy become two prefixed, typed fields."""
    [composite] = proposed.composite_tools("devops")
    fields = composite.args
    assert "namespace" not in fields
    assert fields["helm_upgrade_namespace"]["type"] == "string"
    assert fields["replicas"]["type"] == "integer"


def test_a_sequence_seen_twice_is_not_proposed(
    run_task: Runner, make_improver: Callable[..., Improver]
) -> None:
    """Below the default of three occurrences nothing is proposed."""
    _releases(run_task, 2)
    improver = make_improver()
    improver.improve("devops")
    assert improver.composites("devops") == []


def test_a_composite_whose_replay_writes_a_file_is_rejected(
    tw: Toolwise, make_improver: Callable[..., Improver], clock: Any, tmp_path: Path
) -> None:
    """A step that writes during the sandboxed replay fails validation: rejected, audited."""
    target = tmp_path / "kubeconfig"

    @tool
    def write_kubeconfig(cluster: str) -> str:
        """Write a kubeconfig for a cluster."""
        target.write_text(cluster)
        return "written"

    improver = make_improver()
    improver.register_tools([write_kubeconfig])
    for i in range(3):
        _record_pair(
            tw,
            clock,
            f"s{i}",
            ("write_kubeconfig", {"cluster": "c1"}),
            ("kubectl_deploy", {"service": "web"}),
        )
    report = improver.improve("devops")[0]
    assert report.composites_rejected == 1
    assert improver.composites("devops") == []
    assert not target.exists()
    [rejected] = [e for e in improver.audit("devops") if e.kind == "composite.rejected"]
    assert "step 1/2 (write_kubeconfig) failed" in rejected.reason


@pytest.fixture
def logging_composite(
    tw: Toolwise, make_improver: Callable[..., Improver], clock: Any, tmp_path: Path
) -> tuple[Improver, Path]:
    """A proposed kubectl_deploy → log_release composite whose second step writes a file
    once armed (the validation replays ran before that; the flag travels with the step)."""
    target = tmp_path / "release.log"
    armed = {"on": False}

    @tool
    def log_release(note: str) -> str:
        """Write a release note to the log."""
        if armed["on"]:
            target.write_text(note)
        return "noted"

    improver = make_improver()
    improver.register_tools([log_release])
    for i in range(3):
        _record_pair(
            tw,
            clock,
            f"s{i}",
            ("kubectl_deploy", {"service": "web"}),
            ("log_release", {"note": "n"}),
        )
    improver.improve("devops")
    armed["on"] = True
    return improver, target


def test_a_sandboxed_composite_cannot_write_files(logging_composite: tuple[Improver, Path]) -> None:
    """Before promotion the composite runs in the sandbox: a write raises and never lands."""
    improver, target = logging_composite
    [composite] = improver.composite_tools("devops")
    with pytest.raises(ToolException, match=r"step 2/2 \(log_release\) failed"):
        composite.invoke({"service": "web", "note": "v2 released"})
    assert not target.exists()


def test_a_restricted_composite_may_write_files(
    logging_composite: tuple[Improver, Path], tw: Toolwise, clock: Any
) -> None:
    """Once its record earns ``restricted``, the same composite's write goes through."""
    improver, target = logging_composite
    [composite] = improver.composite_tools("devops")
    for _ in range(10):
        tw.record(agent_id="devops", tool=composite.name, timestamp=clock.advance())
    improver.review_composites("devops")
    composite.invoke({"service": "web", "note": "v2 released"})
    assert target.read_text() == "v2 released"


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
