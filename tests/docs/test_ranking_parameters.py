"""docs/ranking.md §8 lists every LearningConfig field: no knob, opt-in or not, is unlisted."""

from __future__ import annotations

import re
from pathlib import Path

from toolwise.learning import LearningConfig

PAGE = Path(__file__).resolve().parents[2] / "docs" / "ranking.md"


def test_every_learning_config_field_is_in_the_parameters_table() -> None:
    section = PAGE.read_text().split("## 8. Parameters", 1)[1].split("\n## ", 1)[0]
    cells = re.findall(r"^\| (.+?) \|", section, re.MULTILINE)
    documented = {name for cell in cells for name in re.findall(r"`(\w+)`", cell)}
    assert set(LearningConfig.model_fields) <= documented
