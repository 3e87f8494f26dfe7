"""Observe, priors, recommend and the brief over HTTP: the Python API's learning, any language."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from fastapi.testclient import TestClient

from toolwise import Toolwise
from toolwise.advice.models import AdviceOptions
from toolwise.service import Advising, ToolwiseBackend, create_app
from toolwise.service.app import warm_up

TOOLS = ["kubectl_apply", "helm_upgrade"]


def _history(record_calls: Callable[..., list[str]]) -> None:
    """kubectl_apply 12/12, helm_upgrade 0/12 (timing out) for production deploys."""
    calls = []
    for _ in range(12):
        calls.append({"tool": "kubectl_apply", "task_type": "production_deploy", "latency_ms": 400})
        calls.append(
            {
                "tool": "helm_upgrade",
                "task_type": "production_deploy",
                "success": False,
                "error_type": "TimeoutError",
                "error_message": "context deadline exceeded",
                "task": "deploy the web app to production",
            }
        )
    record_calls("devops", *calls)


def test_observe_returns_the_updated_prior(client: TestClient) -> None:
    """``observe`` (seed 002) answers the prior after this outcome."""
    for success in (True, True, False):
        prior = client.post(
            "/v1/agents/devops/observe",
            json={"tool": "web_search", "success": success, "task_type": "research"},
        ).json()
    assert prior["tool"] == "web_search"
    assert prior["observations"] == 3
    assert prior["confidence"] == "low"
    low, high = prior["credible_interval"]
    assert low < prior["rate"] < high


def test_observations_are_stored_like_calls(client: TestClient, tw: Toolwise) -> None:
    """An observation is a durable record too (it survives restarts)."""
    client.post("/v1/agents/devops/observe", json={"tool": "web_search", "success": 0.5})
    tw.flush()
    stored = tw.list_calls("devops")
    assert [(c.tool, c.outcome, c.source) for c in stored] == [("web_search", "partial", "observe")]


def test_priors_filter_by_tool_and_task_type(
    client: TestClient, record_calls: Callable[..., list[str]]
) -> None:
    """``priors?tool=&task_type=`` narrows to that key."""
    _history(record_calls)
    priors = client.get(
        "/v1/agents/devops/priors",
        params={"tool": "helm_upgrade", "task_type": "production_deploy"},
    ).json()
    assert [(p["tool"], p["observations"]) for p in priors] == [("helm_upgrade", 12)]
    assert priors[0]["rate"] < 0.3


def test_recommend_ranks_the_reliable_tool_first(
    client: TestClient, record_calls: Callable[..., list[str]]
) -> None:
    """With clear evidence, the greedy ranking puts the reliable tool first."""
    _history(record_calls)
    ranking = client.post(
        "/v1/agents/devops/recommend",
        json={"task_type": "production_deploy", "tools": TOOLS, "strategy": "greedy"},
    ).json()
    assert [r["tool"] for r in ranking] == ["kubectl_apply", "helm_upgrade"]
    assert ranking[0]["reason"]


def test_the_brief_is_the_python_pre_selection(
    client: TestClient, record_calls: Callable[..., list[str]], tw: Toolwise
) -> None:
    """``brief`` answers the ranked, fenced text and a decision id, as ``Advisor`` does."""
    _history(record_calls)
    brief = client.post(
        "/v1/agents/devops/brief",
        json={
            "task": "deploy the web app to production",
            "task_type": "production_deploy",
            "tools": TOOLS,
            "strategy": "greedy",
        },
    ).json()
    assert brief["decision_id"]
    assert brief["recommended_tool"] == "kubectl_apply"
    assert brief["text"].startswith('[toolwise] Past tool outcomes for task "production_deploy"')
    assert "<toolwise-data>" in brief["text"]
    assert "context deadline exceeded" in brief["text"]
    python = tw.advisor(agent_id="devops", task_type="production_deploy", strategy="greedy").advise(
        [("user", "deploy the web app to production")], tools=TOOLS
    )
    assert brief["text"] == python.text


def test_filter_mode_hides_the_unreliable_tool(
    client: TestClient, record_calls: Callable[..., list[str]]
) -> None:
    """``mode: filter`` reports the tools a Python agent would hide."""
    _history(record_calls)
    brief = client.post(
        "/v1/agents/devops/brief",
        json={"task": "deploy", "task_type": "production_deploy", "tools": TOOLS, "mode": "filter"},
    ).json()
    assert brief["hidden_tools"] == ["helm_upgrade"]


def test_calls_carrying_the_decision_id_measure_adherence(
    client: TestClient, record_calls: Callable[..., list[str]]
) -> None:
    """A call that sends back the decision id is labelled with the recommendation."""
    _history(record_calls)
    decision = client.post(
        "/v1/agents/devops/brief",
        json={
            "task": "deploy",
            "task_type": "production_deploy",
            "tools": TOOLS,
            "strategy": "greedy",
        },
    ).json()
    (call_id,) = record_calls(
        "devops", {"tool": "kubectl_apply", "decision_id": decision["decision_id"]}
    )
    stored = client.get(f"/v1/agents/devops/calls/{call_id}").json()
    assert stored["recommended_tool"] == "kubectl_apply"
    assert stored["task_type"] == "production_deploy"
    advice = client.get("/v1/agents/devops/summary").json()["advice"]
    assert advice["adherence"] == 1.0


def test_a_decision_of_another_agent_labels_nothing(
    client: TestClient, record_calls: Callable[..., list[str]]
) -> None:
    """A decision id only labels calls of the agent it was made for."""
    decision = client.post("/v1/agents/devops/brief", json={"tools": TOOLS}).json()
    (call_id,) = record_calls(
        "billing", {"tool": "kubectl_apply", "decision_id": decision["decision_id"]}
    )
    assert client.get(f"/v1/agents/billing/calls/{call_id}").json()["recommended_tool"] == ""


def test_a_brief_without_history_says_so(client: TestClient) -> None:
    """A cold agent gets the one-line "no history" brief, still with a decision id."""
    brief = client.post(
        "/v1/agents/newbie/brief", json={"task": "deploy", "tools": [{"name": "kubectl_apply"}]}
    ).json()
    assert brief["text"].startswith("[toolwise] No tool history yet")
    assert brief["decision_id"]


class CountingBackend(ToolwiseBackend):
    """Counts the pre-selection cores it builds."""

    built = 0

    def advisor(self, options: AdviceOptions, /) -> Advising:
        self.built += 1
        return super().advisor(options)


def test_the_first_default_brief_uses_the_core_built_at_start_up(tw: Toolwise) -> None:
    """``warm_up`` (``toolwise serve`` calls it before listening) builds the core a brief with
    default options uses, so the first brief does not build one in its request."""
    backend = CountingBackend(tw.runtime)
    app = create_app(backend)
    warm_up(app)
    assert backend.built == 1
    with TestClient(app) as http:
        response = http.post("/v1/agents/devops/brief", json={"task": "deploy", "tools": TOOLS})
    assert response.status_code == 200
    assert backend.built == 1


def test_concurrent_briefs_over_http_share_one_recall_query(
    client: TestClient,
    record_calls: Callable[..., list[str]],
    tw: Toolwise,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Briefs for one question arriving together while failures are recorded (the server's
    worker threads, the same core as ``Advisor``) make one store query; each shows the
    failure recorded before it."""
    _history(record_calls)
    asked: list[str] = []
    opened = threading.Event()
    real = tw.store.similar

    def similar(agent_id: str, text: str, **kwargs: Any) -> Any:
        asked.append(text)
        opened.wait(timeout=60)
        return real(agent_id, text, **kwargs)

    monkeypatch.setattr(tw.store, "similar", similar)
    body = {
        "task": "deploy the web app",
        "task_type": "production_deploy",
        "tools": TOOLS,
        "top_k": 20,  # room for every failure
        "budget": 10_000,
    }
    with ThreadPoolExecutor(4) as pool:
        briefs = []
        for n in range(4):
            record_calls(
                "devops",
                {
                    "tool": "helm_upgrade",
                    "task_type": "production_deploy",
                    "success": False,
                    "error_type": "TimeoutError",
                    "error_message": f"release stuck {n}",
                    "task": "deploy the web app",
                },
            )
            briefs.append(pool.submit(client.post, "/v1/agents/devops/brief", json=body))
        opened.set()
        texts = [brief.result(timeout=60).json()["text"] for brief in briefs]
    assert len(asked) == 1
    for n, text in enumerate(texts):
        assert f"release stuck {n}" in text
