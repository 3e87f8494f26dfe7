"""Fixtures for self-improvement: a steppable clock, real Chroma, the DevOps example's tools
as real ``@tool``s, a scripted chat model, and a helper that runs and records a task.

Records are written through the public ``tw.record`` with the test clock's timestamps, so the
watermark, recency and promotion windows are deterministic (no wall clock involved).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.tools import BaseTool, tool
from tests.conftest import FakeClock

from toolwise import Toolwise
from toolwise.improve import ImproveConfig, Improver
from toolwise.storage.clients import ephemeral_client


class SSHTimeout(Exception):  # noqa: N818 - named like the error the DevOps scenario raises
    """Raised by the simulated ``ansible_run`` when a production host does not answer."""


@tool
def kubectl_deploy(service: str, namespace: str = "default", replicas: int = 2) -> str:
    """Roll out a service with kubectl."""
    return f"deployment.apps/{service} rolled out in {namespace} ({replicas} replicas)"


@tool
def ansible_run(playbook: str, hosts: str) -> str:
    """Run an Ansible playbook over SSH."""
    if "prod" in hosts:
        raise SSHTimeout(f"ssh to {hosts}-3 timed out after 30s")
    return f"{playbook}: ok=12 changed=3 failed=0"


@tool
def terraform_apply(workspace: str, auto_approve: bool = True) -> str:
    """Apply the Terraform plan of a workspace."""
    return f"Apply complete in {workspace}! Resources: 2 added, 1 changed, 0 destroyed."


@tool
def helm_upgrade(release: str, chart: str, namespace: str = "default") -> str:
    """Upgrade a Helm release to a chart version."""
    return f"Release {release!r} has been upgraded to {chart} in {namespace}."


DEVOPS_TOOLS: dict[str, BaseTool] = {
    t.name: t for t in (kubectl_deploy, ansible_run, terraform_apply, helm_upgrade)
}

DEFAULT_ARGS: dict[str, dict[str, Any]] = {
    "kubectl_deploy": {"service": "web", "namespace": "shop", "replicas": 3},
    "ansible_run": {"playbook": "site.yml", "hosts": "staging"},
    "terraform_apply": {"workspace": "staging"},
    "helm_upgrade": {"release": "web", "chart": "web-1.4.2", "namespace": "shop"},
}


RELEASE = ["terraform_apply", "helm_upgrade", "kubectl_deploy"]
COMPOSITE = "terraform_apply_then_helm_upgrade_then_kubectl_deploy"
INPUT = {
    "workspace": "staging",
    "release": "web",
    "chart": "web-1.5.0",
    "helm_upgrade_namespace": "shop",
    "service": "web",
    "kubectl_deploy_namespace": "shop",
}
"""An input of the release composite (colliding ``namespace`` fields prefixed)."""


class ScriptedChatModel(GenericFakeChatModel):
    """Replies with the scripted messages in order (``bind_tools`` returns itself)."""

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> ScriptedChatModel:
        return self


@pytest.fixture
def scripted() -> Callable[..., ScriptedChatModel]:
    """``scripted("reply 1", "reply 2")``: a chat model that answers with these texts."""

    def build(*replies: str) -> ScriptedChatModel:
        return ScriptedChatModel(messages=iter(replies))

    return build


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def tw(tmp_path: Path, prefix: str, clock: FakeClock) -> Iterator[Toolwise]:
    """A real Toolwise on in-memory Chroma, with this test's clock and its own prefix."""
    instance = Toolwise(
        client=ephemeral_client(), spool_dir=tmp_path / "spool", prefix=prefix, clock=clock
    )
    yield instance
    instance.close()


@pytest.fixture
def make_improver(tw: Toolwise) -> Iterator[Callable[..., Improver]]:
    """``make_improver(chat_model=..., **config)``: an Improver over ``tw`` with the tools."""
    built: list[Improver] = []

    def build(*, chat_model: Any = None, background: bool = False, **config: Any) -> Improver:
        improver = Improver(
            tw.store,
            embedding=tw.runtime.embedding,
            clock=tw.clock,
            flush=tw.flush,
            chat_model=chat_model,
            tools=DEVOPS_TOOLS.values(),
            config=ImproveConfig(**config),
            seed=7,
            background=background,
        )
        built.append(improver)
        return improver

    yield build
    for improver in built:
        improver.close()


Runner = Callable[..., None]


@pytest.fixture
def run_task(tw: Toolwise, clock: FakeClock) -> Runner:
    """``run_task(session, task, [tool names], task_type=..., args={...})``: invoke each real
    tool in order and record its outcome, one clock minute apart; stops at the first failure.
    """

    def run(
        session: str,
        task: str,
        tools: Sequence[str],
        *,
        task_type: str = "production_deploy",
        environment: str = "production",
        agent_id: str = "devops",
        args: dict[str, dict[str, Any]] | None = None,
        run_score: float | None = None,
    ) -> None:
        for name in tools:
            arguments = {**DEFAULT_ARGS[name], **(args or {}).get(name, {})}
            fields: dict[str, Any] = {
                "agent_id": agent_id,
                "tool": name,
                "task": task,
                "task_type": task_type,
                "environment": environment,
                "session_id": session,
                "tool_input": json.dumps(arguments),
                "timestamp": clock.advance(),
            }
            if run_score is not None:
                fields["metadata"] = {"run_score": run_score}
            try:
                output = DEVOPS_TOOLS[name].invoke(arguments)
            except Exception as exc:
                tw.record(
                    outcome="failure",
                    error_type=type(exc).__name__,
                    error_message=str(exc),
                    **fields,
                )
                return
            tw.record(outcome="success", tool_output=str(output), **fields)

    return run


def releases(run_task: Runner, count: int) -> None:
    """Record ``count`` successful release runs (terraform → helm → kubectl)."""
    for i in range(count):
        run_task(f"release-{i}", f"release web build {i} to production", RELEASE)


@pytest.fixture
def record_uses(tw: Toolwise, clock: Any) -> Callable[[list[str]], None]:
    """Record uses of the release composite, as the agent's recording integration would."""

    def record(outcomes: list[str]) -> None:
        for outcome in outcomes:
            tw.record(agent_id="devops", tool=COMPOSITE, outcome=outcome, timestamp=clock.advance())

    return record


@pytest.fixture
def proposed(run_task: Runner, make_improver: Callable[..., Improver]) -> Improver:
    """An improver that has proposed the release composite from three recorded releases."""
    releases(run_task, 3)
    improver = make_improver()
    improver.improve("devops")
    return improver
