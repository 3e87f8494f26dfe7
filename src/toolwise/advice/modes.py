"""What each mode does to the model's tools: nothing, hide the clearly unreliable, or route.

Pure functions over a ranking, so the rules are tested without a graph:

* ``filter`` hides every tool whose upper 90 % credible bound is below the threshold — the
  evidence says it rarely works even optimistically — but never every tool: the tool with the
  highest upper bound always stays.
* ``route`` forces the strategy's top visible tool, so exploration still happens through the
  strategy's sample. It forces only on the turn that answers a human message: after a tool
  result the model must be free to answer (forcing every turn would loop until the recursion
  limit). It never forces a tool that needs a human's approval (listed, flagged, or matching
  the destructive pattern), and never one without a record for the task unless the caller
  opted in (``route_untried``): a sample can put ``delete_everything`` on top (Thompson
  sampling draws optimistic values for little-known tools), and forcing it would make the
  exploration an order. When the sample's top tool may not be forced, nothing is forced: the
  brief still ranks it first — exploration in ``advise`` wording — and the model decides.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
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
    *,
    gated: Collection[str],
    untried: bool = False,
) -> str | None:
    """The tool ``route`` forces on a decision turn: the top-ranked visible one, if it may be.

    Args:
        ranking: the strategy's ranking (its sample: exploration included).
        hidden: tools the model cannot call this turn.
        mode: only ``route`` forces.
        messages: the conversation; only a turn answering the human is forced.
        gated: tools that need a human's approval; never forced.
        untried: whether a tool without a record for the task (``observations == 0``) may be
            forced; off, it is only ranked.

    Returns:
        The tool to force, or ``None`` (nothing forced: the model chooses from the brief).
        Never the next tool down: when the sample's choice may not be forced, forcing another
        would overrule both the sample and a request that needs the gated tool.
    """
    if mode != "route" or not is_decision_turn(messages):
        return None
    top = next((rec for rec in ranking if rec.tool not in hidden), None)
    if top is None or top.tool in gated:
        return None
    if top.observations == 0 and not untried:
        return None
    return top.tool
