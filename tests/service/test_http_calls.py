"""The tracking API over HTTP: record, list, read, forget and summarise calls."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from tests.conftest import FakeClock

from toolwise import Toolwise
from toolwise.service import ToolwiseBackend, create_app

# Records live 30 days from their timestamp: tests stay within the last day.
START = (datetime.now(UTC) - timedelta(days=1)).replace(hour=9, minute=0, second=0, microsecond=0)

DEPLOY = {"tool": "kubectl_deploy", "latency_ms": 1_900.0, "task_type": "deploy", "cost": 0.01}
FAILED = {
    "tool": "ansible_run",
    "success": False,
    "latency_ms": 45_000.0,
    "error_type": "SSHTimeout",
    "error_message": "timed out",
    "task_type": "deploy",
}


def test_one_call_is_accepted_with_its_id(client: TestClient) -> None:
    """``POST .../calls`` with one call answers 202 and the id it was stored under."""
    response = client.post("/v1/agents/devops/calls", json=DEPLOY)
    assert response.status_code == 202
    body = response.json()
    assert body["accepted"] == 1
    stored = client.get(f"/v1/agents/devops/calls/{body['ids'][0]}").json()
    assert stored["tool"] == "kubectl_deploy"
    assert stored["agent_id"] == "devops"
    assert stored["source"] == "http"


def test_a_batch_is_accepted_in_order(client: TestClient) -> None:
    """A JSON array records every call, ids in the order sent."""
    response = client.post("/v1/agents/devops/calls", json=[DEPLOY, FAILED])
    assert response.status_code == 202
    ids = response.json()["ids"]
    assert [client.get(f"/v1/agents/devops/calls/{i}").json()["tool"] for i in ids] == [
        "kubectl_deploy",
        "ansible_run",
    ]


# Up to 20 calls are recorded on the event loop (most by the short path), more in a thread.
BATCH_SIZES = [pytest.param(5, id="small batch"), pytest.param(25, id="big batch")]


@pytest.mark.parametrize("size", BATCH_SIZES)
def test_a_call_the_record_builder_refuses_refuses_its_whole_batch(
    client: TestClient, size: int
) -> None:
    """A blank tool passes the wire schema but not the record: ``422`` naming ``[3].tool``,
    and none of the batch is recorded."""
    batch = [DEPLOY] * size
    batch[3] = {**DEPLOY, "tool": "   "}
    response = client.post("/v1/agents/devops/calls", json=batch)
    assert response.status_code == 422, response.text
    assert response.json()["field"] == "[3].tool"
    assert client.get("/v1/agents/devops/summary").json()["total_calls"] == 0


def test_a_call_older_than_the_retention_refuses_its_batch(client: TestClient) -> None:
    """A backfill past the ttl would be stored and never shown: ``422`` naming
    ``[1].timestamp``, and none of the batch is recorded."""
    old = (datetime.now(UTC) - timedelta(days=31)).isoformat()
    response = client.post("/v1/agents/devops/calls", json=[DEPLOY, {**DEPLOY, "timestamp": old}])
    assert response.status_code == 422, response.text
    assert response.json()["field"] == "[1].timestamp"
    assert "older than the retention" in response.text
    assert client.get("/v1/agents/devops/summary").json()["total_calls"] == 0


def test_the_runtimes_clock_stamps_a_call_sent_without_a_time(tmp_path: Path) -> None:
    """The record builder fills in what a call leaves out, as for a Python record: its
    timestamp from the runtime's clock, and its expiry a ttl later."""
    clock = FakeClock()
    with (
        Toolwise(tmp_path / "store", clock=clock, ttl=timedelta(days=7)) as tw,
        TestClient(create_app(ToolwiseBackend(tw.runtime))) as http,
    ):
        (call_id,) = http.post("/v1/agents/devops/calls", json=DEPLOY).json()["ids"]
        stored = http.get(f"/v1/agents/devops/calls/{call_id}").json()
    assert datetime.fromisoformat(stored["timestamp"]) == clock.now
    assert datetime.fromisoformat(stored["expires_at"]) == clock.now + timedelta(days=7)


