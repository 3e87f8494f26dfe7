"""The dashboard: one page shipped in the package, rendered by a real headless Chromium from
the live data of a real ``toolwise serve`` process."""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from tests.service.conftest import ServedWithKeys

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None,
    reason="Debian's `chromium` is not installed (.ci/run installs it when run as root)",
)


def test_the_page_and_its_files_ship_in_the_package(client: TestClient) -> None:
    """``/`` and its script and style come from the package, with a strict CSP (no CDN)."""
    page = client.get("/")
    assert page.status_code == 200
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert re.findall(r'(?:src|href)="([^"]+)"', page.text) == [
        "static/dashboard.css",
        "static/dashboard.js",
    ]
    assert client.get("/static/dashboard.js").headers["content-type"].startswith("text/javascript")
    assert client.get("/static/dashboard.css").status_code == 200
    assert client.get("/static/../app.py").status_code == 404


def _seed(server: ServedWithKeys) -> None:
    """Two agents; devops's kubectl 3/4 and ansible 0/2 over three hours, one secret error."""
    start = (datetime.now(UTC) - timedelta(hours=3)).replace(microsecond=0)
    calls = [
        {
            "tool": "kubectl_deploy",
            "latency_ms": 400 + i,
            "cost": 0.5,
            "success": i != 1,
            "timestamp": (start + timedelta(hours=i)).isoformat(),
        }
        for i in range(4)
    ] + [
        {
            "tool": "ansible_run",
            "success": False,
            "error_type": "SSHTimeout",
            "error_message": f"<b>ssh timed out</b> password=hunter2hunter2 #{i}",
            "timestamp": (start + timedelta(hours=i, minutes=30)).isoformat(),
        }
        for i in range(2)
    ]
    admin = {"Authorization": f"Bearer {server.admin}"}
    for agent, batch in (("devops", calls), ("billing", [{"tool": "stripe_refund"}])):
        response = httpx.post(
            f"{server.url}/v1/agents/{agent}/calls", json=batch, headers=admin, timeout=60
        )
        assert response.status_code == 202, response.text


def _render(url: str, profile: Path) -> str:
    """The DOM after the page's scripts ran, as headless Chromium dumps it."""
    assert CHROMIUM is not None
    result = subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={profile}",
            "--virtual-time-budget=15000",
            "--dump-dom",
            url,
        ],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


@pytest.fixture(scope="module")
def seeded(served: ServedWithKeys) -> ServedWithKeys:
    _seed(served)
    return served


@needs_chromium
def test_head_of_the_page_answers_like_get_without_a_body(client: TestClient) -> None:
    """Uptime checks send ``HEAD /``: the page's status and headers, no body."""
    head = client.head("/")
    assert head.status_code == 200
    assert head.headers["content-type"] == client.get("/").headers["content-type"]
    assert head.content == b""


def test_the_page_renders_each_agents_tools_from_live_data(
    seeded: ServedWithKeys, tmp_path: Path
) -> None:
    """With an admin key, both agents appear; devops's tools with their success rate,
    interval, latency and cost; failures listed (escaped, redacted); a learning curve."""
    dom = _render(f"{seeded.url}/#key={seeded.admin}", tmp_path / "profile")
    assert 'data-state="loaded"' in dom
    assert re.search(r'<section[^>]*data-agent="billing"', dom)
    kubectl = re.search(r'<tr[^>]*data-tool="kubectl_deploy"[^>]*>(.*?)</tr>', dom, re.S)
    assert kubectl is not None
    row = kubectl.group(0)
    assert 'data-calls="4"' in row
    assert 'data-success-rate="0.7500"' in row
    assert re.search(r'data-field="success_rate"[^>]*>75%<', row)
    assert re.search(r'data-field="interval"[^>]*>\d+%–\d+%<', row)
    assert re.search(r'data-field="p50"[^>]*>40\d ms<', row)
    assert re.search(r'data-field="cost"[^>]*>2<', row)
    assert "&lt;b&gt;ssh timed out&lt;/b&gt;" in dom  # rendered as text, never as markup
    assert "hunter2hunter2" not in dom
    devops = re.search(r'<section[^>]*data-agent="devops".*?</section>', dom, re.S)
    assert devops is not None
    curve = re.search(r'<svg[^>]*class="curve"[^>]*data-points="(\d+)"', devops.group(0))
    assert curve is not None
    assert int(curve.group(1)) >= 3  # calls over three hours: several points


@needs_chromium
def test_an_agent_key_sees_only_its_agent(seeded: ServedWithKeys, tmp_path: Path) -> None:
    """The devops key renders devops and nothing of billing."""
    dom = _render(f"{seeded.url}/#key={seeded.devops}", tmp_path / "profile")
    assert re.search(r'<section[^>]*data-agent="devops"', dom)
    assert "billing" not in dom
    assert "stripe_refund" not in dom


@needs_chromium
def test_without_a_key_the_page_asks_for_one(seeded: ServedWithKeys, tmp_path: Path) -> None:
    """A server with keys shows nothing to a visitor without one, and says what to do."""
    dom = _render(f"{seeded.url}/", tmp_path / "profile")
    assert 'data-state="needs-key"' in dom
    assert "kubectl_deploy" not in dom
