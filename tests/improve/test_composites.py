"""Composite tools: one tool running its steps, with a merged schema, in the sandbox until
promoted; a replay that breaks the sandbox rejects the proposal."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from langchain_core.tools import ToolException, tool
from tests.improve.conftest import INPUT, RELEASE

from toolwise import Toolwise
from toolwise.improve import Improver
from toolwise.improve.sandbox import default_sandbox

_SUPPORT = default_sandbox().support
pytestmark = pytest.mark.skipif(
    not _SUPPORT.available, reason=f"composites need the OS sandbox: {_SUPPORT.reason}"
)


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
