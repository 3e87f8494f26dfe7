"""A forget over HTTP reaches the other processes on the same ``chroma run`` server, as the
Python API's does: the service's delete leaves the tombstone their tails read."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from tests.conftest import Peers

from toolwise import Toolwise
from toolwise.service import ToolwiseBackend, create_app

pytestmark = pytest.mark.server


def _observations(tw: Toolwise) -> float:
    return sum(p.observations for p in tw.priors(tool="helm_upgrade", task_type="deploy"))


def test_a_forget_over_http_leaves_another_process_view(
    peer: Peers, eventually: Callable[..., bool]
) -> None:
    served, other = peer("served"), peer("other")
    other.recommend(task_type="deploy", tools=["helm_upgrade"])  # built: now it tails
    record = served.record(tool="helm_upgrade", outcome="failure", task_type="deploy")
    assert served.flush(timeout=30)
    assert eventually(lambda: _observations(other) == 1)
    backend = ToolwiseBackend(served.runtime, probe_timeout=30.0)
    with TestClient(create_app(backend)) as http:
        response = http.delete(f"/v1/agents/default/calls/{record.id}")
    assert response.json() == {"deleted": 1}
    assert eventually(lambda: _observations(other) == 0)
