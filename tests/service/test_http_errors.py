"""Bad input is a 422 naming the field, an oversized body a 413; never a 500 or a traceback."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from toolwise import Toolwise
from toolwise.service import ServiceConfig, ToolwiseBackend, create_app

CASES: list[tuple[str, str, dict[str, Any], str, str | None]] = [
    # method, path, request keyword arguments, field, location
    ("post", "/v1/agents/devops/calls", {"json": {"latency_ms": 5}}, "tool", "body"),
    ("post", "/v1/agents/devops/calls", {"json": {"tool": ""}}, "tool", "body"),
    (
        "post",
        "/v1/agents/devops/calls",
        {"json": {"tool": "t", "latency_ms": -1}},
        "latency_ms",
        "body",
    ),
    ("post", "/v1/agents/devops/calls", {"json": {"tool": "t", "cost": "free"}}, "cost", "body"),
    (
        "post",
        "/v1/agents/devops/calls",
        {"json": {"tool": "t", "outcome": "meh"}},
        "outcome",
        "body",
    ),
    (
        "post",
        "/v1/agents/devops/calls",
        {"json": {"tool": "t", "success": "yes"}},
        "success",
        "body",
    ),
    ("post", "/v1/agents/devops/calls", {"json": {"tool": "t", "quality": 2}}, "quality", "body"),
    (
        "post",
        "/v1/agents/devops/calls",
        {"json": {"tool": "t", "tool_nme": "x"}},
        "tool_nme",
        "body",
    ),
    (
        "post",
        "/v1/agents/devops/calls",
        {"json": {"tool": "t", "timestamp": "0001-01-01T00:00:00Z"}},
        "timestamp",
        "body",
    ),
    (
        "post",
        "/v1/agents/devops/calls",
        {"json": {"tool": "t", "metadata": {"k": [1]}}},
        "metadata.k",
        "body",
    ),
    (
        "post",
        "/v1/agents/devops/calls",
        {"json": [{"tool": "a"}, {"tool": "b", "attempt": 0}]},
        "[1].attempt",
        "body",
    ),
    ("post", "/v1/agents/devops/calls", {"json": []}, "body", "body"),
    ("post", "/v1/agents/devops/calls", {"json": {"tool": "   "}}, "tool", None),
    (
        "post",
        "/v1/agents/devops/calls",
        {"json": {"tool": "t", "success": True, "outcome": "failure"}},
        "success",
        None,
    ),
    (
        "post",
        "/v1/agents/devops/calls",
        {"content": b"{not json", "headers": {"content-type": "application/json"}},
        "body",
        "body",
    ),
    ("get", "/v1/agents/devops/calls", {"params": {"limit": 0}}, "limit", "query"),
    ("get", "/v1/agents/devops/calls", {"params": {"limit": "ten"}}, "limit", "query"),
    ("get", "/v1/agents/devops/calls", {"params": {"outcome": "meh"}}, "outcome", "query"),
    ("get", "/v1/agents/devops/calls", {"params": {"since": "yesterday"}}, "since", "query"),
    ("get", "/v1/agents/devops/calls", {"params": {"tol": "x"}}, "tol", "query"),
    ("get", "/v1/agents/devops/calls", {"params": {"cursor": "not-a-cursor"}}, "cursor", None),
    ("get", "/v1/agents/de%01vops/calls", {}, "agent", "path"),
    ("get", "/v1/agents/devops/priors", {"params": {"limit": -1}}, "limit", "query"),
    (
        "post",
        "/v1/agents/devops/observe",
        {"json": {"tool": "t", "success": 1.5}},
        "success",
        "body",
    ),
    (
        "post",
        "/v1/agents/devops/observe",
        {"json": {"tool": "t", "success": True, "weight": -1}},
        "weight",
        "body",
    ),
    ("post", "/v1/agents/devops/recommend", {"json": {"tools": []}}, "tools", "body"),
    (
        "post",
        "/v1/agents/devops/recommend",
        {"json": {"tools": ["a"], "strategy": "luck"}},
        "strategy",
        "body",
    ),
    (
        "post",
        "/v1/agents/devops/recommend",
        {"json": {"tools": ["a"], "objective": {"success": 0}}},
        "objective",
        "body",
    ),
    ("post", "/v1/agents/devops/brief", {"json": {"tools": ["a"], "mode": "obey"}}, "mode", "body"),
    ("post", "/v1/agents/devops/brief", {"json": {"tools": ["a"], "budget": 10}}, "budget", "body"),
    ("post", "/v1/agents/devops/brief", {"json": {"tools": [5]}}, "tools[0]", "body"),
]


@pytest.mark.parametrize(
    "case", CASES, ids=[f"{c[0]} {c[1].rsplit('/', 1)[-1]} {c[3]}" for c in CASES]
)
def test_bad_input_is_a_422_naming_the_field(
    client: TestClient, case: tuple[str, str, dict[str, Any], str, str | None]
) -> None:
    """Each invalid body, query or path answers 422 with the field at fault, as JSON."""
    method, path, request_kwargs, field, location = case
    response = client.request(method.upper(), path, **request_kwargs)
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["error"] == "invalid_argument"
    assert body["field"] == field
    assert body.get("location") == location
    assert field in body["message"]
    assert "Traceback" not in response.text


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded"])
def test_a_json_body_not_sent_as_json_says_so(client: TestClient, content_type: str | None) -> None:
    """``curl -d '{…}'`` without a JSON content type: pydantic's "Input should be a valid
    dictionary" named the body but not why."""
    headers = {} if content_type is None else {"content-type": content_type}
    response = client.post("/v1/agents/devops/calls", content=b'{"tool": "t"}', headers=headers)
    assert response.status_code == 422
    body = response.json()
    assert body["field"] == "body"
    assert "Content-Type: application/json" in body["message"]
    assert f"(got {content_type or 'none'})" in body["message"]