def test_success_false_records_a_failure(
    client: TestClient, record_calls: Callable[..., list[str]]
) -> None:
    """``success: false`` is shorthand for ``outcome: "failure"``."""
    (call_id,) = record_calls("devops", FAILED)
    assert client.get(f"/v1/agents/devops/calls/{call_id}").json()["outcome"] == "failure"


def test_the_models_invalid_arguments_and_the_judges_reason_are_recorded(
    client: TestClient, record_calls: Callable[..., list[str]]
) -> None:
    """An agent's own judge may say a call had invalid arguments, and which rule said so."""
    (call_id,) = record_calls(
        "devops",
        {"tool": "kubectl_deploy", "outcome": "invalid_arguments", "judged_by": "schema"},
    )
    stored = client.get(f"/v1/agents/devops/calls/{call_id}").json()
    assert (stored["outcome"], stored["judged_by"]) == ("invalid_arguments", "schema")


def test_resending_a_call_with_its_id_counts_it_once(client: TestClient, tw: Toolwise) -> None:
    """A retried POST with the same id replaces the record: one call, one observation."""
    call = {**DEPLOY, "id": "retry-1"}
    for _ in range(3):
        assert client.post("/v1/agents/devops/calls", json=call).json()["ids"] == ["retry-1"]
    assert client.get("/v1/agents/devops/summary").json()["total_calls"] == 1
    priors = client.get("/v1/agents/devops/priors", params={"tool": "kubectl_deploy"}).json()
    assert [p["observations"] for p in priors] == [1]


def test_a_resend_with_another_outcome_is_stored_but_not_learnt_again(
    client: TestClient,
) -> None:
    """As http.md says: the record and the summary show the last version sent under an id,
    the learnt priors the version they had learnt, still once."""
    priors = "/v1/agents/devops/priors"
    for outcome in ("success", "failure"):
        call = {**DEPLOY, "id": "retry-1", "outcome": outcome}
        assert client.post("/v1/agents/devops/calls", json=call).status_code == 202
        assert client.get(priors).status_code == 200  # the priors learn this version
    stored = client.get("/v1/agents/devops/calls/retry-1").json()
    assert stored["outcome"] == "failure"
    assert client.get("/v1/agents/devops/summary").json()["total_calls"] == 1
    [prior] = client.get(priors, params={"tool": "kubectl_deploy"}).json()
    assert (prior["observations"], prior["successes"], prior["failures"]) == (1, 1, 0)


def test_structured_input_and_output_are_stored_as_json_text(
    client: TestClient, record_calls: Callable[..., list[str]]
) -> None:
    """``tool_input``/``tool_output`` take any JSON; they are kept as JSON text."""
    (call_id,) = record_calls(
        "devops", {"tool": "kubectl_deploy", "tool_input": {"service": "web", "replicas": 3}}
    )
    stored = client.get(f"/v1/agents/devops/calls/{call_id}").json()
    assert stored["tool_input"] == '{"service": "web", "replicas": 3}'


def test_list_filters_by_tool_and_outcome(
    client: TestClient, record_calls: Callable[..., list[str]]
) -> None:
    """``tool`` and ``outcome`` narrow the listing."""
    record_calls("devops", DEPLOY, FAILED, DEPLOY)
    failures = client.get("/v1/agents/devops/calls", params={"outcome": "failure"}).json()
    assert [c["tool"] for c in failures["calls"]] == ["ansible_run"]
    deploys = client.get("/v1/agents/devops/calls", params={"tool": "kubectl_deploy"}).json()
    assert len(deploys["calls"]) == 2


