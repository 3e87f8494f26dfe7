"""``POST brief`` waits for the store's recall at most the server's ``recall_budget``: the
same path as a Python brief (``AdviceOptions.recall_budget``)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from tests.service.conftest import serve_refused

from toolwise import Toolwise
from toolwise.advice.advisor import RECALL_PENDING
from toolwise.service import ToolwiseBackend, create_app
from toolwise.service.cli import add_commands
from toolwise.service.state import ServiceConfig

BRIEF = {
    "task": "deploy the web app to production",
    "task_type": "production_deploy",
    "tools": ["kubectl_apply", "helm_upgrade"],
}
Eventually = Callable[..., bool]


def _failures(http: TestClient) -> None:
    failure = {
        "tool": "helm_upgrade",
        "task_type": "production_deploy",
        "success": False,
        "error_type": "TimeoutError",
        "error_message": "context deadline exceeded",
        "task": "deploy the web app to production",
    }
    response = http.post("/v1/agents/devops/calls", json=[failure] * 6)
    assert response.status_code == 202


def test_a_brief_past_the_servers_budget_is_answered_and_the_next_has_recall(
    slow: Any, busy_tw: Toolwise, eventually: Eventually
) -> None:
    backend = ToolwiseBackend(busy_tw.runtime, probe_timeout=30.0)
    app = create_app(backend, config=ServiceConfig(recall_budget=0.01))
    with TestClient(app) as http:
        _failures(http)
        assert busy_tw.flush(timeout=30)
        slow.hold()
        first = http.post("/v1/agents/devops/brief", json=BRIEF)
        assert first.status_code == 200
        assert first.json()["text"].endswith(RECALL_PENDING)
        assert busy_tw.store.health.healthy  # type: ignore[attr-defined]
        slow.release()
        assert eventually(
            lambda: (
                "context deadline exceeded"
                in http.post("/v1/agents/devops/brief", json=BRIEF).json()["text"]
            )
        )


@pytest.mark.parametrize("bad", [-1.0, float("nan"), float("inf"), "soon"])
def test_a_bad_server_recall_budget_is_rejected_naming_the_field(bad: Any) -> None:
    with pytest.raises(ValidationError) as raised:
        ServiceConfig(recall_budget=bad)
    assert raised.value.errors()[0]["loc"] == ("recall_budget",)


@pytest.mark.parametrize("bad", ["soon", "-1", "nan", "inf"])
def test_serve_with_a_bad_recall_budget_exits_2_naming_it(bad: str, tmp_path: Path) -> None:
    """Refused by argument parsing, before anything opens the store."""
    result = serve_refused(tmp_path / "store", f"--recall-budget={bad}")
    assert result.returncode == 2
    assert "--recall-budget" in result.stderr
    assert "seconds >= 0 or 'none'" in result.stderr
    assert not (tmp_path / "store").exists()


@pytest.mark.parametrize(("text", "seconds"), [("none", None), ("NONE", None), ("0.02", 0.02)])
def test_the_recall_budget_flag_reads_seconds_or_none(text: str, seconds: float | None) -> None:
    parser = argparse.ArgumentParser()
    add_commands(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["serve", f"--recall-budget={text}"])
    assert args.recall_budget == seconds


def test_with_the_recall_index_a_brief_is_recalled_while_the_store_s_queries_are_held(
    slow: Any, busy_tw: Toolwise, eventually: Eventually
) -> None:
    """``toolwise serve --recall-index``: once the agent's index is loaded, ``POST brief``
    shows the stored failures without waiting for the store's (held) queries."""
    backend = ToolwiseBackend(busy_tw.runtime, probe_timeout=30.0)
    app = create_app(backend, config=ServiceConfig(recall_budget=0.01, recall_index=True))
    with TestClient(app) as http:
        _failures(http)
        assert busy_tw.flush(timeout=30)
        slow.hold()

        def recalled_from_the_index() -> bool:
            text = http.post("/v1/agents/devops/brief", json=BRIEF).json()["text"]
            return "context deadline exceeded" in text and not text.endswith(RECALL_PENDING)

        assert eventually(recalled_from_the_index)
