"""docs/preselection.md's options table lists every AdviceOptions field: none goes unlisted."""

from __future__ import annotations

import re
from pathlib import Path

from toolwise.advice import AdviceOptions

PAGE = Path(__file__).resolve().parents[2] / "docs" / "preselection.md"


def test_every_advice_option_is_in_the_options_table() -> None:
    section = PAGE.read_text().split("## Options (`AdviceOptions`", 1)[1].split("\n## ", 1)[0]
    cells = re.findall(r"^\| (.+?) \|", section, re.MULTILINE)
    documented = {name for cell in cells for name in re.findall(r"`(\w+)`", cell)}
    assert set(AdviceOptions.model_fields) <= documented
