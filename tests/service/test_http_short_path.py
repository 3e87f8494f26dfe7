"""The short path of ``POST .../calls``: the route's answer, sooner; refusals stay the route's."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from tests.service.conftest import ServedWithKeys, ServeProcess

from toolwise import Toolwise
from toolwise.errors import SpoolError
from toolwise.service import KeyRing, ServiceConfig, ToolwiseBackend, create_app

Bearer = Callable[[str], dict[str, str]]
CALL = {"tool": "kubectl_deploy", "latency_ms": 1_900.0, "task_type": "deploy"}
JSON = {"Content-Type": "application/json"}
# The route parses this content type too; the short path leaves it to the route.
ROUTED = {"Content-Type": "application/json; charset=utf-8"}


def _taken(http: TestClient) -> int:
    taken: int = http.app.state.toolwise.short_path_requests  # type: ignore[attr-defined]
    return taken


def _answer(response: httpx.Response) -> tuple[int, bytes, str, str]:
    headers = response.headers
    return (
        response.status_code,
        response.content,
        headers["content-type"],
        headers["content-length"],
    )


def test_a_well_formed_call_takes_the_short_path(client: TestClient) -> None:
    """One call or a small batch as JSON is answered before routing, and stored."""
    one = client.post("/v1/agents/devops/calls", json=CALL)
    batch = client.post("/v1/agents/devops/calls", json=[CALL, {**CALL, "success": False}])
    assert (one.status_code, batch.status_code) == (202, 202)
    assert _taken(client) == 2
    stored = client.get(f"/v1/agents/devops/calls/{one.json()['ids'][0]}").json()
    assert (stored["tool"], stored["source"]) == ("kubectl_deploy", "http")


def test_the_route_still_answers_what_the_short_path_leaves(client: TestClient) -> None:
    """Another JSON content type, a query string or a chunked body take the route: 202."""
    streamed = iter([b'{"tool": "kubectl_deploy"', b"}"])
    for response in (
        client.post("/v1/agents/devops/calls", json=CALL, headers=ROUTED),
        client.post("/v1/agents/devops/calls", json=CALL, params={"x": "1"}),
        client.post("/v1/agents/devops/calls", content=streamed, headers=JSON),
        client.post("/v1/agents/devops/calls", json=[CALL] * 21),  # a big batch: a thread
    ):
        assert response.status_code == 202, response.text
    assert _taken(client) == 0
    assert client.get("/v1/agents/devops/summary").json()["total_calls"] == 24


def test_the_short_path_answers_byte_for_byte_as_the_route(served: ServedWithKeys) -> None:
    """Status, body and headers of a real server's answer are the route's, for one call and
    for a batch (same ids, so the same body)."""
    url = f"{served.url}/v1/agents/short-path-identity/calls"
    auth = {"Authorization": f"Bearer {served.admin}"}
    one = {**CALL, "id": "identity-1"}
    batch = [{**CALL, "id": "identity-2"}, {**CALL, "id": "identity-3", "success": False}]
    with httpx.Client(timeout=30) as http:
        for body in (one, batch):
            short = http.post(url, json=body, headers={**auth, **JSON})
            routed = http.post(url, json=body, headers={**auth, **ROUTED})
            assert short.status_code == 202
            assert _answer(short) == _answer(routed)
            assert set(short.headers) == set(routed.headers)


def test_calls_from_the_short_path_appear_in_list_and_summary(served: ServedWithKeys) -> None:
    """What the short path accepted is read back like any call."""
    url = f"{served.url}/v1/agents/short-path-reads"  # the shared server: an agent of its own
    auth = {"Authorization": f"Bearer {served.admin}"}
    with httpx.Client(timeout=30, headers=auth) as http:
        ids = [
            http.post(f"{url}/calls", json={**CALL, "session_id": "short-path"}).json()["ids"][0]
            for _ in range(3)
        ]
        listed = http.get(f"{url}/calls", params={"session_id": "short-path"}).json()
        summary = http.get(f"{url}/summary").json()
    assert sorted(c["id"] for c in listed["calls"]) == sorted(ids)
    assert summary["total_calls"] == 3
    assert [t["name"] for t in summary["tools"]] == ["kubectl_deploy"]


@pytest.fixture
def keyed(secured: TestClient, key_ring: KeyRing) -> dict[str, str]:
    """Keys of the ``secured`` app: ``devops`` (read-write), ``readonly`` (devops, read-only),
    ``admin``."""
    return {
        "admin": key_ring.create(admin=True)[1],
        "devops": key_ring.create(["devops"])[1],
        "readonly": key_ring.create(["devops"], read_only=True)[1],
    }


def test_a_key_for_the_agent_takes_the_short_path(
    secured: TestClient, keyed: dict[str, str], bearer: Bearer
) -> None:
    """With keys configured, a write key for the path's agent is checked and served there."""
    response = secured.post("/v1/agents/devops/calls", json=CALL, headers=bearer(keyed["devops"]))
    assert response.status_code == 202
    assert _taken(secured) == 1


