"""Secrets never reach disk: every entry point, every field, every file under the store path.

One module-scoped run records calls full of secrets through each entry point that exists —
``tw.record`` (every field, metadata values, tags and labels included), a ``@tool`` through
the callback handler, ``tw.instrument``, a ``ToolNode`` wrapper and ``create_agent`` with
``tw.middleware`` — with secrets in the arguments, the output, the error raised and the task
text; runs a self-improvement pass (lessons, audit); flushes and closes. Then every raw file
under the store path (Chroma's sqlite and segment files, the spool, knowledge collections) is
read as bytes and searched for each secret. Each case is its own test, so a failure names the
entry point and the field.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from langchain.agents import create_agent
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langchain_core.runnables import RunnableConfig, RunnableLambda
from langchain_core.tools import BaseTool, tool
from langgraph.graph import START, MessagesState, StateGraph
from langgraph.prebuilt import ToolNode, tools_condition
from tests.recording.secret_corpus import b64, rand

from toolwise import Toolwise

_ALNUM = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


def _secrets(case: str) -> dict[str, str]:
    """Fresh secrets of the issue's leaking kinds, unique to one case (so a hit names it)."""
    return {
        "jwt": "eyJhbGciOiJIUzI1NiJ9.eyJ" + rand(_ALNUM, 40) + "." + rand(_ALNUM, 43),
        "url": f"postgresql://app:{rand(_ALNUM, 14)}@db.internal:5432/{case}",
        "stripe": "sk_live_" + rand(_ALNUM, 24),
        "google": "AIza" + rand(_ALNUM, 35),
        "passphrase": '{"passphrase": "' + rand(_ALNUM, 6) + " " + rand(_ALNUM, 6) + '"}',
        "github": "ghp_" + rand(_ALNUM, 36),
        "pem": "-----BEGIN RSA PRIVATE KEY-----\n" + b64(64) + "\n-----END RSA PRIVATE KEY-----",
        "bearer": "Authorization: Bearer " + rand(_ALNUM, 32),
    }


def _cores(secrets: dict[str, str]) -> list[str]:
    """The part of each secret that must not appear anywhere (its random core)."""
    return [
        secrets["jwt"].split(".")[1],
        secrets["url"].split(":")[2].split("@")[0],
        secrets["stripe"],
        secrets["google"],
        secrets["passphrase"].split('"')[3],
        secrets["github"],
        secrets["pem"].split("\n")[1],
        secrets["bearer"].rsplit(" ", 1)[1],
    ]


def _text(secrets: dict[str, str]) -> str:
    return " | ".join(secrets.values())


@dataclass
class Disk:
    """What one run left on disk, and which secrets each case planted."""

    cases: dict[str, list[str]] = field(default_factory=dict)
    files: dict[Path, bytes] = field(default_factory=dict)
    tools_recorded: list[str] = field(default_factory=list)

    def plant(self, case: str) -> dict[str, str]:
        secrets = _secrets(case)
        self.cases[case] = _cores(secrets)
        return secrets

    def leaks(self, case: str) -> list[tuple[str, str]]:
        found = []
        for core in self.cases[case]:
            needles = {core.encode(), json.dumps(core)[1:-1].encode()}
            for path, data in self.files.items():
                if any(needle in data for needle in needles):
                    found.append((core, path.name))
        return found


class _Model(GenericFakeChatModel):
    def bind_tools(self, tools: Any, **kwargs: Any) -> _Model:  # type: ignore[override]
        return self


def _model(*calls: dict[str, Any]) -> _Model:
    turns = [AIMessage("", tool_calls=[c]) for c in calls] + [AIMessage("done")]
    return _Model(messages=iter(turns))


def _graph(model: _Model, node: ToolNode) -> Any:
    def think(state: MessagesState, config: RunnableConfig) -> dict[str, list[BaseMessage]]:
        return {"messages": [model.invoke(state["messages"], config)]}

    builder = StateGraph(MessagesState)
    builder.add_node("agent", RunnableLambda(think))
    builder.add_node("tools", node)
    builder.add_edge(START, "agent")
    builder.add_conditional_edges("agent", tools_condition)
    builder.add_edge("tools", "agent")
    return builder.compile()


def _tools(output: str, error: str) -> list[BaseTool]:
    @tool
    def fetch_config(service: str, options: dict[str, Any]) -> str:
        """Read a service's configuration."""
        return output

    @tool
    def rotate_key(service: str) -> str:
        """Rotate a service's key."""
        raise RuntimeError(error)

    return [fetch_config, rotate_key]


def _calls(args_secret: dict[str, str]) -> tuple[dict[str, Any], dict[str, Any]]:
    ok = {
        "name": "fetch_config",
        "args": {
            "service": "web",
            "options": {"dsn": args_secret["url"], "notes": _text(args_secret)},
        },
        "id": "c1",
    }
    failing = {"name": "rotate_key", "args": {"service": "web"}, "id": "c2"}
    return ok, failing


GraphBuilder = Callable[[Toolwise, list[BaseTool], _Model], tuple[Any, dict[str, Any]]]

LABELS: dict[str, Any] = {"agent_id": "ops", "task_type": "configure", "environment": "prod"}


def _callback(tw: Toolwise, tools: list[BaseTool], model: _Model) -> tuple[Any, dict[str, Any]]:
    return create_agent(model, tools), {"callbacks": [tw.callback(**LABELS)]}


