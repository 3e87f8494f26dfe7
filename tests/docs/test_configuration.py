"""docs/configuration.md lists every setting a user can pass: none goes undocumented."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

from toolwise import Toolwise
from toolwise._runtime import Settings

PAGE = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"


def _first_column(heading: str) -> set[str]:
    """The backticked names in the first column of the table under ``heading``."""
    section = PAGE.read_text().split(heading, 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `(\w+)` \|", section, re.MULTILINE))


def test_every_toolwise_setting_is_documented_with_its_default() -> None:
    documented = _first_column("## `Toolwise(path=None, **settings)`")
    assert documented == {"path", *Settings.__annotations__}


def test_every_instrument_argument_is_documented_with_its_default() -> None:
    parameters = inspect.signature(Toolwise.instrument).parameters
    named = {n for n, p in parameters.items() if p.kind is p.KEYWORD_ONLY}
    assert _first_column("## `tw.instrument(tool, ...)`") == named
