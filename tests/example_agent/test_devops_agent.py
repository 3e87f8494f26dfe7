"""The DevOps example learns: run end to end in a short mode, with its scripted model."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
import respx
from examples.devops_agent import history
from examples.devops_agent.report import compare, plot, table
from examples.devops_agent.run import AGENT_ID, run, run_baselines


def _share(results: list, tool: str) -> float:
    return sum(r.tool == tool for r in results) / len(results)


def test_one_simulated_week_shifts_deploys_from_ansible_to_kubectl(tmp_path: Path) -> None:
    """Within one week the agent routes more deploys to kubectl and fewer to ansible."""
    reports, results, tw = run(weeks=1, path=tmp_path / "store", seed=7, progress=False)
    try:
        early, late = results[:16], results[-16:]
        assert _share(late, "kubectl_deploy") > _share(early, "kubectl_deploy")
        assert _share(late, "ansible_run") < _share(early, "ansible_run")
        assert tw.summary(AGENT_ID).total_calls == len(results) == reports[0].deploys
        assert tw.counters.dropped == 0
    finally:
        tw.close()


def test_helm_takes_over_chart_deploys_the_week_after_it_arrives(tmp_path: Path) -> None:
    """Helm arrives in week 4, built for chart-based services, where kubectl now fights it:
    by week 5 the agent deploys charts with helm most of the time, and success recovers."""
    reports, results, tw = run(weeks=5, path=tmp_path / "store", seed=7, progress=False)
    tw.close()
    charts = [r for r in results if r.week == 5 and "chart" in r.task_type]
    assert _share(charts, "helm_upgrade") > 0.5
    assert _share(charts, "helm_upgrade") > _share(charts, "kubectl_deploy")
    assert reports[4].success_rate > reports[3].success_rate


def test_the_baseline_records_without_briefing_the_model(tmp_path: Path) -> None:
    """``advice=False`` is the comparison run: every call is recorded, none was advised, and
    the model keeps its ansible habit."""
    _, results, tw = run(
        weeks=1, path=tmp_path / "store", deploys_per_week=30, advice=False, progress=False
    )
    try:
        calls = tw.list_calls(AGENT_ID, limit=100)
        assert len(calls) == len(results) == 30
        assert not any(c.decision_id for c in calls)
        assert _share(results, "ansible_run") > 0.4
    finally:
        tw.close()


def test_route_mode_deploys_with_the_top_ranked_tool(tmp_path: Path) -> None:
    """``mode="route"``: the model's habit no longer matters — every call is the brief's pick."""
    _, results, tw = run(
        weeks=1, path=tmp_path / "store", deploys_per_week=30, mode="route", progress=False
    )
    try:
        calls = tw.list_calls(AGENT_ID, limit=100)
        assert len(calls) == len(results) == 30
        assert all(c.tool == c.recommended_tool for c in calls)
    finally:
        tw.close()


def test_a_second_run_continues_from_what_was_learnt(tmp_path: Path) -> None:
    """Re-running continues the calendar and keeps the store; ``fresh`` starts over."""
    store = tmp_path / "store"
    _, _, tw = run(weeks=1, path=store, deploys_per_week=6, progress=False)
    tw.close()
    reports, _, tw = run(weeks=1, path=store, deploys_per_week=6, progress=False)
    try:
        assert reports[0].week == 2
        assert tw.summary(AGENT_ID).total_calls == 12
    finally:
        tw.close()
    reports, _, tw = run(weeks=1, path=store, deploys_per_week=6, fresh=True, progress=False)
    try:
        assert reports[0].week == 1
        assert tw.summary(AGENT_ID).total_calls == 6
    finally:
        tw.close()


def test_the_report_has_a_week_table_and_a_png(tmp_path: Path) -> None:
    """The week table names every tool and the learning curve is written as a PNG."""
    reports, _, tw = run(weeks=1, path=tmp_path / "store", deploys_per_week=8, progress=False)
    tw.close()
    text = table(reports)
    assert "kubectl_deploy" in text
    assert "helm_upgrade" in text
    png = plot(history.load(tmp_path / "store"), tmp_path / "curve.png", main_arm="advise")
    assert png is not None
    assert png.read_bytes()[:4] == b"\x89PNG"


def _chat_reply(request: httpx.Request) -> httpx.Response:
    """A stand-in for the OpenAI chat API: call kubectl first, then report."""
    body = json.loads(request.content)
    if body["messages"][-1]["role"] == "tool":
        message = {"role": "assistant", "content": "Deployed."}
    else:
        message = {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {
                        "name": "kubectl_deploy",
                        "arguments": json.dumps(
                            {"service": "auth", "version": "1.0.0", "environment": "staging"}
                        ),
                    },
                }
            ],
        }
    return httpx.Response(
        200,
        json={
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "created": 0,
            "model": "gpt-4o-mini",
            "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
        },
    )


def test_the_example_runs_on_openai_when_a_key_is_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With ``OPENAI_API_KEY`` the example drives a real ChatOpenAI (HTTP mocked by respx)."""
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-real-key-000000")
    with respx.mock(assert_all_called=True) as mock:
        route = mock.post("https://api.openai.com/v1/chat/completions").mock(
            side_effect=_chat_reply
        )
        _, results, tw = run(weeks=1, path=tmp_path / "store", deploys_per_week=2, progress=False)
    try:
        assert route.call_count == 4  # two deploys, two model turns each
        assert [r.tool for r in results] == ["kubectl_deploy", "kubectl_deploy"]
        briefed = json.loads(route.calls[0].request.content)["messages"][0]["content"]
        assert "[toolwise]" in briefed
    finally:
        tw.close()


