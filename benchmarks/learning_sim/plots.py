"""Regret curves, one PNG per scenario (matplotlib, Agg backend, imported only here)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from learning_sim.policies import LABELS
from learning_sim.runner import ScenarioResult

__all__ = ["regret_curves"]

COLOURS = {
    "random": "#9e9e9e",
    "fixed_prior": "#795548",
    "recipe_000": "#e65100",
    "priors_002": "#6a1b9a",
    "toolwise": "#1565c0",
    "toolwise_buckets": "#00897b",
    "oracle": "#2e7d32",
    "toolwise_custom": "#0d47a1",
    "thompson": "#f9a825",
    "dts_0.99": "#c0ca33",
    "dts_0.995": "#7cb342",
    "sw_ucb": "#00acc1",
    "glr_klucb": "#d81b60",
    "bayes_ucb": "#5e35b1",
    "eps_recency": "#8d6e63",
}
OTHER_COLOUR = "#424242"  # a policy added without a colour of its own
FOCUS = ("recipe_000", "toolwise", "toolwise_buckets", "toolwise_custom")
"""The y-axis fits these; others running off the top say where they end in the legend."""


def regret_curves(result: ScenarioResult, path: Path) -> Path:
    """Mean cumulative regret per policy (bands: 25th–75th percentile over runs, focus only)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    scenario = result.scenario
    x = np.arange(1, result.horizon + 1)
    focus = [p for p in result.summaries if p in FOCUS]
    top = max(result.summaries[p].curve_high[-1] for p in focus) * 1.3 or 1.0
    fig, ax = plt.subplots(figsize=(7.5, 4.4))
    for policy, summary in result.summaries.items():
        label = LABELS[policy]
        final = summary.curve[-1]
        if final > top:
            label += f" (off scale, ends at {final:.0f})"
        colour = COLOURS.get(policy, OTHER_COLOUR)
        ax.plot(x, summary.curve, color=colour, lw=1.8, label=label)
        if policy in focus:
            ax.fill_between(
                x,
                summary.curve_low,
                summary.curve_high,
                color=colour,
                alpha=0.15,
                lw=0,
            )
    for change in scenario.changes:
        if change.kind == "outage" and change.until is not None:
            ax.axvspan(change.at, change.until, color="#ffcdd2", alpha=0.6, lw=0)
        else:
            ax.axvline(change.at, color="#616161", ls="--", lw=1)
        ax.annotate(
            f"{change.kind} {change.tool}".strip(),
            (change.at, top * 0.02),
            fontsize=8,
            ha="left",
            va="bottom",
            xytext=(3, 0),
            textcoords="offset points",
        )
    ax.set_ylim(0, top)
    ax.set_xlim(1, result.horizon)
    ax.set_xlabel("decision")
    ax.set_ylabel("cumulative regret (expected reward)")
    ax.set_title(f"{scenario.name}: {scenario.summary}", fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper left")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path
