"""Turn evidence into sentences a person or a model can read: reasons and suggestions.

Kept apart from the maths so the wording can change without touching a number.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

from toolwise.learning.models import Strategy

__all__ = ["describe", "evidence_from", "format_latency", "note", "suggest"]


def evidence_from(environments: tuple[str, ...], *, pooled: bool) -> str:
    """Whose evidence an estimate holds: ``"here"`` for one asked-for environment, else
    ``"in prod"`` or ``"in prod, staging (pooled)"`` (``""`` reads ``no environment``)."""
    if not pooled or environments in ((), ("",)):
        return "here"
    names = ", ".join(env or "no environment" for env in environments)
    return f"in {names} (pooled)" if len(environments) > 1 else f"in {names}"


def format_latency(latency_ms: float) -> str:
    """A short human latency: ``230 ms``, ``1.9 s``, ``2.5 min``."""
    if not math.isfinite(latency_ms):
        return "no reply"
    if latency_ms < 1_000.0:
        return f"{latency_ms:.0f} ms"
    if latency_ms < 60_000.0:
        return f"{latency_ms / 1_000.0:.1f} s"
    return f"{latency_ms / 60_000.0:.1f} min"


def describe(
    *,
    rate: float,
    observations: int,
    borrowed: bool,
    p50_latency_ms: float | None,
    mean_cost: float | None,
    show_cost: bool,
    note: str,
    where: str = "here",
) -> str:
    """One sentence on why a tool ranks where it does.

    Example: ``"91% success over 47 calls here, p50 1.9 s; sampled for exploration"``;
    ``where`` names whose evidence it is (``"in prod, staging (pooled)"``).
    """
    if observations > 0:
        calls = "call" if observations == 1 else "calls"
        head = f"{rate:.0%} success over {observations} {calls} {where}"
    elif borrowed:
        head = f"untried here; {rate:.0%} expected from its record elsewhere"
    else:
        head = "untried: no evidence yet"
    facts = [head]
    if p50_latency_ms is not None:
        facts.append(f"p50 {format_latency(p50_latency_ms)}")
    if show_cost and mean_cost is not None:
        facts.append(f"mean cost {mean_cost:.3g}")
    sentence = ", ".join(facts)
    return f"{sentence}; {note}" if note else sentence


RELIABLE = 0.8
UNRELIABLE = 0.5
_CLEARLY_BETTER = 0.1


def suggest(
    *,
    rate: float,
    effective_observations: float,
    alternative: tuple[str, float] | None,
    observations: int | None = None,
) -> str:
    """One line of advice for a prior, e.g. ``"unreliable here: prefer kubectl_deploy (91%)"``.

    Args:
        rate: the prior's posterior mean.
        effective_observations: its own decayed evidence.
        alternative: the best other tool for the same agent, context and environment with
            enough evidence, and its rate; ``None`` when there is none.
        observations: the raw outcomes behind it: many outcomes weighing little is aged
            evidence, not too little of it.
    """
    if effective_observations < 5.0:
        if observations is not None and observations >= 5:
            weight = f"{observations} calls weigh {effective_observations:.1f}"
            return f"evidence aged ({weight}): re-check"
        return "too little evidence: keep exploring"
    if rate >= RELIABLE:
        return "reliable"
    better = alternative if alternative and alternative[1] >= rate + _CLEARLY_BETTER else None
    if rate < UNRELIABLE:
        if better:
            return f"unreliable here: prefer {better[0]} ({better[1]:.0%})"
        return "unreliable here: attach a fallback"
    if better:
        return f"mixed here: {better[0]} does better ({better[1]:.0%})"
    return "usable: keep a fallback ready"


_EXPLORATION = {
    "thompson": "sampled for exploration",
    "ucb": "picked for its optimistic upper bound",
    "epsilon_greedy": "picked at random for exploration",
    "greedy": "",
}


def _day(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M UTC")


def note(
    strategy: Strategy,
    *,
    explored: bool,
    changed_at: float | None,
    retried: bool = False,
    optimistic: bool = False,
    restored_at: float | None = None,
) -> str:
    """The tail of a reason: why an exploratory pick, and whether the tool is re-learning.

    Args:
        strategy: the ranking strategy.
        explored: the pick was not the greedy one.
        changed_at: when the key's record was reset, if recently.
        retried: the pick is a scheduled re-try of a tool that broke.
        optimistic: the tool's unknown latency or cost was scored at its best (untried).
        restored_at: when the key's old record was restored after a recovery, if recently.
    """
    notes = []
    if retried:
        notes.append("re-tried: due for a re-check since it broke")
    elif explored:
        notes.append(_EXPLORATION[strategy])
    if optimistic:
        notes.append("unknown latency and cost scored at their best until it is tried")
    if changed_at is not None:
        notes.append(f"re-learning since a change detected {_day(changed_at)}")
    elif restored_at is not None:
        notes.append(f"its record was restored when it recovered ({_day(restored_at)})")
    return "; ".join(n for n in notes if n)
