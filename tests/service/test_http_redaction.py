"""Secrets in request bodies are redacted like every record, before anything reaches disk."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from toolwise import Toolwise
from toolwise.service import ToolwiseBackend, create_app

GITHUB_TOKEN = "ghp_" + "a1B2c3D4e5" * 3 + "f6G7h8"
AWS_KEY = "AKIAIOSFODNN7EXAMPLE"


def test_secrets_in_a_call_never_reach_the_store_or_the_spool(tmp_path: Path) -> None:
    """Secrets in input, output, error and task text are redacted in what is stored."""
    with Toolwise(tmp_path / "store") as tw:
        with TestClient(create_app(ToolwiseBackend(tw.runtime))) as http:
            call = {
                "tool": "git_push",
                "success": False,
                "tool_input": {"token": GITHUB_TOKEN, "password": "hunter2hunter2"},
                "tool_output": f"auth with {GITHUB_TOKEN} failed",
                "error_message": f"bad key {AWS_KEY}",
                "task": f"push using {GITHUB_TOKEN}",
            }
            call_id = http.post("/v1/agents/devops/calls", json=call).json()["ids"][0]
            stored = http.get(f"/v1/agents/devops/calls/{call_id}").json()
        for field in ("tool_input", "tool_output", "error_message", "task"):
            assert "[REDACTED]" in stored[field], field
        tw.flush()
    for path in (tmp_path / "store").rglob("*"):
        if path.is_file():
            raw = path.read_bytes()
            for secret in (GITHUB_TOKEN, AWS_KEY, "hunter2hunter2"):
                assert secret.encode() not in raw, (secret, path)


@pytest.mark.parametrize("size", [pytest.param(3, id="small batch"), pytest.param(25, id="big")])
def test_a_secret_in_every_call_of_a_batch_is_redacted(tmp_path: Path, size: int) -> None:
    """Each call of a batch is built by the record builder: a token in its structured input
    is stored redacted, in the store and in the spool."""
    with Toolwise(tmp_path / "store") as tw:
        with TestClient(create_app(ToolwiseBackend(tw.runtime))) as http:
            batch = [
                {"tool": "git_push", "tool_input": {"remote": "origin", "token": GITHUB_TOKEN}}
            ] * size
            ids = http.post("/v1/agents/devops/calls", json=batch).json()["ids"]
            stored = [http.get(f"/v1/agents/devops/calls/{i}").json() for i in ids]
        assert len(stored) == size
        for call in stored:
            assert "origin" in call["tool_input"]
            assert "[REDACTED]" in call["tool_input"]
            assert GITHUB_TOKEN not in call["tool_input"]
    for path in (tmp_path / "store").rglob("*"):
        if path.is_file():
            assert GITHUB_TOKEN.encode() not in path.read_bytes(), path
