"""What each mode does to the model's tools: nothing, hide the clearly unreliable, or route.

Pure functions over a ranking, so the rules are tested without a graph:

* ``filter`` hides every tool whose upper 90 % credible bound is below the threshold — the
  evidence says it rarely works even optimistically — but never every tool: the tool with the
  highest upper bound always stays.
* ``route`` forces the strategy's top visible tool, so exploration still happens through the
  strategy's sample. It forces only on the turn that answers a human message: after a tool
  result the model must be free to answer (forcing every turn would loop until the recursion
  limit).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from toolwise.advice.models import Mode
from toolwise.learning.models import Recommendation

__all__ = ["forced_tool", "hidden_tools", "is_decision_turn"]


def hidden_tools(
    ranking: Sequence[Recommendation], mode: Mode, threshold: float
) -> tuple[str, ...]:
    """Tools to hide in ``filter`` mode (none in the other modes), in ranking order."""
    if mode != "filter" or not ranking:
        return ()
    hidden = [rec.tool for rec in ranking if rec.credible_interval[1] < threshold]
    if len(hidden) == len(ranking):
        keep = max(ranking, key=lambda rec: (rec.credible_interval[1], -rec.rank)).tool
        hidden.remove(keep)
    return tuple(hidden)


def is_decision_turn(messages: Sequence[Any]) -> bool:
    """True when the last message is the human's: the model is about to choose its first tool."""
    if not messages:
        return False
    last = messages[-1]
    kind = getattr(last, "type", None)
    if kind is None and isinstance(last, dict):
        kind = last.get("role") or last.get("type")
    if kind is None and isinstance(last, tuple) and len(last) == 2:
        kind = last[0]
    return kind in ("human", "user")


def forced_tool(
    ranking: Sequence[Recommendation],
    hidden: Sequence[str],
    mode: Mode,
    messages: Sequence[Any],
) -> str | None:
    """The tool ``route`` forces on a decision turn: the top-ranked visible one."""
    if mode != "route" or not is_decision_turn(messages):
        return None
    for rec in ranking:
        if rec.tool not in hidden:
            return rec.tool
    return None