def test_a_payload_nested_too_deep_is_named_briefly(client: TestClient) -> None:
    """Past pydantic's depth limit the field path ran to 770 characters."""
    deep = b"[" * 500 + b"1" + b"]" * 500
    response = client.post(
        "/v1/agents/devops/calls",
        content=b'{"tool": "t", "tool_input": ' + deep + b"}",
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 422
    assert response.json()["field"] == "tool_input" + "[0]" * 7 + "…"


@pytest.mark.parametrize(
    ("path", "query", "field"),
    [
        ("/v1/agents/devops/calls", "tool=ansible_run&tool=kubectl_deploy", "tool"),
        ("/v1/agents/devops/calls", "limit=1&limit=500", "limit"),
        ("/v1/agents/devops/priors", "task_type=a&task_type=b", "task_type"),
    ],
)
def test_a_single_valued_query_parameter_given_twice_is_refused(
    client: TestClient, path: str, query: str, field: str
) -> None:
    """FastAPI kept the last value: a client asking for two tools got one tool's calls."""
    response = client.get(f"{path}?{query}")
    assert response.status_code == 422
    assert (response.json()["field"], response.json()["location"]) == (field, "query")


def test_ids_are_given_once_per_id(client: TestClient, record_calls: Any) -> None:
    """``ids`` is a list: repeating it is how several ids are named."""
    first, second = record_calls("devops", {"tool": "a"}, {"tool": "b"})
    response = client.delete(f"/v1/agents/devops/calls?ids={first}&ids={second}")
    assert response.status_code == 200, response.text
    assert response.json()["deleted"] == 2


class _BrokenReads(ToolwiseBackend):
    """A backend whose listing fails with a bug (the rest is the real one)."""

    def list_calls(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("a bug")


def test_a_bug_is_logged_without_the_querys_values(
    tw: Toolwise, caplog: pytest.LogCaptureFixture
) -> None:
    """The 500's log line named the whole URL, query values (a session id, a task type) and
    all; it names the path and the parameters asked."""
    app = create_app(_BrokenReads(tw.runtime))
    with TestClient(app, raise_server_exceptions=False) as http:
        response = http.get("/v1/agents/devops/calls", params={"session_id": "tok-9f8e7d6c5b4a"})
    assert response.status_code == 500
    [logged] = [r.getMessage() for r in caplog.records if "unexpected error" in r.getMessage()]
    assert "tok-9f8e7d6c5b4a" not in logged
    assert logged.endswith("GET /v1/agents/devops/calls?session_id")


def test_a_refused_batch_records_nothing(client: TestClient) -> None:
    """One invalid call in a batch refuses the whole batch."""
    response = client.post(
        "/v1/agents/devops/calls", json=[{"tool": "a"}, {"tool": "b", "cost": -1}]
    )
    assert response.status_code == 422
    assert client.get("/v1/agents/devops/summary").json()["total_calls"] == 0


def test_a_batch_above_the_limit_is_refused(client: TestClient) -> None:
    """More than 1,000 calls in one POST is a 422 (send several batches)."""
    response = client.post("/v1/agents/devops/calls", json=[{"tool": "a"}] * 1_001)
    assert response.status_code == 422
    assert response.json()["field"] == "body"


def test_a_body_above_the_limit_is_a_413(tw: Toolwise) -> None:
    """A declared body above ``max_body_bytes`` is refused before it is read."""
    app = create_app(ToolwiseBackend(tw.runtime), config=ServiceConfig(max_body_bytes=2_048))
    with TestClient(app) as http:
        response = http.post("/v1/agents/devops/calls", json={"tool": "t", "task": "x" * 4_000})
        assert response.status_code == 413
        assert response.json()["error"] == "body_too_large"
        assert http.post("/v1/agents/devops/calls", json={"tool": "t"}).status_code == 202


def test_a_streamed_body_above_the_limit_is_a_413(tw: Toolwise) -> None:
    """A chunked body (no Content-Length) is counted as it arrives and refused."""
    app = create_app(ToolwiseBackend(tw.runtime), config=ServiceConfig(max_body_bytes=2_048))

    def chunks() -> Any:
        yield b'{"tool": "t", "task": "'
        for _ in range(10):
            yield b"x" * 1_000
        yield b'"}'

    with TestClient(app) as http:
        response = http.post(
            "/v1/agents/devops/calls",
            content=chunks(),
            headers={"content-type": "application/json"},
        )
        assert response.status_code == 413


def test_an_unknown_route_is_a_json_404(client: TestClient) -> None:
    """Unknown paths answer the same JSON error shape."""
    response = client.get("/v1/nothing-here")
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


def test_a_wrong_method_is_a_json_405(client: TestClient) -> None:
    """A method a path does not take is 405, JSON."""
    response = client.put("/v1/agents/devops/calls")
    assert response.status_code == 405
    assert response.json()["error"] == "method_not_allowed"
