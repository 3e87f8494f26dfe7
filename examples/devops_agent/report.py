"""The example's output: a week-by-week table and a PNG learning curve."""

from __future__ import annotations

from pathlib import Path

from examples.devops_agent.history import WeekPoint
from examples.devops_agent.run import TOOLS, WeekReport
from examples.devops_agent.world import EVENTS

__all__ = ["compare", "plot", "table"]

_STYLE = {"advise": "tab:blue", "route": "tab:green", "filter": "tab:purple", "no-advice": "gray"}


def table(reports: list[WeekReport]) -> str:
    header = ["week", "deploys", "success", "mean time", *TOOLS]
    rows = [
        [
            str(r.week),
            str(r.deploys),
            f"{r.success_rate:.0%}",
            f"{r.mean_seconds:.1f}s",
            *(f"{r.share(t):.0%}" for t in TOOLS),
        ]
        for r in reports
    ]
    return _lay_out(header, rows)


def compare(history: dict[str, list[WeekPoint]]) -> str:
    """Success and mean deploy time per week, one column pair per arm, then over all weeks."""
    arms = [arm for arm, points in history.items() if points]
    header = ["week"] + [f"{arm}: {what}" for arm in arms for what in ("success", "mean time")]
    weeks = sorted({p.week for arm in arms for p in history[arm]})
    by_week = {arm: {p.week: p for p in history[arm]} for arm in arms}
    rows = []
    for week in weeks:
        cells = [str(week)]
        for arm in arms:
            point = by_week[arm].get(week)
            cells += (
                [f"{point.success_rate:.0%}", f"{point.mean_seconds:.1f}s"] if point else ["", ""]
            )
        rows.append(cells)
    total = ["all"]
    for arm in arms:
        deploys = sum(p.deploys for p in history[arm])
        ok = sum(p.success_rate * p.deploys for p in history[arm]) / deploys
        seconds = sum(p.mean_seconds * p.deploys for p in history[arm]) / deploys
        total += [f"{ok:.0%}", f"{seconds:.1f}s"]
    return _lay_out(header, [*rows, total])


def _lay_out(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(x) for x in col) for col in zip(header, *rows, strict=False)]

    def line(cells: list[str]) -> str:
        return "  ".join(c.rjust(w) for c, w in zip(cells, widths, strict=False))

    return "\n".join([line(header), line(["-" * w for w in widths]), *map(line, rows)])


def plot(history: dict[str, list[WeekPoint]], path: Path, *, main_arm: str) -> Path | None:
    """Success and mean deploy time per week for every arm run so far, the world's events
    marked, and the main arm's tool shares; None if matplotlib is missing."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    fig, (success, seconds, shares) = plt.subplots(3, 1, figsize=(9, 9), sharex=True)
    for arm, points in history.items():
        weeks = [p.week for p in points]
        style = {"color": _STYLE.get(arm, "black"), "marker": "o", "label": arm}
        if arm == "no-advice":
            style["linestyle"] = "--"
        success.plot(weeks, [p.success_rate for p in points], **style)
        seconds.plot(weeks, [p.mean_seconds for p in points], **style)
    for point_tool in TOOLS:
        points = history.get(main_arm, [])
        shares.plot(
            [p.week for p in points],
            [p.shares.get(point_tool, 0.0) for p in points],
            marker="o",
            label=point_tool,
        )
    every_week = sorted({p.week for points in history.values() for p in points})
    for week, event in EVENTS.items():
        if every_week and every_week[0] <= week <= every_week[-1]:
            for axis in (success, seconds, shares):
                axis.axvline(week, color="tab:red", linestyle=":", linewidth=1)
            success.annotate(
                event,
                (week, 0.02),
                rotation=90,
                fontsize=7,
                color="tab:red",
                va="bottom",
                ha="right",
            )
    success.set_title("toolwise DevOps agent: learning which deploy tool works")
    success.set_ylabel("deploy success")
    success.set_ylim(0, 1.05)
    success.legend(loc="lower right", fontsize=8)
    seconds.set_ylabel("mean deploy time (s)")
    seconds.set_ylim(bottom=0)
    shares.set_ylabel(f"share of deploys ({main_arm})")
    shares.set_ylim(0, 1.05)
    shares.set_xlabel("simulated week")
    shares.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
