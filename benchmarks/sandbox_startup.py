"""What a sandboxed composite call costs: bubblewrap plus a fresh interpreter per call.

    python benchmarks/sandbox_startup.py [--calls 20]

Wall time per call, median and 90th percentile over ``--calls`` calls, of: the machine probe
(once per process); a trivial function at level ``sandbox`` and ``restricted``; a three-step
composite of module-level ``@tool``s (sent by value, run without LangChain in the child);
one ``BaseTool`` subclass sent whole (the child imports LangChain); and, for scale, the same
three steps in process (level ``full``). Prints a table, writes
``benchmarks/results/sandbox_startup.json`` with the machine's load average.
"""

from __future__ import annotations

import argparse
import importlib
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from langchain_core.tools import BaseTool, tool

sys.path.insert(0, str(Path(__file__).parent))
from _common import median, table, write_json

from toolwise.improve.sandbox import Sandbox, tool_step


@tool
def terraform_plan(workspace: str) -> str:
    """Plan a workspace."""
    return f"Plan for {workspace}: 2 to add, 1 to change, 0 to destroy."


@tool
def helm_template(release: str, chart: str) -> str:
    """Render a Helm release."""
    return f"# {release} from {chart}\nkind: Deployment"


@tool
def kubectl_diff(manifest: str) -> str:
    """Diff a manifest against the cluster."""
    return f"{len(manifest)} bytes, 1 change"


class LintTool(BaseTool):
    """A class-based tool: travels whole, the child imports LangChain to run it."""

    name: str = "lint"
    description: str = "Lint a manifest."

    def _run(self, manifest: str) -> str:
        return f"{manifest.count(chr(10)) + 1} lines, no findings"


STEPS = [
    (terraform_plan, {"workspace": "staging"}),
    (helm_template, {"release": "web", "chart": "web-1.5.0"}),
    (kubectl_diff, {"manifest": "kind: Deployment"}),
]


def _trivial() -> int:
    return 1


def _timed(action: Callable[[], Any], calls: int) -> list[float]:
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        result = action()
        times.append(time.perf_counter() - start)
        if getattr(result, "ok", True) is False:
            raise RuntimeError(result)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=20)
    calls = parser.parse_args().calls
    load_before = os.getloadavg()
    sandbox = Sandbox()
    start = time.perf_counter()
    support = sandbox.support
    probe = time.perf_counter() - start
    if not support.available:
        print(support.describe())
        return
    steps = [tool_step(t, a) for t, a in STEPS]
    # As a user's class would be: importable, so it travels by reference (a class defined in
    # __main__ travels by value, and rebuilding a pydantic class in the child costs seconds).
    importable = importlib.import_module(Path(__file__).stem).LintTool
    lint = [tool_step(importable(), {"manifest": "kind: Deployment"})]
    cases: dict[str, Callable[[], Any]] = {
        "trivial call, level sandbox": lambda: sandbox.run(_trivial, timeout=30.0),
        "trivial call, level restricted": lambda: sandbox.run(
            _trivial, level="restricted", timeout=30.0
        ),
        "3-step @tool composite, sandbox": lambda: sandbox.run_steps(steps, timeout=30.0),
        "BaseTool subclass step (+LangChain)": lambda: sandbox.run_steps(lint, timeout=30.0),
        "3 steps in process (level full)": lambda: [t.invoke(a) for t, a in STEPS],
    }
    rows: list[list[Any]] = [["machine probe (once per process)", probe * 1000, probe * 1000]]
    results: dict[str, Any] = {"probe_ms": probe * 1000, "calls": calls, "cases": {}}
    for name, action in cases.items():
        times = _timed(action, calls)
        p90 = statistics.quantiles(times, n=10)[-1]
        rows.append([name, median(times) * 1000, p90 * 1000])
        results["cases"][name] = {"median_ms": median(times) * 1000, "p90_ms": p90 * 1000}
    results["loadavg_before"] = load_before
    results["loadavg_after"] = os.getloadavg()
    results["protections"] = list(support.protections)
    print(table(["case", "median ms", "p90 ms"], rows))
    print(f"load average before/after: {load_before[0]:.1f} / {os.getloadavg()[0]:.1f}")
    print(f"wrote {write_json('sandbox_startup', results)}")


if __name__ == "__main__":
    main()
