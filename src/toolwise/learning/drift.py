"""Fade a tool's record while its recent outcomes disagree with it: forgetting on evidence.

In a slow drift the tool in use slides, but its long record holds its estimate up: the slow
scan (``scan``) weighs the recent run against everything before it at a strict level, and a
gradual slide from 80 % to 55 % took it over a hundred outcomes at the new rate to see on the
development seeds (``docs/ranking.md`` §5). Here each task-type record also compares its last
``window`` outcomes with the rest of its record by the two-sample GLR statistic
(``strength``); while that statistic exceeds ``threshold`` nats the record is multiplied by
``discount`` at every charge. A record that agrees with its recent outcomes — every record
of a steady tool, almost always — is never touched; one that disagrees fades until what is
left of its past no longer outweighs the window (the statistic shrinks with the past's
weight), so its memory adapts to the drift instead of to a constant, as in the adaptive
windows of ADWIN (Bifet & Gavaldà, 2007), with the window tested at one length only.

O(1) per charge. Not thread-safe: the view's lock is held around every call.
"""

from __future__ import annotations

from collections import deque

from toolwise.learning.evidence import Evidence, Part
from toolwise.learning.strength import glr_statistic

__all__ = ["DriftFade"]

Key = tuple[str, str, str, str]
"""(agent, tool, task type, environment)."""


class _Window:
    __slots__ = ("failures", "parts", "successes")

    def __init__(self, size: int) -> None:
        self.parts: deque[Part] = deque(maxlen=size)
        self.successes = 0.0
        self.failures = 0.0

    def add(self, part: Part) -> None:
        parts = self.parts
        if len(parts) == parts.maxlen:
            self._leave(parts[0])
        parts.append(part)
        self.successes += part.successes
        self.failures += part.failures

    def remove(self, part: Part) -> None:
        if part in self.parts:  # O(window), but only for a charge an outage takes back
            self.parts.remove(part)
            self._leave(part)

    def _leave(self, part: Part) -> None:
        self.successes = max(self.successes - part.successes, 0.0)
        self.failures = max(self.failures - part.failures, 0.0)


class DriftFade:
    """Per task-type record: the last outcomes, and the fading they call for.

    Args:
        window: how many recent outcomes are compared with the rest of the record; 0
            disables the fading (every method is then a no-op).
        threshold: the GLR statistic, in nats, above which the record fades.
        discount: what the record is multiplied by per charge while it disagrees.
    """

    def __init__(self, window: int, threshold: float, discount: float) -> None:
        self.window = window
        self._threshold = threshold
        self._discount = discount
        self._recent: dict[Key, _Window] = {}
        self._of: dict[int, _Window] = {}  # by id of the record, for reverts

    def charged(self, key: Key, evidence: Evidence, part: Part) -> bool:
        """After a charge of the key's task-type record: fade it if it disagrees.

        Returns:
            Whether the record was faded.
        """
        if not self.window:
            return False
        recent = self._recent.get(key)
        if recent is None:
            recent = self._recent[key] = self._of[id(evidence)] = _Window(self.window)
        recent.add(part)
        if len(recent.parts) < self.window:
            return False
        segment = evidence.current
        past = (
            max(segment.successes - recent.successes, 0.0),
            max(segment.failures - recent.failures, 0.0),
        )
        if glr_statistic(past, (recent.successes, recent.failures)) <= self._threshold:
            return False
        segment.successes *= self._discount
        segment.failures *= self._discount
        return True

    def reverted(self, part: Part) -> None:
        """A charge was taken back (an outage's failure): it leaves the window too."""
        recent = self._of.get(id(part.evidence))
        if recent is not None:
            recent.remove(part)

    def forget(self, agent_id: str, tool: str | None) -> None:
        """Drop the windows of an agent, or of one of its tools."""
        self._recent = {
            k: v for k, v in self._recent.items() if not (k[0] == agent_id and tool in (None, k[1]))
        }
        kept = {id(window) for window in self._recent.values()}
        self._of = {k: w for k, w in self._of.items() if id(w) in kept}
