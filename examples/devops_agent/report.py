"""The example's output: a week-by-week table and a PNG learning curve."""

from __future__ import annotations

from pathlib import Path

from examples.devops_agent.run import TOOLS, WeekReport

__all__ = ["plot", "table"]


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
    widths = [max(len(x) for x in col) for col in zip(header, *rows, strict=False)]

    def line(cells: list[str]) -> str:
        return "  ".join(c.rjust(w) for c, w in zip(cells, widths, strict=False))

    return "\n".join([line(header), line(["-" * w for w in widths]), *map(line, rows)])


def plot(reports: list[WeekReport], path: Path) -> Path | None:
    """Success rate and share of deploys per tool, by week; None if matplotlib is missing."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    weeks = [r.week for r in reports]
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(8, 6), sharex=True)
    top.plot(weeks, [r.success_rate for r in reports], marker="o", color="black")
    top.set_ylabel("deploy success")
    top.set_ylim(0, 1.05)
    top.set_title("toolwise DevOps agent: learning which deploy tool works")
    for tool in TOOLS:
        bottom.plot(weeks, [r.share(tool) for r in reports], marker="o", label=tool)
    bottom.set_ylabel("share of deploys")
    bottom.set_xlabel("simulated week")
    bottom.set_ylim(0, 1.05)
    bottom.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