REFUSED: list[tuple[str, str, dict[str, Any], int, str]] = [
    # (why, agent, request, status, field or error)
    ("no key", "devops", {"json": CALL}, 401, "unauthorized"),
    ("unknown key", "devops", {"json": CALL, "key": "tw_000000000000_guess"}, 401, "unauthorized"),
    ("another agent", "billing", {"json": CALL, "key": "devops"}, 404, "not_found"),
    ("read-only key", "devops", {"json": CALL, "key": "readonly"}, 403, "forbidden"),
    ("control character in the agent", "%01", {"json": CALL, "key": "admin"}, 422, "agent"),
    ("blank agent", "%20", {"json": CALL, "key": "admin"}, 422, "agent"),
    ("not JSON", "devops", {"content": b'{"tool": ', "key": "devops"}, 422, "body"),
    ("not UTF-8", "devops", {"content": b'{"tool": "\xff"}', "key": "devops"}, 422, "body"),
    ("empty body", "devops", {"content": b"", "key": "devops"}, 422, "body"),
    (
        "a bad field",
        "devops",
        {"json": {**CALL, "latency_ms": -1}, "key": "devops"},
        422,
        "latency_ms",
    ),
    ("an unknown field", "devops", {"json": {**CALL, "colour": 1}, "key": "devops"}, 422, "colour"),
    (
        "a string for a number",
        "devops",
        {"json": {**CALL, "cost": "5"}, "key": "devops"},
        422,
        "cost",
    ),
    (
        "success contradicts outcome",
        "devops",
        {"json": {**CALL, "success": True, "outcome": "failure"}, "key": "devops"},
        422,
        "success",
    ),
    (
        "one bad call in a batch",
        "devops",
        {"json": [CALL, {**CALL, "tool": ""}], "key": "devops"},
        422,
        "[1].tool",
    ),
    (
        "a batch above 1,000",
        "devops",
        {"json": [{"tool": "a"}] * 1_001, "key": "devops"},
        422,
        "body",
    ),
    ("NaN", "devops", {"content": b'{"tool": "t", "cost": NaN}', "key": "devops"}, 422, "cost"),
    (
        "deep nesting",
        "devops",
        {
            "content": b'{"tool": "t", "tool_input": ' + b"[" * 5_000 + b"]" * 5_000 + b"}",
            "key": "devops",
        },
        422,
        "body",
    ),
]


@pytest.mark.parametrize("case", [pytest.param(c, id=c[0]) for c in REFUSED])
def test_refusals_take_the_route_and_get_its_errors(
    secured: TestClient,
    keyed: dict[str, str],
    bearer: Bearer,
    case: tuple[str, str, dict[str, Any], int, str],
) -> None:
    """Bad auth, a bad agent, bad JSON or a refused field: the route's documented error, and
    nothing recorded."""
    _, agent, request, status, expected = case
    options = dict(request)
    name = options.pop("key", None)
    tokens = keyed
    headers = dict(JSON)
    if name is not None:
        headers.update(bearer(tokens.get(name, name)))
    response = secured.post(f"/v1/agents/{agent}/calls", headers=headers, **options)
    assert response.status_code == status, response.text
    body = response.json()
    assert expected in (body["error"], body.get("field"))
    assert _taken(secured) == 0
    assert response.headers.get("www-authenticate", "").startswith("Bearer") == (status == 401)
    summary = secured.get("/v1/agents/devops/summary", headers=bearer(tokens["admin"]))
    assert summary.json()["total_calls"] == 0


