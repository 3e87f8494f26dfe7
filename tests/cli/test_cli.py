"""The ``toolwise`` command line opens the store once and reports bad input in one line."""

from __future__ import annotations

from pathlib import Path

import pytest

from toolwise.cli import main


def test_a_bad_agent_id_is_reported_not_raised(
    devops_store: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Bad input exits 2 with a message naming the field."""
    assert main(["calls", "--path", str(devops_store), "--agent", "bad\x01id"]) == 2
    assert "agent_id" in capsys.readouterr().err
