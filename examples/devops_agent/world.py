"""The simulated world of the DevOps example: services, weeks, and four deploy tools.

Everything is seeded and driven by a simulated clock, so a run is reproducible and a week of
deploys takes seconds. The behaviour follows the scenario toolwise was specified from:

- ``kubectl_deploy`` — the company moved to Kubernetes: ~91 % success, ~2 s.
- ``ansible_run`` — the model's habit, but SSH keys were rotated in the migration: ~34 %
  success, timeouts after ~45 s.
- ``terraform_apply`` — fine most days (~85 %, ~12 s) but a Friday-afternoon change freeze
  rejects it.
- ``helm_upgrade`` — arrives in week 4, when the chart-based services move to Helm releases:
  ~96 % there (~3 s), while ``kubectl_deploy`` now fights Helm on them (~45 %); helm fails on
  the other services.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

__all__ = ["DEPLOYS_PER_WEEK", "EVENTS", "SERVICES", "Deploy", "ToolBehaviour", "World"]

SERVICES: tuple[tuple[str, bool], ...] = (
    ("checkout", True), ("payments", False), ("search", True), ("catalog", False),
    ("auth", False), ("notifications", True), ("billing", False), ("inventory", True),
    ("shipping", False), ("recommendations", True), ("gateway", False), ("reports", False),
)  # fmt: skip
"""Twelve services; ``True`` marks the chart-based ones helm can deploy."""

DEPLOYS_PER_WEEK = 144
"""About 29 deploys a working day over 12 services — a CI/CD shop. Fewer starve the learner:
at 48 a week a chart-based task type sees a few helm calls a week, and helm's failures on the
other services weigh on its chart prior, so helm is adopted for charts only slowly
(``docs/ranking.md``, "Sparse contexts")."""
HELM_ARRIVES_WEEK = 4
EVENTS: dict[int, str] = {
    1: "ansible's SSH keys rotated",
    HELM_ARRIVES_WEEK: "helm_upgrade arrives",
}
"""What changes in the world, by the week it starts: marked on the learning curve."""
_START = datetime(2026, 1, 5, 0, 0, tzinfo=UTC)  # Monday 00:00; deploys run 09:00–17:00


@dataclass(frozen=True, slots=True)
class Deploy:
    """One deploy request the agent receives."""

    number: int
    week: int
    service: str
    chart_based: bool
    environment: str
    version: str
    at: datetime

    @property
    def task_type(self) -> str:
        kind = "chart_deploy" if self.chart_based else "deploy"
        return f"{self.environment}_{kind}"

    @property
    def request(self) -> str:
        chart = " (Helm chart)" if self.chart_based else ""
        return f"Deploy {self.service}{chart} version {self.version} to {self.environment}."


@dataclass(frozen=True, slots=True)
class ToolBehaviour:
    """How a tool behaves: success chance and a log-normal latency around a median."""

    success: float
    median_s: float
    spread: float
    error: str
    timeout_s: float | None = None


@dataclass
class World:
    """Seeded source of deploy requests and tool outcomes, with a simulated clock."""

    seed: int = 7
    start_week: int = 1
    deploys_per_week: int = DEPLOYS_PER_WEEK
    now: datetime = field(default=_START)
    _rng: random.Random = field(init=False, repr=False)
    _mono: float = field(default=0.0, init=False)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed * 1_000 + self.start_week)
        self.now = _START + timedelta(weeks=self.start_week - 1)

    # -- clock used by toolwise ------------------------------------------------------------

    def clock(self) -> datetime:
        return self.now

    def timer(self) -> float:
        """Monotonic simulated seconds: toolwise measures tool latency with it."""
        return self._mono

    def advance(self, seconds: float) -> None:
        self._mono += seconds
        self.now += timedelta(seconds=seconds)

    # -- requests ---------------------------------------------------------------------------

    def deploys(self, week: int) -> list[Deploy]:
        """The week's deploy requests, spread over working hours Monday–Friday."""
        out = []
        monday = _START + timedelta(weeks=week - 1)
        per_week = self.deploys_per_week
        per_day = -(-per_week // 5)  # ceiling: every deploy gets a slot on its day
        for i in range(per_week):
            day = i * 5 // per_week
            slot = (i - -(-day * per_week // 5)) / per_day
            at = monday + timedelta(days=day, hours=9 + 8 * slot)
            service, chart = SERVICES[self._rng.randrange(len(SERVICES))]
            environment = "production" if self._rng.random() < 0.6 else "staging"
            version = f"{week}.{i // 12}.{i % 12}"
            out.append(
                Deploy(
                    (week - 1) * per_week + i + 1,
                    week,
                    service,
                    chart,
                    environment,
                    version,
                    at,
                )
            )
        return out

    def available_tools(self, week: int) -> list[str]:
        tools = ["ansible_run", "kubectl_deploy", "terraform_apply"]
        if week >= HELM_ARRIVES_WEEK:
            tools.append("helm_upgrade")
        return tools

    # -- tool behaviour ---------------------------------------------------------------------

    def behaviour(self, tool: str, deploy: Deploy) -> ToolBehaviour:
        friday_afternoon = deploy.at.weekday() == 4 and deploy.at.hour >= 12
        if tool == "kubectl_deploy":
            if deploy.chart_based and deploy.week >= HELM_ARRIVES_WEEK:
                return ToolBehaviour(
                    0.45,
                    2.5,
                    0.35,
                    "Conflict: resource is managed by a Helm release; apply rejected",
                )
            return ToolBehaviour(0.91, 2.0, 0.35, "ImagePullBackOff: registry timeout")
        if tool == "ansible_run":
            return ToolBehaviour(
                0.34,
                26.0,
                0.3,
                "SSH_TIMEOUT: connection to host timed out after 45s (host key changed)",
                timeout_s=45.0,
            )
        if tool == "terraform_apply":
            if friday_afternoon:
                return ToolBehaviour(
                    0.05, 4.0, 0.3, "ChangeFreeze: applies are blocked on Friday afternoons"
                )
            return ToolBehaviour(0.85, 12.0, 0.3, "StateLock: state is locked by another run")
        if tool == "helm_upgrade":
            if deploy.chart_based:
                return ToolBehaviour(0.96, 3.0, 0.3, "UPGRADE FAILED: timed out waiting")
            return ToolBehaviour(0.1, 1.0, 0.3, "Error: chart not found for this service")
        return ToolBehaviour(0.0, 1.0, 0.1, f"unknown tool {tool}")

    def run_tool(self, tool: str, deploy: Deploy) -> tuple[bool, float, str]:
        """Simulate one call: (succeeded, seconds taken, error message)."""
        b = self.behaviour(tool, deploy)
        seconds = b.median_s * math.exp(self._rng.gauss(0.0, b.spread))
        ok = self._rng.random() < b.success
        if not ok and b.timeout_s is not None:
            seconds = b.timeout_s
        self.advance(seconds)
        return ok, seconds, "" if ok else b.error

    def rng(self) -> random.Random:
        return self._rng
