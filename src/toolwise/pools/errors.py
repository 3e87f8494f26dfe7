"""What a pool raises when no member could answer: one error, with every attempt in it."""

from __future__ import annotations

from dataclasses import dataclass

from toolwise.errors import ToolwiseError

__all__ = ["FailedAttempt", "PoolExhaustedError"]


@dataclass(frozen=True, slots=True)
class FailedAttempt:
    """One member's failed attempt: who, which attempt, and why (``error_type``: message)."""

    member: str
    attempt: int
    error_type: str
    error_message: str

    def __str__(self) -> str:
        text = self.error_message
        text = text if len(text) <= 120 else text[:117] + "..."
        head = f"{self.member}: {self.error_type}"
        return f"{head}: {text}" if text else head


class PoolExhaustedError(ToolwiseError):
    """Every member a pool tried failed, or its deadline / attempt budget ran out first.

    Attributes:
        pool: the pool's name (the tool name the model sees).
        attempts: the failed attempts, in the order they finished.
        reason: ``"all failed"``, ``"deadline"`` or ``"attempts"``.
    """

    def __init__(self, pool: str, attempts: tuple[FailedAttempt, ...], reason: str) -> None:
        self.pool = pool
        self.attempts = attempts
        self.reason = reason
        tried = "; ".join(str(a) for a in attempts) or "no member was tried"
        what = {
            "all failed": f"all {len(attempts)} attempt(s) failed",
            "deadline": "the deadline passed before a member succeeded",
            "attempts": "the attempt budget was spent before a member succeeded",
        }.get(reason, reason)
        super().__init__(f"pool {pool!r}: {what} ({tried})")
