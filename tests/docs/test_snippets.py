"""Every Python and shell block in README.md and docs/*.md runs, so the docs cannot drift.

The blocks of one page run in order, in one namespace and one fresh working directory, as a
reader would type them: the Python blocks build their store under ``./.toolwise`` there, and the
shell blocks (``toolwise ...``, ``python -m ...``) read it. Names a page takes for granted — the
reader's own agent, tools and model — come from :func:`_your_agent`, built from real LangChain
tools, a real ``create_agent`` graph and the example's scripted chat model.

A page marks a block on the line before its fence:

* ``<!-- snippet: server -->`` — needs a ``chroma run`` server: run against the test one, its
  address in ``$TOOLWISE_URL``;
* ``<!-- snippet: skip (why) -->`` — not runnable here; the reason is required (a key, a
  network, a command that installs software);
* ``<!-- snippet: output -->`` — shows a value or a command's output, not code to run.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
_FENCE = re.compile(
    r"(?:<!--\s*snippet:\s*(?P<mark>[^>]*?)\s*-->\s*\n)?^```(?P<lang>[\w+-]*)[^\n]*\n(?P<body>.*?)^```\s*$",
    re.MULTILINE | re.DOTALL,
)
_RUNNABLE = {"python": "python", "py": "python", "bash": "shell", "sh": "shell", "shell": "shell"}


@dataclass(frozen=True)
class Snippet:
    page: Path
    line: int
    kind: str  # "python" or "shell"
    mark: str
    code: str

    def __str__(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"


def snippets(page: Path) -> Iterator[Snippet]:
    text = page.read_text()
    for match in _FENCE.finditer(text):
        kind = _RUNNABLE.get(match["lang"].lower())
        if kind is None:
            continue
        line = text.count("\n", 0, match.start("lang")) + 1
        yield Snippet(page, line, kind, (match["mark"] or "").strip(), match["body"])


def test_every_skip_says_why() -> None:
    """A block is only skipped with a reason a reader can check."""
    for page in PAGES:
        for snippet in snippets(page):
            if snippet.mark.startswith("skip"):
                assert re.fullmatch(r"skip \(.{8,}\)", snippet.mark), f"{snippet}: skip (why)"
            else:
                assert snippet.mark in ("", "server", "output"), f"{snippet}: {snippet.mark!r}"


def _your_agent() -> dict[str, Any]:
    """What a page assumes the reader already has: tools, a chat model, an agent, inputs."""
    from examples.devops_agent.model import ScriptedDevOpsModel
    from langchain.agents import create_agent
    from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
    from langchain_core.messages import AIMessage
    from langchain_core.tools import ToolException, tool

    @tool
    def kubectl_deploy(service: str, version: str, environment: str) -> str:
        """Deploy a service with kubectl."""
        return f"deployed {service} {version} to {environment}"

    @tool
    def ansible_run(service: str, version: str, environment: str) -> str:
        """Deploy a service with an ansible playbook."""
        raise ToolException("SSH_TIMEOUT: connection to host timed out after 45s")

    @tool
    def helm_upgrade(service: str, version: str, environment: str) -> str:
        """Upgrade a service's Helm release."""
        return f"upgraded {service} to {version} in {environment}"

    ansible_run.handle_tool_error = True
    tools = [kubectl_deploy, ansible_run, helm_upgrade]
    model = ScriptedDevOpsModel(seed=3)
    writer = GenericFakeChatModel(
        messages=iter(
            [AIMessage("<prompt>You are a DevOps agent. Prefer kubectl_deploy.</prompt>")] * 20
        )
    )
    return {
        "tools": tools,
        "agent_tools": tools,
        "tool": kubectl_deploy,
        "kubectl_deploy": kubectl_deploy,
        "ansible_run": ansible_run,
        "helm_upgrade": helm_upgrade,
        "model": model,
        "llm": model,
        "chat_model": writer,
        "agent": create_agent(model, tools),
        "inputs": {"messages": [("user", "Deploy checkout version 1.2.3 to production.")]},
        "current": "You are a DevOps agent.",
        "tasks": ["Deploy checkout version 1.2.3 to production."],
        "score": lambda prompt, task: 1.0 if "kubectl" in prompt else 0.5,
    }


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_the_page_runs(
    page: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> None:
    """The page's blocks, run in order as a reader would: none raises, none exits non-zero."""
    blocks = list(snippets(page))
    runnable = [s for s in blocks if not s.mark.startswith(("skip", "output"))]
    if not runnable:
        pytest.skip("no runnable block")
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    env.pop("OPENAI_API_KEY", None)
    if any(s.mark == "server" for s in runnable):
        server = request.getfixturevalue("chroma_server")
        env["TOOLWISE_URL"] = server.url
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    namespace = _your_agent()
    opened: list[Any] = []
    try:
        for snippet in runnable:
            if snippet.kind == "python":
                code = compile(snippet.code, str(snippet), "exec")
                try:
                    exec(code, namespace)
                except Exception as exc:
                    raise AssertionError(f"{snippet} raised {exc!r}") from exc
                if "tw" in namespace and namespace["tw"] not in opened:
                    opened.append(namespace["tw"])
            else:
                for tw in opened:  # a shell command reads what the page's Python wrote
                    tw.flush()
                done = subprocess.run(
                    ["bash", "-euo", "pipefail", "-c", snippet.code],
                    cwd=tmp_path,
                    env=env,
                    capture_output=True,
                    text=True,
                    timeout=300,
                    check=False,
                )
                assert done.returncode == 0, f"{snippet} exited {done.returncode}:\n{done.stderr}"
    finally:
        for tw in opened:
            tw.close()
