"""Permission escalation of composites: decided only by their own recorded success.

``sandbox`` → ``restricted`` at ≥ 95 % success over ≥ 10 uses, ``restricted`` → ``full`` at
≥ 99 % over ≥ 10 further uses (defaults of :class:`~toolwise.improve.config.PromotionPolicy`).
Uses are counted from the moment the current level was granted; one step per review.

The records reviewed are the composite's calls as the agent's process recorded them: code
running in the sandbox cannot reach the store or the spool (they are hidden from it, and
``toolwise`` is a stub there), so it cannot forge the record that promotes it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from toolwise.improve.config import PromotionPolicy
from toolwise.improve.models import PermissionLevel
from toolwise.models import ToolOutcome

__all__ = ["Review", "count_uses", "review_level"]


@dataclass(frozen=True, slots=True)
class Review:
    """The decision for one composite: keep its level, promote it one step, or retire it."""

    action: Literal["keep", "promote", "retire"]
    level: PermissionLevel
    uses: int
    successes: int
    reason: str

    @property
    def rate(self) -> float:
        return self.successes / self.uses if self.uses else 0.0


def count_uses(records: Iterable[ToolOutcome]) -> tuple[int, int]:
    """(uses, successes) of recorded calls; ``refused`` calls (a human said no) do not count."""
    uses = successes = 0
    for record in records:
        if record.outcome == "refused":
            continue
        uses += 1
        successes += record.outcome == "success"
    return uses, successes


def review_level(
    level: PermissionLevel, uses: int, successes: int, policy: PromotionPolicy
) -> Review:
    """What ``policy`` says about a composite at ``level`` with this record at that level."""
    rate = successes / uses if uses else 0.0
    shown = f"{successes}/{uses} successful ({rate:.0%}) at level {level}"
    if uses < policy.min_uses:
        return Review("keep", level, uses, successes, f"{shown}; needs {policy.min_uses} uses")
    if rate < policy.retire_below:
        return Review(
            "retire", level, uses, successes, f"{shown} < {policy.retire_below:.0%}: retired"
        )
    if level == "sandbox" and rate >= policy.restricted_rate:
        return Review(
            "promote",
            "restricted",
            uses,
            successes,
            f"{shown} ≥ {policy.restricted_rate:.0%}: promoted to restricted",
        )
    if level == "restricted" and rate >= policy.full_rate:
        return Review(
            "promote",
            "full",
            uses,
            successes,
            f"{shown} ≥ {policy.full_rate:.0%}: promoted to full",
        )
    return Review("keep", level, uses, successes, f"{shown}: level kept")
