"""``create_agent(..., middleware=[tw.middleware()])`` with no labels learns per task.

The task types are learnt from the requests (issue 14.1): each model turn's records carry the
type the advisor chose for that turn, repeated requests join their type, an unrelated request
sees none of another task's failures, and the learnt types survive a restart.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from langchain.agents import create_agent
from langchain_core.messages import HumanMessage
from langchain_core.tools import BaseTool, ToolException, tool

from toolwise import Toolwise

DEPLOY = "Deploy the payments api to production"
WEATHER = "What is the weather in Paris?"
# Which tool works for which request: the opposite for the two tasks, so a ranking that
# mixes them up (one task type for both) cannot get both right.
WORKS = {("helm", DEPLOY): True, ("curl", DEPLOY): False}
WORKS |= {("helm", WEATHER): False, ("curl", WEATHER): True}


def _tools() -> list[BaseTool]:
    @tool
    def helm(request: str) -> str:
        """Apply a Helm chart."""
        if not WORKS[("helm", request)]:
            raise ToolException("helm: release failed: timed out waiting for the condition")
        return "released"

    @tool
    def curl(request: str) -> str:
        """Call an HTTP API."""
        if not WORKS[("curl", request)]:
            raise ToolException("curl: 502 bad gateway from the upstream")
        return "200 OK"

    for each in (helm, curl):
        each.handle_tool_error = True  # the run goes on; the failure is still recorded
    return [helm, curl]


def _run(tw: Toolwise, script: Callable[..., Any], request: str, **labels: str) -> dict[str, Any]:
    """One agent run: the model tries both tools on ``request``, then answers."""
    calls = [
        {"name": name, "args": {"request": request}, "id": f"{name}-call"}
        for name in ("helm", "curl")
    ]
    agent = create_agent(script(calls), _tools(), middleware=[tw.middleware(**labels)])
    config = {"metadata": {"toolwise_task_type": labels.pop("task_type")}} if labels else None
    result: dict[str, Any] = agent.invoke({"messages": [HumanMessage(request)]}, config)
    return result


def _teach(tw: Toolwise, script: Callable[..., Any], *, labelled: bool) -> None:
    for _ in range(20):
        for request, label in ((DEPLOY, "deploy"), (WEATHER, "weather")):
            _run(tw, script, request, **({"task_type": label} if labelled else {}))
    tw.flush()


def _best(tw: Toolwise, request: str) -> tuple[str, list[float]]:
    brief = tw.advisor().advise([HumanMessage(request)], tools=["helm", "curl"])
    ranked = sorted(brief.recommendations, key=lambda r: r.tool)
    return max(ranked, key=lambda r: r.rate).tool, [round(r.rate, 2) for r in ranked]


def test_every_record_of_a_turn_carries_the_task_type_of_its_decision(
    tw: Toolwise, script: Callable[..., Any]
) -> None:
    """One decision, one label: the tool calls after a brief are recorded under its type."""
    result = _run(tw, script, DEPLOY)
    tw.flush()

    records = tw.list_calls()
    assert len(records) == 2  # helm and curl, called after the same model turn
    [(decision, task_type)] = {(r.decision_id, r.task_type) for r in records}
    assert decision
    assert task_type == result["toolwise"]["task_type"] == "deploy_payments_api_production"


def test_without_labels_two_requests_are_learnt_as_well_as_hand_labelled_ones(
    tw: Toolwise, tmp_path: Path, script: Callable[..., Any]
) -> None:
    """20 unlabelled repetitions of two requests rank each request's working tool first, with
    the same estimates as the same runs labelled by hand."""
    _teach(tw, script, labelled=False)
    labelled = Toolwise(path=tmp_path / "labelled")
    try:
        _teach(labelled, script, labelled=True)

        for request, works in ((DEPLOY, "helm"), (WEATHER, "curl")):
            learnt, by_hand = _best(tw, request), _best(labelled, request)
            assert learnt[0] == by_hand[0] == works
            assert learnt[1] == by_hand[1]
        assert {r.task_type for r in tw.list_calls(limit=500)} == {
            "deploy_payments_api_production",
            "weather_paris",
        }
    finally:
        labelled.close()


def test_an_unrelated_request_recalls_none_of_another_tasks_failures(
    tw: Toolwise, script: Callable[..., Any]
) -> None:
    """Deploy failures are recalled for deploys, and not shown to a weather question."""
    for _ in range(3):
        _run(tw, script, DEPLOY)
    tw.flush()

    advisor = tw.advisor()
    deploy = advisor.advise([HumanMessage(DEPLOY)], tools=["helm", "curl"])
    weather = advisor.advise([HumanMessage(WEATHER)], tools=["helm", "curl"])

    assert "502 bad gateway" in deploy.text  # curl fails on deploys
    assert "502" not in weather.text
    assert weather.task_source == "new"


def test_learnt_task_types_survive_a_restart(tmp_path: Path, script: Callable[..., Any]) -> None:
    """A reopened store matches a request to the type learnt before, by its centroid."""
    first = Toolwise(path=tmp_path / "store")
    try:
        learnt = first.advisor().advise([HumanMessage(DEPLOY)], tools=["helm"]).task_type
    finally:
        first.close()

    again = Toolwise(path=tmp_path / "store")
    try:
        brief = again.advisor().advise(
            [HumanMessage("Deploy the payments api to production, please")], tools=["helm"]
        )
    finally:
        again.close()
    assert (brief.task_type, brief.task_source) == (learnt, "inferred")