def _instrument(tw: Toolwise, tools: list[BaseTool], model: _Model) -> tuple[Any, dict[str, Any]]:
    return _graph(model, ToolNode([tw.instrument(t, **LABELS) for t in tools])), {}


def _tool_node(tw: Toolwise, tools: list[BaseTool], model: _Model) -> tuple[Any, dict[str, Any]]:
    wrapper = tw.tool_wrapper(**LABELS)
    return _graph(model, ToolNode(tools, wrap_tool_call=wrapper, handle_tool_errors=True)), {}


def _middleware(tw: Toolwise, tools: list[BaseTool], model: _Model) -> tuple[Any, dict[str, Any]]:
    return create_agent(model, tools, middleware=[tw.middleware(**LABELS)]), {}


ENTRY_POINTS: dict[str, GraphBuilder] = {
    "callback": _callback,
    "instrument": _instrument,
    "tool node wrapper": _tool_node,
    "middleware": _middleware,
}
FIELDS = ("arguments", "output", "error", "task")
RECORD_FIELDS = ("tool_input", "tool_output", "error_message", "task")
RECORD_LABELS = ("metadata", "tags", "labels")


def _run_entry_point(tw: Toolwise, disk: Disk, entry: str) -> None:
    planted = {f: disk.plant(f"{entry}: {f}") for f in FIELDS}
    tools = _tools(output=_text(planted["output"]), error=_text(planted["error"]))
    ok, failing = _calls(planted["arguments"])
    runnable, config = ENTRY_POINTS[entry](tw, tools, _model(ok, failing))
    with suppress(RuntimeError):  # without an error handler the failing call ends the run
        runnable.invoke({"messages": [HumanMessage(_text(planted["task"]))]}, config)


def _run_record(tw: Toolwise, disk: Disk) -> None:
    fields: dict[str, Any] = {"tool": "fetch_config", "agent_id": "ops", "outcome": "failure"}
    for name in RECORD_FIELDS:
        secrets = disk.plant(f"record: {name}")
        fields[name] = {"config": secrets} if name == "tool_input" else _text(secrets)
    secrets = disk.plant("record: metadata")
    fields["metadata"] = {f"m{i}": value for i, value in enumerate(secrets.values())}
    fields["tags"] = tuple(disk.plant("record: tags").values())
    labels = disk.plant("record: labels")
    fields.update(
        task_type=labels["stripe"], environment=labels["google"],
        session_id=labels["github"], run_id=labels["jwt"],
    )  # fmt: skip
    tw.record(**fields)


@pytest.fixture(scope="module")
def disk(tmp_path_factory: pytest.TempPathFactory) -> Disk:
    """Record everything once, run an improvement pass, close, and read every file back."""
    root = tmp_path_factory.mktemp("store")
    found = Disk()
    tw = Toolwise(root, durability="deferred")
    try:
        _run_record(tw, found)
        for entry in ENTRY_POINTS:
            _run_entry_point(tw, found, entry)
        tw.improve("ops")  # lessons and their audit entries, learnt from the failures
        found.tools_recorded = sorted(r.tool for r in tw.list_calls("ops", limit=100))
    finally:
        tw.close()
    found.files = {p: p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}
    return found


def test_the_run_left_a_store_a_spool_and_records(disk: Disk) -> None:
    """The grep below is meaningful: Chroma's files exist and hold the records' text."""
    names = {path.name for path in disk.files}
    assert "chroma.sqlite3" in names
    assert disk.tools_recorded == ["fetch_config"] * 5 + ["rotate_key"] * 4
    assert any(b"[REDACTED]" in data for data in disk.files.values())


@pytest.mark.parametrize("name", RECORD_FIELDS)
def test_tw_record_never_stores_a_secret_in(disk: Disk, name: str) -> None:
    """``tw.record`` redacts its free-text fields, whatever object they are given as."""
    assert disk.leaks(f"record: {name}") == []


@pytest.mark.parametrize("name", RECORD_LABELS)
def test_tw_record_never_stores_a_secret_in_metadata_tags_or_labels(disk: Disk, name: str) -> None:
    """Metadata values, tags and labels pass the redactor too; ids holding a secret are
    stored as its digest (the one record path)."""
    assert disk.leaks(f"record: {name}") == []


@pytest.mark.parametrize("where", FIELDS)
@pytest.mark.parametrize("entry", list(ENTRY_POINTS))
def test_entry_points_never_store_a_secret(disk: Disk, entry: str, where: str) -> None:
    """Secrets in a tool's arguments, output, raised error or the task text stay off disk."""
    assert disk.leaks(f"{entry}: {where}") == []


def test_the_brief_quotes_recalled_failures_without_their_secrets(tw: Toolwise) -> None:
    """Recalled errors and tasks reach the model redacted: not even a JWT's start survives."""
    secrets = _secrets("brief")
    for _ in range(3):
        tw.record(
            tool="rotate_key", agent_id="ops", task_type="configure", outcome="failure",
            error_type="AuthError", error_message=f"rejected {secrets['jwt']}",
            task=f"rotate the key {secrets['stripe']} for web",
        )  # fmt: skip
    tw.record(tool="fetch_config", agent_id="ops", task_type="configure", outcome="success")
    advisor = tw.advisor(agent_id="ops", task_type="configure")

    brief = advisor.advise(
        [HumanMessage("rotate the web key")], tools=["rotate_key", "fetch_config"]
    )

    assert "AuthError" in brief.text  # the failure is quoted...
    assert "eyJ" not in brief.text  # ...without the token
    for core in _cores(secrets):
        assert core not in brief.text
