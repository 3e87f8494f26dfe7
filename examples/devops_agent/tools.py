"""The four deploy tools as real LangChain tools, backed by the simulated world."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from examples.devops_agent.world import Deploy, World
from langchain_core.tools import BaseTool, StructuredTool, ToolException

__all__ = ["DESCRIPTIONS", "CallLog", "make_tools"]

DESCRIPTIONS = {
    "kubectl_deploy": "Deploy a service to the Kubernetes cluster with kubectl (rolling update).",
    "ansible_run": "Deploy a service by running the Ansible playbook over SSH on its hosts.",
    "terraform_apply": "Deploy a service by applying its Terraform configuration.",
    "helm_upgrade": "Deploy a chart-based service with helm upgrade --install.",
}


@dataclass
class CallLog:
    """What each deploy actually did, for the week-by-week report."""

    tool: str = ""
    ok: bool = False
    seconds: float = 0.0


def make_tools(
    world: World, names: list[str], current: Callable[[], tuple[Deploy, CallLog]]
) -> list[BaseTool]:
    """Real ``StructuredTool``s whose behaviour comes from ``world`` for the current deploy."""

    def build(name: str) -> BaseTool:
        def deploy(service: str, version: str, environment: str) -> str:
            request, log = current()
            ok, seconds, error = world.run_tool(name, request)
            log.tool, log.ok, log.seconds = name, ok, seconds
            if not ok:
                raise ToolException(error)
            return f"{service} {version} is live in {environment} ({name}, {seconds:.1f}s)"

        return StructuredTool.from_function(
            deploy, name=name, description=DESCRIPTIONS[name], handle_tool_error=True
        )

    return [build(name) for name in names]
