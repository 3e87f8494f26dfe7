"""Off-policy evaluation: how another strategy or config would have done on the logged decisions.

Each logged call that carries the probability its logging policy had of choosing it
(``metadata["propensity"]``, in (0, 1]) is one decision. The records are replayed in time
order through a fresh :class:`~toolwise.learning.view.ReliabilityView` built with the target
config; before each decision the target strategy ranks the tools logged in that task type and
environment, and the probability it had of ranking each first, ``π(a | xᵢ)``, is kept. Then,
with reward ``rᵢ`` the call's quality (success 1, partial its quality, failure 0) and
importance weight ``wᵢ = π(aᵢ | xᵢ) / μᵢ``:

* self-normalised IPS: ``Σ wᵢ rᵢ / Σ wᵢ``;
* doubly robust: the mean of ``Σₐ π(a | xᵢ) q̂(xᵢ, a) + wᵢ (rᵢ − q̂(xᵢ, aᵢ))``, with ``q̂`` the
  mean logged reward of the tool in that task type and environment;
* 95 % intervals from a seeded bootstrap over decisions, and the effective sample size
  ``(Σ wᵢ)² / Σ wᵢ²``; a warning when it is small or when the target puts probability on
  tools the logs never chose there (no support: IPS cannot see them).

The estimate is of the target's value *given the same evidence* (the replay feeds it the
logged outcomes, not its own), which is what a change of strategy or config changes first.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np

from toolwise.learning.config import LearningConfig
from toolwise.learning.feed import learn
from toolwise.learning.models import Strategy
from toolwise.learning.view import ReliabilityView
from toolwise.models import ToolOutcome

__all__ = ["OffPolicyEstimate", "evaluate_policy"]

MIN_ESS = 30.0
"""Below this effective sample size the estimate comes with a warning."""
_RESAMPLES = 1_000


@dataclass(frozen=True)
class OffPolicyEstimate:
    """What a target strategy would have earned per decision on the logged ones.

    ``logged`` is the logging policy's own mean reward on the same decisions; ``snips`` and
    ``dr`` the target's estimates with their 95 % intervals; ``ess`` the effective sample size.
    """

    strategy: str
    decisions: int
    skipped: int
    logged: float | None
    snips: float | None
    snips_ci: tuple[float, float] | None
    dr: float | None
    dr_ci: tuple[float, float] | None
    ess: float
    warnings: list[str] = field(default_factory=list)


def _propensity(outcome: ToolOutcome) -> float | None:
    value = outcome.metadata.get("propensity")
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    value = float(value)
    return value if 0.0 < value <= 1.0 and math.isfinite(value) else None


def _caveats(ordered: Sequence[ToolOutcome]) -> list[str]:
    """What the logged propensities cannot vouch for: calls to a tool the strategy gave no
    chance (logged 0, so among the skipped), and decisions where the model, not the strategy,
    chose (``advise`` mode: the weights hold only as far as the model followed the advice)."""
    found: list[str] = []
    overruled = sum(1 for o in ordered if o.metadata.get("propensity") == 0)
    if overruled:
        found.append(
            f"{overruled} calls went to a tool the strategy gave no chance (propensity 0): "
            "the model overrode the advice, so they cannot be weighed"
        )
    advised = [
        o
        for o in ordered
        if _propensity(o) is not None and o.metadata.get("decision_mode") == "advise"
    ]
    if advised:
        followed = sum(1 for o in advised if o.tool == o.recommended_tool)
        found.append(
            f"{len(advised)} decisions were made in advise mode, where the model picks: the "
            f"weights assume it followed the advice, which it did {followed} times"
        )
    return found


def _interval(values: np.ndarray, statistic: str, weights: np.ndarray) -> tuple[float, float]:
    rng = np.random.default_rng(0)
    picks = rng.integers(0, len(values), size=(_RESAMPLES, len(values)))
    if statistic == "snips":
        top = (weights[picks] * values[picks]).sum(axis=1)
        bottom = np.maximum(weights[picks].sum(axis=1), 1e-300)
        draws = top / bottom
    else:
        draws = values[picks].mean(axis=1)
    low, high = np.percentile(draws, [2.5, 97.5])
    return float(low), float(high)


def evaluate_policy(
    outcomes: Iterable[ToolOutcome],
    *,
    strategy: Strategy = "thompson",
    config: LearningConfig | None = None,
    seed: int = 0,
) -> OffPolicyEstimate:
    """Estimate ``strategy`` (under ``config``) on the logged decisions in ``outcomes``."""
    ordered = sorted(
        (o for o in outcomes if o.outcome != "refused"), key=lambda o: (o.timestamp, o.id)
    )
    moment = [ordered[0].timestamp if ordered else datetime.now(UTC)]
    view = ReliabilityView(config, None, lambda: moment[0])
    tools_in: dict[tuple[str, str], set[str]] = defaultdict(set)
    sums: dict[tuple[str, str, str], list[float]] = defaultdict(lambda: [0.0, 0.0])
    for o in ordered:
        tools_in[(o.task_type, o.environment)].add(o.tool)
        total = sums[(o.task_type, o.environment, o.tool)]
        total[0] += o.effective_quality
        total[1] += 1.0
    rewards: list[float] = []
    weights: list[float] = []
    direct: list[float] = []
    skipped = 0
    for index, o in enumerate(ordered):
        moment[0] = o.timestamp
        logged = _propensity(o)
        scope = (o.task_type, o.environment)
        if logged is not None:
            candidates = sorted(tools_in[scope])
            ranked = view.recommend(
                task_type=o.task_type,
                tools=candidates,
                agent_id=o.agent_id,
                environment=o.environment,
                objective={"success": 1.0},
                strategy=strategy,
                seed=seed + index,
                now=o.timestamp,
            )
            target = {r.tool: (r.propensity or 0.0) for r in ranked}
            norm = sum(target.values()) or 1.0
            target = {tool: p / norm for tool, p in target.items()}
            q = {t: sums[(*scope, t)][0] / sums[(*scope, t)][1] for t in candidates}
            rewards.append(o.effective_quality)
            weights.append(target.get(o.tool, 0.0) / logged)
            direct.append(sum(p * q[t] for t, p in target.items()))
        else:
            skipped += 1
        learn(view, o)
    return _estimate(
        strategy,
        rewards=rewards,
        weights=weights,
        direct=direct,
        skipped=skipped,
        sums=sums,
        ordered=ordered,
    )


def _estimate(
    strategy: str,
    *,
    rewards: Sequence[float],
    weights: Sequence[float],
    direct: Sequence[float],
    skipped: int,
    sums: dict[tuple[str, str, str], list[float]],
    ordered: Sequence[ToolOutcome],
) -> OffPolicyEstimate:
    n = len(rewards)
    warnings = []
    if skipped:
        warnings.append(
            f"{skipped} records carry no usable propensity "
            "(metadata['propensity'] in (0, 1]): skipped"
        )
    warnings.extend(_caveats(ordered))
    if n == 0:
        warnings.append("no logged decisions with a propensity: nothing to estimate")
        return OffPolicyEstimate(strategy, 0, skipped, None, None, None, None, None, 0.0, warnings)
    r, w, d = np.array(rewards), np.array(weights), np.array(direct)
    total = float(w.sum())
    ess = total**2 / float((w**2).sum()) if total > 0 else 0.0
    snips = float((w * r).sum() / total) if total > 0 else None
    logged_q = np.array(
        [
            sums[(o.task_type, o.environment, o.tool)][0]
            / sums[(o.task_type, o.environment, o.tool)][1]
            for o in ordered
            if _propensity(o) is not None
        ]
    )
    terms = d + w * (r - logged_q)
    if ess < MIN_ESS:
        warnings.append(
            f"thin support: effective sample size {ess:.1f} of {n} decisions "
            f"(under {MIN_ESS:g}): the target rarely chose what was logged"
        )
    return OffPolicyEstimate(
        strategy=strategy,
        decisions=n,
        skipped=skipped,
        logged=float(r.mean()),
        snips=snips,
        snips_ci=_interval(r, "snips", w) if snips is not None else None,
        dr=float(terms.mean()),
        dr_ci=_interval(terms, "dr", w),
        ess=ess,
        warnings=warnings,
    )