def test_a_second_run_extends_the_learning_curve(tmp_path: Path) -> None:
    """The curve is drawn from every week run so far, not only the latest run's."""
    store = tmp_path / "store"
    for _ in range(2):
        _, _, tw = run(weeks=1, path=store, deploys_per_week=8, progress=False)
        tw.close()
    assert [p.week for p in history.load(store)["advise"]] == [1, 2]


def test_baselines_run_the_same_weeks_beside_the_main_arm(tmp_path: Path) -> None:
    """``--compare``: no-advice and route catch up to the main arm's weeks, in their own stores."""
    store = tmp_path / "store"
    _, _, tw = run(weeks=2, path=store, deploys_per_week=8, progress=False)
    tw.close()
    run_baselines(path=store, arms=("no-advice", "route"), until_week=3, deploys_per_week=8,
                  progress=False)  # fmt: skip
    learnt = history.load(store)
    assert {arm: [p.week for p in points] for arm, points in learnt.items()} == {
        "advise": [1, 2],
        "no-advice": [1, 2],
        "route": [1, 2],
    }
    assert "route" in compare(learnt)
    png = plot(learnt, tmp_path / "curve.png", main_arm="advise")
    assert png is not None


def test_help_names_the_command_a_user_types(capsys: pytest.CaptureFixture[str]) -> None:
    """``--help`` shows ``python -m examples.devops_agent``, not ``__main__.py``."""
    from examples.devops_agent.__main__ import main

    with pytest.raises(SystemExit):
        main(["--help"])
    assert capsys.readouterr().out.startswith("usage: python -m examples.devops_agent")


def test_the_pooled_pull_image_beats_each_registry_alone() -> None:
    from examples.devops_agent.pull_image import simulate

    rows = {r.policy: r for r in simulate(seed=7)}

    pool = rows["pool: pull_image"]
    assert pool.success_rate > rows["dockerhub_pull alone"].success_rate
    assert pool.success_rate > rows["ghcr_pull alone"].success_rate
    assert pool.success_rate >= rows["fixed chain (with_fallbacks)"].success_rate
    assert pool.attempts_per_pull <= rows["fixed chain (with_fallbacks)"].attempts_per_pull


def test_fresh_forgets_only_the_examples_agent(tmp_path: Path) -> None:
    """The example may share the default store: ``--fresh`` forgets its agent, no other."""
    import toolwise

    store = tmp_path / "store"
    with toolwise.Toolwise(store) as tw:
        tw.record(agent_id="billing", tool="charge")
    _, _, tw = run(weeks=1, path=store, deploys_per_week=8, progress=False)
    tw.close()
    _, _, tw = run(weeks=1, path=store, deploys_per_week=8, progress=False, fresh=True)
    try:
        assert tw.summary(AGENT_ID).total_calls == 8
        assert tw.summary("billing").total_calls == 1
        assert [p.week for p in history.load(store)["advise"]] == [1]
    finally:
        tw.close()
