"""Fixtures for the recording layer: a real toolwise on an in-memory Chroma, and its records.

Helpers are handed out as fixtures (not imported) so the tests need no package layout.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from toolwise import ToolOutcome, Toolwise
from toolwise.storage.clients import ephemeral_client


@pytest.fixture
def tw(tmp_path: Path) -> Iterator[Toolwise]:
    """A toolwise of this test's own (ephemeral clients share one store: unique prefix)."""
    instance = Toolwise(
        client=ephemeral_client(),
        spool_dir=tmp_path / "spool",
        prefix=f"r{uuid.uuid4().hex[:12]}",
    )
    yield instance
    instance.close()


@pytest.fixture
def records(tw: Toolwise) -> Callable[..., list[ToolOutcome]]:
    """``records(agent_id="default", **filters)``: stored calls, oldest first."""

    def read(agent_id: str = "default", **filters: object) -> list[ToolOutcome]:
        tw.flush()
        found = tw.list_calls(agent_id, limit=1_000, **filters)  # type: ignore[arg-type]
        return sorted(found, key=lambda o: (o.timestamp, o.attempt))

    return read
