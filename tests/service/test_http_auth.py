"""API keys: scoped to agents, read-only or not, revocable; loopback only without keys."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from toolwise import InvalidArgumentError
from toolwise.service import KeyRing
from toolwise.service.auth import check_bind, is_loopback

Bearer = Callable[[str], dict[str, str]]
CALL = {"tool": "kubectl_deploy"}


def test_no_key_is_a_401_with_a_challenge(secured: TestClient) -> None:
    """With keys configured, a request without one is refused and told how to authenticate."""
    response = secured.get("/v1/agents/devops/calls")
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.json()["error"] == "unauthorized"


def test_an_unknown_key_is_a_401(secured: TestClient, bearer: Bearer) -> None:
    """A made-up or malformed key is refused."""
    for token in ("tw_000000000000_guess", "hunter2", "tw_"):
        assert secured.get("/v1/agents/devops/calls", headers=bearer(token)).status_code == 401


def test_an_agent_key_reaches_its_agent(
    secured: TestClient, key_ring: KeyRing, bearer: Bearer
) -> None:
    """A key for ``devops`` records and reads ``devops``."""
    _, token = key_ring.create(["devops"])
    assert (
        secured.post("/v1/agents/devops/calls", json=CALL, headers=bearer(token)).status_code == 202
    )
    listed = secured.get("/v1/agents/devops/calls", headers=bearer(token)).json()
    assert len(listed["calls"]) == 1


def test_another_agents_resources_are_not_found(
    secured: TestClient, key_ring: KeyRing, bearer: Bearer
) -> None:
    """A key for A gets 404 for B's resources, exactly as if B did not exist."""
    _, admin = key_ring.create(admin=True)
    call_id = secured.post("/v1/agents/billing/calls", json=CALL, headers=bearer(admin)).json()[
        "ids"
    ][0]
    _, token = key_ring.create(["devops"])
    for method, path in (
        ("GET", "/v1/agents/billing/calls"),
        ("GET", f"/v1/agents/billing/calls/{call_id}"),
        ("GET", "/v1/agents/billing/summary"),
        ("GET", "/v1/agents/billing/priors"),
        ("DELETE", f"/v1/agents/billing/calls/{call_id}"),
    ):
        response = secured.request(method, path, headers=bearer(token))
        assert response.status_code == 404, (method, path)
        assert response.json()["error"] == "not_found"
    response = secured.post("/v1/agents/billing/calls", json=CALL, headers=bearer(token))
    assert response.status_code == 404
    assert (
        secured.get(f"/v1/agents/billing/calls/{call_id}", headers=bearer(admin)).status_code == 200
    )


def test_a_read_only_key_reads_but_cannot_write(
    secured: TestClient, key_ring: KeyRing, bearer: Bearer
) -> None:
    """Read-only keys list and brief; recording, observing and forgetting are 403."""
    _, token = key_ring.create(["devops"], read_only=True)
    headers = bearer(token)
    assert secured.get("/v1/agents/devops/summary", headers=headers).status_code == 200
    brief = {"task": "deploy", "tools": ["kubectl_deploy"]}
    assert secured.post("/v1/agents/devops/brief", json=brief, headers=headers).status_code == 200
    for method, path, body in (
        ("POST", "/v1/agents/devops/calls", CALL),
        ("POST", "/v1/agents/devops/observe", {"tool": "t", "success": True}),
        ("DELETE", "/v1/agents/devops/calls?tool=t", None),
    ):
        response = secured.request(method, path, json=body, headers=headers)
        assert response.status_code == 403, (method, path)
        assert response.json()["error"] == "forbidden"


def test_a_revoked_key_is_refused_soon(
    secured: TestClient, key_ring: KeyRing, bearer: Bearer, eventually: Callable[..., bool]
) -> None:
    """Revoking from another process takes effect on the running app, without a restart."""
    key, token = key_ring.create(["devops"])
    assert secured.get("/v1/agents/devops/calls", headers=bearer(token)).status_code == 200
    KeyRing(key_ring.path).revoke(key.id)  # as `toolwise keys revoke` would, from outside
    assert eventually(
        lambda: secured.get("/v1/agents/devops/calls", headers=bearer(token)).status_code == 401
    )


def test_agents_lists_only_what_the_key_may_see(
    secured: TestClient, key_ring: KeyRing, bearer: Bearer
) -> None:
    """An agent key sees its agents; an admin key every agent with records."""
    _, admin = key_ring.create(admin=True)
    for agent in ("devops", "billing"):
        secured.post(f"/v1/agents/{agent}/calls", json=CALL, headers=bearer(admin))
    _, token = key_ring.create(["devops"])
    assert secured.get("/v1/agents", headers=bearer(token)).json() == {"agents": ["devops"]}
    assert secured.get("/v1/agents", headers=bearer(admin)).json() == {
        "agents": ["billing", "devops"]
    }


def test_health_needs_no_key(secured: TestClient) -> None:
    """Probes and the dashboard page answer without a key (the page asks for one)."""
    assert secured.get("/healthz").status_code == 200
    assert secured.get("/readyz").status_code == 200
    assert secured.get("/").status_code == 200


def test_loopback_hosts_are_recognised() -> None:
    """127.0.0.0/8, ::1 and localhost are loopback; anything else is not."""
    assert all(is_loopback(h) for h in ("127.0.0.1", "127.3.4.5", "::1", "[::1]", "localhost"))
    assert not any(is_loopback(h) for h in ("0.0.0.0", "::", "10.0.0.2", "example.com"))


def test_binding_beyond_loopback_needs_a_key(key_ring: KeyRing) -> None:
    """Without keys only loopback is allowed; with one, any address."""
    check_bind("127.0.0.1", key_ring)
    with pytest.raises(InvalidArgumentError) as refused:
        check_bind("0.0.0.0", key_ring)
    assert refused.value.field == "host"
    key_ring.create(["devops"])
    check_bind("0.0.0.0", key_ring)


def test_revoking_every_key_does_not_open_the_server(key_ring: KeyRing) -> None:
    """A ring whose keys are all revoked still requires a key (and so refuses everyone)."""
    key, _ = key_ring.create(["devops"])
    key_ring.revoke(key.id)
    assert key_ring.configured
    check_bind("0.0.0.0", key_ring)
