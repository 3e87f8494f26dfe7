"""Run simulated weeks of deploys through a real ``create_agent`` graph with toolwise."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from examples.devops_agent import history
from examples.devops_agent.model import make_model
from examples.devops_agent.tools import CallLog, make_tools
from examples.devops_agent.world import DEPLOYS_PER_WEEK, Deploy, World
from langchain.agents import create_agent
from langchain_core.messages import HumanMessage

import toolwise
from toolwise.learning import LearningConfig

__all__ = ["AGENT_ID", "TOOLS", "DeployResult", "WeekReport", "run", "run_baselines"]

AGENT_ID = "devops"
TOOLS = ("kubectl_deploy", "ansible_run", "terraform_apply", "helm_upgrade")
SYSTEM_PROMPT = (
    "You are a DevOps agent. Deploy the requested service with exactly one deploy tool call, "
    "then report the result in one sentence."
)
_STATE_FILE = "example_state.json"


@dataclass(frozen=True)
class DeployResult:
    week: int
    number: int
    task_type: str
    tool: str
    ok: bool
    seconds: float


@dataclass
class WeekReport:
    week: int
    deploys: int = 0
    successes: int = 0
    seconds: float = 0.0
    shares: Counter[str] = field(default_factory=Counter)

    @property
    def success_rate(self) -> float:
        return self.successes / self.deploys if self.deploys else 0.0

    @property
    def mean_seconds(self) -> float:
        return self.seconds / self.deploys if self.deploys else 0.0

    def share(self, tool: str) -> float:
        return self.shares[tool] / self.deploys if self.deploys else 0.0

    def point(self) -> history.WeekPoint:
        return history.WeekPoint(
            self.week,
            self.deploys,
            self.success_rate,
            self.mean_seconds,
            {t: self.share(t) for t in TOOLS},
        )


def _load_state(path: Path) -> dict[str, Any]:
    state_file = path / _STATE_FILE
    if state_file.exists():
        loaded: dict[str, Any] = json.loads(state_file.read_text())
        return loaded
    return {"next_week": 1}


def run(
    *,
    weeks: int,
    path: Path,
    seed: int = 7,
    fresh: bool = False,
    deploys_per_week: int | None = None,
    progress: bool = True,
    advice: bool = True,
    mode: str = "advise",
    history_path: Path | None = None,
) -> tuple[list[WeekReport], list[DeployResult], toolwise.Toolwise]:
    """Run ``weeks`` more simulated weeks, continuing from what ``path`` already learnt.

    With ``advice=False`` toolwise only records (the model picks on its own habit): the
    baseline to compare the learning curve with. ``mode`` is the brief's: ``advise`` (the
    model decides), ``filter`` (tools that clearly fail are hidden) or ``route`` (the top
    tool is forced, an untried one included: the example opts in with ``route_untried``).
    Returns the week reports, every deploy's result and the (still open) Toolwise, so the
    caller can print its summary; the caller closes it. The weeks are added to the arm's
    history in ``history_path`` (default ``path``), which the learning curve is drawn from.
    """
    if fresh:
        _start_over(path)
    path.mkdir(parents=True, exist_ok=True)
    state = _load_state(path)
    first_week = int(state["next_week"])
    per_week = deploys_per_week or DEPLOYS_PER_WEEK
    world = World(seed=seed, start_week=first_week, deploys_per_week=per_week)
    tw = toolwise.Toolwise(
        path,
        clock=world.clock,
        timer=world.timer,
        learning=LearningConfig(time_buckets="weekday_daypart"),
        ttl=None,  # simulated dates lie in the past: a TTL would expire them against today
    )
    if fresh:  # the store may be shared with other agents: forget this agent's records only
        tw.forget(AGENT_ID)
    results: list[DeployResult] = []
    reports: list[WeekReport] = []
    bar = _progress(weeks * per_week, progress)
    for week in range(first_week, first_week + weeks):
        report = WeekReport(week)
        deploys = world.deploys(week)
        current: dict[str, Any] = {}
        tools = make_tools(world, world.available_tools(week), partial(current.__getitem__, "now"))
        agent = create_agent(
            make_model(seed + week),
            tools,
            system_prompt=SYSTEM_PROMPT,
            middleware=[
                tw.middleware(
                    agent_id=AGENT_ID,
                    advice=advice,
                    mode=mode,
                    seed=seed * 100 + week,
                    # The example's tools are all safe to try, so ``route`` may force one
                    # that has no record yet (off by default: docs/preselection.md).
                    route_untried=True,
                )
            ],
        )
        for deploy in deploys:
            log = CallLog()
            current["now"] = (deploy, log)
            world.now = max(world.now, deploy.at)
            _invoke(agent, deploy)
            results.append(
                DeployResult(week, deploy.number, deploy.task_type, log.tool, log.ok, log.seconds)
            )
            report.deploys += 1
            report.successes += log.ok
            report.seconds += log.seconds
            report.shares[log.tool or "none"] += 1
            bar.update(1)
        reports.append(report)
    bar.close()
    tw.flush()
    (path / _STATE_FILE).write_text(json.dumps({"next_week": first_week + weeks}))
    history.save(
        history_path or path,
        history.arm_name(advice=advice, mode=mode),
        [r.point() for r in reports],
    )
    return reports, results, tw


def run_baselines(
    *,
    path: Path,
    arms: tuple[str, ...],
    until_week: int,
    seed: int = 7,
    deploys_per_week: int | None = None,
    progress: bool = True,
) -> None:
    """Bring each baseline arm up to ``until_week`` in its own store under ``path/baselines``.

    Same seed, same weeks, same requests: the only difference is how toolwise acts. Their
    weeks go into ``path``'s history, beside the main arm's.
    """
    for arm in arms:
        store = path / "baselines" / arm
        store.mkdir(parents=True, exist_ok=True)
        weeks = until_week - int(_load_state(store)["next_week"])
        if weeks <= 0:
            continue
        _, _, tw = run(
            weeks=weeks,
            path=store,
            seed=seed,
            deploys_per_week=deploys_per_week,
            progress=progress,
            advice=arm != "no-advice",
            mode="advise" if arm == "no-advice" else arm,
            history_path=path,
        )
        tw.close()


def _start_over(path: Path) -> None:
    """``--fresh``: drop the example's own files (its week counter, its curve, its baselines'
    stores); the agent's records are forgotten once the store is open."""
    for name in (_STATE_FILE, history.HISTORY_FILE):
        (path / name).unlink(missing_ok=True)
    shutil.rmtree(path / "baselines", ignore_errors=True)
    # Chroma caches one client per path in-process; a cached one would point at the deleted
    # baseline files ("readonly database"), so drop the cache before opening them again.
    from chromadb.api.client import SharedSystemClient

    SharedSystemClient.clear_system_cache()


def _invoke(agent: Any, deploy: Deploy) -> None:
    agent.invoke(
        {"messages": [HumanMessage(deploy.request)]},
        config={
            "metadata": {
                "toolwise_task_type": deploy.task_type,
                "toolwise_environment": deploy.environment,
            },
            "configurable": {"thread_id": f"deploy-{deploy.number}"},
        },
    )


class _NoBar:
    def update(self, n: int) -> None: ...

    def close(self) -> None: ...


def _progress(total: int, enabled: bool) -> Any:
    if not enabled:
        return _NoBar()
    try:
        from tqdm import tqdm
    except ImportError:
        return _NoBar()
    return tqdm(total=total, unit="deploy", desc="simulating", leave=False)


def as_json(reports: list[WeekReport]) -> list[dict[str, Any]]:
    return [
        {
            **{k: v for k, v in asdict(r).items() if k != "shares"},
            "success_rate": r.success_rate,
            "mean_seconds": r.mean_seconds,
            "shares": {t: r.share(t) for t in TOOLS},
        }
        for r in reports
    ]
