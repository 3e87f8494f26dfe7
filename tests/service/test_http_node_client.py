"""A real non-Python client: the Node example records, asks for briefs and reads the summary
against a real ``toolwise serve`` process."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest
from tests.service.conftest import ServedWithKeys

NODE = shutil.which("node")
SCRIPT = Path(__file__).parents[2] / "examples" / "node_client" / "agent.mjs"


@pytest.mark.skipif(NODE is None, reason="node is not on the PATH")
def test_the_node_example_records_and_is_briefed(served: ServedWithKeys) -> None:
    """The script's 6 past calls and 12 briefed turns are stored; every turn's call carried
    its decision id, so the summary reports adherence to the advice."""
    assert NODE is not None
    env = {
        **os.environ,
        "TOOLWISE_URL": served.url,
        "TOOLWISE_KEY": served.node_agent,
        "TOOLWISE_AGENT": "node-agent",
        "TURNS": "12",
    }
    result = subprocess.run(
        [NODE, str(SCRIPT)], env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["total_calls"] == 18
    assert sum(report["tools"].values()) == 18
    assert report["followed"] == 12
    assert report["advice"]["advised_calls"] == 12
    assert report["advice"]["adherence"] == 1.0
    assert "[toolwise]" in result.stdout
    stored = httpx.get(
        f"{served.url}/v1/agents/node-agent/calls",
        params={"limit": 1},
        headers={"Authorization": f"Bearer {served.node_agent}"},
        timeout=60,
    ).json()["calls"][0]
    assert stored["decision_id"] == report["last_decision_id"]
    assert stored["recommended_tool"]