def test_list_filters_by_session_and_time(
    client: TestClient, record_calls: Callable[..., list[str]]
) -> None:
    """``session_id``, ``since`` (inclusive) and ``until`` (exclusive) narrow the listing."""
    start = START
    record_calls(
        "devops",
        *(
            {
                **DEPLOY,
                "session_id": f"s{i % 2}",
                "timestamp": (start + timedelta(hours=i)).isoformat(),
            }
            for i in range(6)
        ),
    )
    params = {
        "session_id": "s0",
        "since": (start + timedelta(hours=1)).isoformat(),
        "until": (start + timedelta(hours=4)).isoformat(),
    }
    found = client.get("/v1/agents/devops/calls", params=params).json()["calls"]
    assert [c["timestamp"][11:16] for c in found] == ["11:00"]


def test_limit_and_offset_page_newest_first(
    client: TestClient, record_calls: Callable[..., list[str]]
) -> None:
    """``limit``/``offset`` pages run newest first, without overlap."""
    start = START
    record_calls(
        "devops",
        *({**DEPLOY, "timestamp": (start + timedelta(minutes=i)).isoformat()} for i in range(5)),
    )
    first = client.get("/v1/agents/devops/calls", params={"limit": 2}).json()["calls"]
    second = client.get("/v1/agents/devops/calls", params={"limit": 2, "offset": 2}).json()["calls"]
    stamps = [c["timestamp"][11:16] for c in first + second]
    assert stamps == ["09:04", "09:03", "09:02", "09:01"]


def test_a_cursor_is_not_shifted_by_new_calls(
    client: TestClient, record_calls: Callable[..., list[str]]
) -> None:
    """Paging by cursor returns every call once even while newer calls arrive."""
    start = START
    ids = record_calls(
        "devops",
        *({**DEPLOY, "timestamp": (start + timedelta(minutes=i)).isoformat()} for i in range(5)),
    )
    page = client.get("/v1/agents/devops/calls", params={"limit": 2}).json()
    seen = [c["id"] for c in page["calls"]]
    record_calls("devops", {**DEPLOY, "timestamp": (start + timedelta(hours=1)).isoformat()})
    while page["next_cursor"]:
        page = client.get(
            "/v1/agents/devops/calls", params={"limit": 2, "cursor": page["next_cursor"]}
        ).json()
        seen += [c["id"] for c in page["calls"]]
    assert seen == list(reversed(ids))


def test_a_cursor_steps_over_calls_with_the_same_timestamp(
    client: TestClient, record_calls: Callable[..., list[str]]
) -> None:
    """Calls sharing one timestamp are split across pages without loss or repeats."""
    moment = START.isoformat()
    ids = record_calls("devops", *({**DEPLOY, "timestamp": moment} for _ in range(7)))
    seen: list[str] = []
    params: dict[str, object] = {"limit": 3}
    while True:
        page = client.get("/v1/agents/devops/calls", params=params).json()
        seen += [c["id"] for c in page["calls"]]
        if not page["next_cursor"]:
            break
        params = {"limit": 3, "cursor": page["next_cursor"]}
    assert sorted(seen) == sorted(ids)
    assert len(seen) == 7


def test_an_unknown_call_is_not_found(client: TestClient) -> None:
    """``GET .../calls/{id}`` of an id never recorded is 404."""
    response = client.get("/v1/agents/devops/calls/nope")
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


def test_a_call_is_found_only_under_its_own_agent(
    client: TestClient, record_calls: Callable[..., list[str]]
) -> None:
    """One agent's call id read under another agent is 404."""
    (call_id,) = record_calls("devops", DEPLOY)
    assert client.get(f"/v1/agents/billing/calls/{call_id}").status_code == 404


def test_forget_a_tool_deletes_only_its_calls(
    client: TestClient, record_calls: Callable[..., list[str]]
) -> None:
    """``DELETE .../calls?tool=`` retires a tool."""
    record_calls("devops", DEPLOY, FAILED, FAILED)
    response = client.delete("/v1/agents/devops/calls", params={"tool": "ansible_run"})
    assert response.json() == {"deleted": 2}
    left = client.get("/v1/agents/devops/calls").json()["calls"]
    assert [c["tool"] for c in left] == ["kubectl_deploy"]


