"""Fixtures for pre-selection: a real toolwise on an in-memory Chroma, and a history writer.

Helpers are handed out as fixtures (not imported) so the tests need no package layout.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from toolwise import Toolwise

TOOLS = ["kubectl_apply", "helm_upgrade", "argo_sync"]


def _deploy_history(tw: Toolwise, *, error: str = "deadline exceeded", **labels: Any) -> None:
    """kubectl_apply 20/20 at ~400 ms, helm_upgrade 2/20 failing with ``error``, for deploys."""
    for n in range(20):
        tw.record(
            tool="kubectl_apply",
            outcome="success",
            task_type="production_deploy",
            task="deploy the payments api to production",
            latency_ms=400.0 + n,
            **labels,
        )
        failed = n >= 2
        tw.record(
            tool="helm_upgrade",
            outcome="failure" if failed else "success",
            task_type="production_deploy",
            task="deploy the web app to production",
            latency_ms=1_200.0,
            error_type="TimeoutError" if failed else "",
            error_message=error if failed else "",
            **labels,
        )
    tw.record(tool="pg_migrate", outcome="success", task_type="database_migration", **labels)
    assert tw.flush(timeout=30)


@pytest.fixture
def deploy_history() -> Callable[..., None]:
    """``deploy_history(tw, error=..., **labels)``: a reliable and an unreliable deploy tool."""
    return _deploy_history
