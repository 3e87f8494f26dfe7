"""The example's chat model: scripted and offline by default, OpenAI when a key is set.

The scripted model behaves like an LLM with a habit: left alone it reaches for
``ansible_run`` (its training prior), but when toolwise's brief ranks a tool first it follows
that advice most of the time (``follow``), and it always obeys a forced ``tool_choice``.
"""

from __future__ import annotations

import os
import random
import re
from collections.abc import Sequence
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.runnables import Runnable
from pydantic import ConfigDict, PrivateAttr

__all__ = ["ScriptedDevOpsModel", "make_model"]

_TOP = re.compile(r"^1\. ([A-Za-z0-9_.-]+):", re.MULTILINE)
_ROUTE = re.compile(r"Route: call ([A-Za-z0-9_.-]+) now")
_REQUEST = re.compile(r"Deploy (\S+)(?: \(Helm chart\))? version (\S+) to (\w+)\.")
HABIT = {"ansible_run": 0.6, "kubectl_deploy": 0.15, "terraform_apply": 0.15, "helm_upgrade": 0.1}


class ScriptedDevOpsModel(BaseChatModel):
    """A deterministic stand-in for an LLM that picks deploy tools.

    Args:
        follow: probability of following the brief's top-ranked tool when there is a brief.
        seed: seeds the model's own randomness.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    follow: float = 0.85
    seed: int = 7
    _rng: random.Random = PrivateAttr()
    _calls: int = PrivateAttr(default=0)

    def model_post_init(self, context: Any, /) -> None:
        self._rng = random.Random(self.seed)

    @property
    def _llm_type(self) -> str:
        return "scripted-devops"

    def bind_tools(
        self,
        tools: Sequence[Any],
        *,
        tool_choice: Any = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, BaseMessage]:
        names = [t if isinstance(t, str) else getattr(t, "name", None) or t["name"] for t in tools]
        return self.bind(tool_names=names, tool_choice=tool_choice)

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        *,
        tool_names: Sequence[str] = (),
        tool_choice: Any = None,
        **kwargs: Any,
    ) -> ChatResult:
        last = messages[-1]
        if isinstance(last, ToolMessage):
            verdict = "failed" if last.status == "error" else "done"
            reply = AIMessage(content=f"Deploy {verdict}: {str(last.content)[:120]}")
            return ChatResult(generations=[ChatGeneration(message=reply)])
        request = next((m for m in reversed(messages) if isinstance(m, HumanMessage)), None)
        brief = "\n".join(str(m.content) for m in messages if isinstance(m, SystemMessage))
        tool = self._choose(brief, list(tool_names), tool_choice)
        match = _REQUEST.search(str(request.content) if request else "")
        service, version, environment = match.groups() if match else ("app", "1.0", "staging")
        self._calls += 1
        call = {
            "name": tool,
            "args": {"service": service, "version": version, "environment": environment},
            "id": f"call_{self.seed}_{self._calls}",
            "type": "tool_call",
        }
        message = AIMessage(content="", tool_calls=[call])
        return ChatResult(generations=[ChatGeneration(message=message)])

    def _choose(self, brief: str, tools: list[str], tool_choice: Any) -> str:
        forced = _forced(tool_choice) or _first(_ROUTE, brief)
        if forced in tools:
            return forced
        top = _first(_TOP, brief)
        if top in tools and self._rng.random() < self.follow:
            return top
        weights = [HABIT.get(t, 0.05) for t in tools]
        return self._rng.choices(tools, weights=weights)[0] if tools else "ansible_run"


def _first(pattern: re.Pattern[str], text: str) -> str | None:
    match = pattern.search(text)
    return match.group(1) if match else None


def _forced(tool_choice: Any) -> str | None:
    if isinstance(tool_choice, str) and tool_choice not in ("auto", "any", "none", "required"):
        return tool_choice
    if isinstance(tool_choice, dict):
        function = tool_choice.get("function") or {}
        return function.get("name") or tool_choice.get("name")
    return None


def make_model(seed: int) -> BaseChatModel:
    """A real OpenAI model when ``OPENAI_API_KEY`` is set (``pip install toolwise[openai]``),
    else the scripted one."""
    if os.environ.get("OPENAI_API_KEY"):
        import httpx
        from langchain_openai import ChatOpenAI

        return ChatOpenAI(
            model=os.environ.get("TOOLWISE_EXAMPLE_MODEL", "gpt-4o-mini"),
            temperature=0,
            # plain httpx clients: the SDK's default transport is not interceptable by respx
            http_client=httpx.Client(),
            http_async_client=httpx.AsyncClient(),
        )
    return ScriptedDevOpsModel(seed=seed)
