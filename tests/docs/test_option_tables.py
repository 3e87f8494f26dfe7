"""Each options object's documented table lists every one of its fields: none goes unlisted."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import BaseModel

from toolwise.advice import AdviceOptions
from toolwise.pools import PoolOptions

DOCS = Path(__file__).resolve().parents[2] / "docs"


def _table_names(page: str, heading: str) -> set[str]:
    """The backticked names in the first column of every table under ``heading``."""
    section = (DOCS / page).read_text().split(heading, 1)[1].split("\n## ", 1)[0]
    cells = re.findall(r"^\| (.+?) \|", section, re.MULTILINE)
    return {name for cell in cells for name in re.findall(r"`(\w+)`", cell)}


@pytest.mark.parametrize(
    ("options", "page", "heading"),
    [
        (AdviceOptions, "preselection.md", "## Options (`AdviceOptions`"),
        (PoolOptions, "pools.md", "## Options"),
    ],
    ids=["AdviceOptions", "PoolOptions"],
)
def test_every_option_is_in_its_table(options: type[BaseModel], page: str, heading: str) -> None:
    assert set(options.model_fields) <= _table_names(page, heading)