def test_a_declared_body_above_the_limit_is_the_routes_413(tw: Toolwise) -> None:
    """Above ``max_body_bytes`` the short path does not read the body; the limit answers."""
    app = create_app(ToolwiseBackend(tw.runtime), config=ServiceConfig(max_body_bytes=2_048))
    with TestClient(app) as http:
        response = http.post("/v1/agents/devops/calls", json={**CALL, "task": "x" * 4_000})
        assert (response.status_code, response.json()["error"]) == (413, "body_too_large")
        assert _taken(http) == 0


def test_every_accepted_call_survives_a_kill(
    serve_process: Callable[..., ServeProcess], tmp_path: Path
) -> None:
    """SIGKILL while clients record: every call answered ``202`` is in the store afterwards,
    once (the next process to open the store replays the spool)."""
    server = serve_process()
    accepted: list[str] = []
    lock = threading.Lock()
    enough = threading.Event()

    def client(worker: int) -> None:
        with httpx.Client(base_url=server.url, timeout=10) as http:
            for n in range(100_000):
                call = {**CALL, "id": f"kill-{worker}-{n}"}
                try:
                    response = http.post("/v1/agents/devops/calls", json=call)
                except httpx.HTTPError:
                    return  # the server is gone
                if response.status_code == 202:
                    with lock:
                        accepted.append(call["id"])
                        if len(accepted) >= 300:
                            enough.set()

    workers = [threading.Thread(target=client, args=(w,), daemon=True) for w in range(4)]
    for worker in workers:
        worker.start()
    assert enough.wait(timeout=120), server.log_text
    assert server.stop(signal.SIGKILL) == -signal.SIGKILL
    for worker in workers:
        worker.join(timeout=30)
    stored: list[str] = []
    with Toolwise(tmp_path / "store") as tw:
        assert tw.flush(timeout=60)
        while page := tw.list_calls("devops", limit=1_000, offset=len(stored)):
            stored += [c.id for c in page]
    assert len(stored) == len(set(stored))
    assert set(accepted) <= set(stored)


@pytest.mark.parametrize(
    "authorization",
    [
        pytest.param("bearer {key}", id="lower-case scheme"),
        pytest.param("Bearer  {key}", id="two spaces"),
        pytest.param("Bearer {key} ", id="trailing space"),
    ],
)
def test_an_authorization_header_read_otherwise_takes_the_route(
    secured: TestClient, keyed: dict[str, str], authorization: str
) -> None:
    """A key the short path would not read exactly as FastAPI's ``HTTPBearer`` is left to the
    route, which accepts these spellings."""
    headers = {**JSON, "Authorization": authorization.format(key=keyed["devops"])}
    response = secured.post("/v1/agents/devops/calls", json=CALL, headers=headers)
    assert response.status_code == 202, response.text
    assert _taken(secured) == 0


class _BrokenSpool(ToolwiseBackend):
    """A backend whose recording fails as ``failure`` says (the rest is the real one)."""

    failure: Exception = RuntimeError("a bug")

    def record(self, fields: Any, /) -> Any:
        raise self.failure

    def record_many(self, batch: Any, /) -> Any:
        raise self.failure


def test_a_spool_that_cannot_be_written_is_the_routes_503(tw: Toolwise) -> None:
    backend = _BrokenSpool(tw.runtime)
    backend.failure = SpoolError("disk full")
    with TestClient(create_app(backend)) as http:
        response = http.post("/v1/agents/devops/calls", json=CALL, headers=JSON)
    assert (response.status_code, response.json()["error"]) == (503, "store_unavailable")
    assert response.headers["retry-after"] == "5"


def test_a_bug_while_recording_is_a_500_without_details(
    tw: Toolwise, caplog: pytest.LogCaptureFixture
) -> None:
    """The catch-all answers (no stack trace in the body) and logs the traceback."""
    with TestClient(create_app(_BrokenSpool(tw.runtime)), raise_server_exceptions=False) as http:
        response = http.post("/v1/agents/devops/calls", json=CALL, headers=JSON)
    assert response.status_code == 500
    assert response.json()["error"] == "internal"
    assert "a bug" not in response.text
    assert any(r.exc_info and "a bug" in str(r.exc_info[1]) for r in caplog.records)
