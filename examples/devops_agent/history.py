"""Every week the example ever ran, per arm, so a second run extends the curve.

An *arm* is how the agent was run: ``advise`` / ``filter`` / ``route`` (toolwise briefs the
model) or ``no-advice`` (toolwise only records: the baseline). Weeks are kept in
``<store>/example_history.json``; ``--fresh`` deletes the store and with it the history.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["ARMS", "HISTORY_FILE", "WeekPoint", "arm_name", "load", "save"]

ARMS = ("advise", "filter", "route", "no-advice")
HISTORY_FILE = "example_history.json"


@dataclass(frozen=True, slots=True)
class WeekPoint:
    """One simulated week of one arm: what the plot draws."""

    week: int
    deploys: int
    success_rate: float
    mean_seconds: float
    shares: dict[str, float]


def arm_name(*, advice: bool, mode: str) -> str:
    return mode if advice else "no-advice"


def load(path: Path) -> dict[str, list[WeekPoint]]:
    """Weeks per arm, in week order (empty when the store has no history yet)."""
    file = path / HISTORY_FILE
    if not file.exists():
        return {}
    raw: dict[str, list[dict[str, Any]]] = json.loads(file.read_text())
    return {arm: [WeekPoint(**point) for point in points] for arm, points in raw.items()}


def save(path: Path, arm: str, points: list[WeekPoint]) -> dict[str, list[WeekPoint]]:
    """Add ``points`` to ``arm``'s history (a week run again replaces the old one)."""
    history = load(path)
    by_week = {p.week: p for p in history.get(arm, [])}
    by_week.update({p.week: p for p in points})
    history[arm] = [by_week[w] for w in sorted(by_week)]
    raw = {
        name: [
            {
                "week": p.week,
                "deploys": p.deploys,
                "success_rate": p.success_rate,
                "mean_seconds": p.mean_seconds,
                "shares": p.shares,
            }
            for p in points_
        ]
        for name, points_ in history.items()
    }
    (path / HISTORY_FILE).write_text(json.dumps(raw, indent=1))
    return history
