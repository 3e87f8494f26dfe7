"""An agent stopped with SIGTERM (systemd, Docker, Kubernetes) keeps every call once SIGTERM
is made an exit, as docs/recording.md says; Python's default action is a kill."""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from toolwise import Toolwise

_AGENT = """
import signal, sys, time
from langchain_core.tools import tool
from toolwise import Toolwise

if sys.argv[2] == "exit":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # the line docs/recording.md gives

@tool
def deploy(service: str) -> str:
    '''Deploy a service.'''
    return f"deployed {service}"

tw = Toolwise(sys.argv[1])
handler = tw.callback(agent_id="ops")
for i in range(300):
    deploy.invoke({"service": f"svc-{i}"}, {"callbacks": [handler]})
print("done", flush=True)
time.sleep(60)  # waiting on the model when the platform stops it
"""


def _stop_with_sigterm(root: Path, signal_handling: str) -> int:
    agent = subprocess.Popen(
        [sys.executable, "-c", _AGENT, str(root), signal_handling],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert agent.stdout is not None
    assert agent.stdout.readline() == b"done\n", agent.stderr.read() if agent.stderr else ""
    agent.send_signal(signal.SIGTERM)
    return agent.wait(timeout=60)


def test_an_agent_that_exits_on_sigterm_keeps_every_call(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """With SIGTERM made an exit, the exit hook closes toolwise: all 300 calls are stored and
    the next start finds nothing to replay and nothing to warn about."""
    root = tmp_path / "store"

    assert _stop_with_sigterm(root, "exit") == 143
    with caplog.at_level(logging.WARNING), Toolwise(root) as tw:
        assert tw.summary("ops").total_calls == 300
        assert tw.counters.replayed == 0
    assert "ended without closing" not in caplog.text


def test_python_s_default_sigterm_is_a_kill_the_next_start_reports(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Without the handler the process dies at once, no exit hook runs; the next start adopts
    its spool and says that the last second of calls may be missing."""
    root = tmp_path / "store"

    assert _stop_with_sigterm(root, "default") == -signal.SIGTERM
    with caplog.at_level(logging.WARNING), Toolwise(root) as tw:
        assert tw.flush(timeout=60)
        assert tw.summary("ops").total_calls <= 300
    assert "ended without closing" in caplog.text