def test_forget_ids_deletes_those_calls(
    client: TestClient, record_calls: Callable[..., list[str]]
) -> None:
    """``ids`` (repeated) deletes exactly those calls."""
    ids = record_calls("devops", DEPLOY, DEPLOY, DEPLOY)
    response = client.delete("/v1/agents/devops/calls", params={"ids": ids[:2]})
    assert response.json() == {"deleted": 2}
    assert [c["id"] for c in client.get("/v1/agents/devops/calls").json()["calls"]] == ids[2:]


def test_forget_everything_needs_saying_so(
    client: TestClient, record_calls: Callable[..., list[str]]
) -> None:
    """``everything=true`` deletes all of the agent's calls."""
    record_calls("devops", DEPLOY, FAILED)
    assert client.delete("/v1/agents/devops/calls", params={"everything": "true"}).json() == {
        "deleted": 2
    }


def test_forget_refuses_an_empty_selection(
    client: TestClient, record_calls: Callable[..., list[str]]
) -> None:
    """No selection, or blank ids, is a 422 — never read as "delete everything"."""
    record_calls("devops", DEPLOY)
    for params in ({}, {"ids": ""}, {"ids": ["  ", ""]}, {"everything": "false"}):
        response = client.delete("/v1/agents/devops/calls", params=params)
        assert response.status_code == 422, params
    assert len(client.get("/v1/agents/devops/calls").json()["calls"]) == 1


def test_forget_refuses_two_selections(client: TestClient) -> None:
    """A tool and ids together are ambiguous: 422 naming the second."""
    response = client.delete("/v1/agents/devops/calls", params={"tool": "x", "ids": "a"})
    assert response.status_code == 422
    assert response.json()["field"] == "ids"


def test_forget_one_call_by_its_path(
    client: TestClient, record_calls: Callable[..., list[str]]
) -> None:
    """``DELETE .../calls/{id}`` deletes it; again, it is 404."""
    (call_id,) = record_calls("devops", DEPLOY)
    assert client.delete(f"/v1/agents/devops/calls/{call_id}").json() == {"deleted": 1}
    assert client.delete(f"/v1/agents/devops/calls/{call_id}").status_code == 404


@pytest.mark.parametrize("timeout", ["-1", "121", "nan", "soon"])
def test_forget_with_a_bad_timeout_is_422_naming_it_and_deletes_nothing(
    client: TestClient, record_calls: Callable[..., list[str]], timeout: str
) -> None:
    (call_id,) = record_calls("devops", DEPLOY)
    for path in ("/v1/agents/devops/calls?everything=true", f"/v1/agents/devops/calls/{call_id}"):
        response = client.delete(path, params={"timeout": timeout})
        assert response.status_code == 422
        assert "timeout" in response.text
    assert client.get(f"/v1/agents/devops/calls/{call_id}").status_code == 200


def test_summary_reports_each_tool(
    client: TestClient, record_calls: Callable[..., list[str]]
) -> None:
    """The summary has totals and per-tool counts, success rate and latency."""
    record_calls("devops", DEPLOY, DEPLOY, DEPLOY, FAILED)
    summary = client.get("/v1/agents/devops/summary").json()
    assert summary["total_calls"] == 4
    assert summary["success_rate"] == 0.75
    tools = {t["name"]: t for t in summary["tools"]}
    assert tools["kubectl_deploy"]["p50_latency_ms"] == 1_900.0
    assert tools["ansible_run"]["last_error"] == "SSHTimeout: timed out"


def test_agents_lists_who_recorded(
    client: TestClient, record_calls: Callable[..., list[str]]
) -> None:
    """``GET /v1/agents`` lists every agent with records (no keys: everyone's)."""
    record_calls("devops", DEPLOY)
    record_calls("billing", DEPLOY)
    assert client.get("/v1/agents").json() == {"agents": ["billing", "devops"]}
