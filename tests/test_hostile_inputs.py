"""Hostile arguments to every public method of the front door: a ToolwiseError, never a crash.

The table is built from the signatures (``inspect``), so a method or argument added later is
walked too. Each argument of each method is given, in turn, every value of :data:`HOSTILE`
while the others keep a valid value. The method may accept the value (``"x"`` is a fine agent
id) or refuse it with a :class:`ToolwiseError`; when it refuses with an
:class:`InvalidArgumentError`, ``.field`` names the argument. A raw ``TypeError``,
``AttributeError``, ``ValueError`` or ``OverflowError`` fails the test (issue 10, item 4).
"""

from __future__ import annotations

import inspect
import math
import re
import sys
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from langchain_core.tools import tool

from toolwise import Toolwise
from toolwise.errors import InvalidArgumentError, ToolwiseError

HOSTILE: tuple[Any, ...] = (None, "", "x", -1, 10**30, math.nan, math.inf, [None], object())

SKIP = {
    # the async twins run the same method in a thread (checked through their sync twin)
    "aclose", "aflush", "aforget", "aget_call", "alist_calls", "apersist", "apriors",
    "arecommend", "arecord", "asummary",
    "close",  # walked last, on its own instance: test_close_refuses_hostile_timeouts
}  # fmt: skip


@tool
def deploy(service: str) -> str:
    """Deploy a service."""
    return f"deployed {service}"


@tool
def deploy_with_helm(service: str) -> str:
    """Deploy a service with Helm."""
    return f"upgraded {service}"


VALID: dict[str, Any] = {
    "name": "deploy_pool",
    "providers": [deploy, deploy_with_helm],
    "tool": "kubectl_deploy",
    "task_type": "production_deploy",
    "tools": ["kubectl_deploy", "ansible_run"],
    "task": "deploy the web app",
    "call_id": "no-such-call",
    "current": "You are a DevOps agent.",
    "rate": 0.5,
    "success": True,
}
EXTRA: dict[str, dict[str, Any]] = {  # keywords a method needs to get past its first check
    "preselect_node": {"tools": [deploy]},
    "pre_model_hook": {"tools": [deploy]},
}


def _valid(method: str, name: str) -> Any:
    if method == "instrument" and name == "tool":
        return deploy
    return VALID[name]


def _keywords(function: Callable[..., Any]) -> list[str]:
    """Names a ``**labels: Unpack[SomeTypedDict]`` accepts (read from the annotation)."""
    names: list[str] = []
    namespace = vars(sys.modules[function.__module__])
    for parameter in inspect.signature(function).parameters.values():
        shown = str(parameter.annotation)
        found = re.search(r"Unpack\[(\w+)\]", shown)
        if parameter.kind is parameter.VAR_KEYWORD and found:
            names.extend(namespace[found.group(1)].__annotations__)
    return names


@dataclass(frozen=True)
class Case:
    """One method, one argument given one hostile value, the others valid."""

    method: str
    argument: str
    positional: dict[str, Any]
    keyword: dict[str, Any]
    value: Any
    known: frozenset[str]

    def __str__(self) -> str:
        return f"{self.method}-{self.argument}-{type(self.value).__name__}:{str(self.value)[:12]}"


def _cases() -> Iterator[Case]:
    for name, member in inspect.getmembers(Toolwise, inspect.isfunction):
        if name.startswith("_") or name in SKIP:
            continue
        signature = inspect.signature(member)
        params = [p for p in signature.parameters.values() if p.name != "self"]
        positional: dict[str, Any] = {}
        keyword: dict[str, Any] = {}
        for p in params:
            if p.default is p.empty and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL):
                target = positional if p.kind is p.POSITIONAL_ONLY else keyword
                target[p.name] = _valid(name, p.name)
        keyword.update(EXTRA.get(name, {}))
        names = [
            p.name for p in params if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)
        ] + _keywords(member)
        if name == "record":
            names = ["agent_id", "tool", "outcome", "latency_ms", "cost", "timestamp", "metadata"]
            keyword = {"tool": "t", "outcome": "success"}
        for argument in names:
            for value in HOSTILE:
                yield Case(name, argument, positional, keyword, value, frozenset(names))


CASES = list(_cases())


@pytest.fixture(scope="module")
def tw(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Toolwise]:
    with Toolwise(tmp_path_factory.mktemp("hostile") / "store") as instance:
        instance.record(agent_id="default", tool="kubectl_deploy", outcome="success")
        yield instance


def _root(field: str) -> str:
    match = re.match(r"\w+", field)
    return match.group(0) if match else field


def _refused_as(tw: Toolwise, case: Case) -> str | None:
    """Call the method; the field an InvalidArgumentError named, or None if none was raised.
    Any exception that is not a ToolwiseError propagates (and fails the test)."""
    args = dict(case.positional)
    kwargs = dict(case.keyword)
    if case.argument in args:
        args[case.argument] = case.value
    else:
        kwargs[case.argument] = case.value
    try:
        with warnings.catch_warnings():  # a deprecated name warns, on purpose
            warnings.simplefilter("ignore", DeprecationWarning)
            getattr(tw, case.method)(*args.values(), **kwargs)
    except InvalidArgumentError as exc:
        return exc.field
    except ToolwiseError:
        return None
    return None


@pytest.mark.parametrize("case", CASES, ids=str)
def test_hostile_argument_is_refused_or_accepted_never_a_crash(tw: Toolwise, case: Case) -> None:
    field = _refused_as(tw, case)
    assert field is None or _root(field) in case.known | {"fields", "costs"}, (
        f"{case}: named {field!r}"
    )


@pytest.mark.parametrize("value", HOSTILE)
def test_close_refuses_hostile_timeouts(tmp_path: Path, value: Any) -> None:
    tw = Toolwise(tmp_path / "store")
    try:
        field = _refused_as(tw, Case("close", "timeout", {}, {}, value, frozenset({"timeout"})))
        assert field in (None, "timeout")
    finally:
        tw.close()


SETTINGS = [
    "path", "batch_size", "max_payload_chars", "refresh_interval", "max_backoff", "ttl",
    "durability", "fsync", "prefix", "spool_dir", "clock", "timer", "url",
]  # fmt: skip


@pytest.mark.parametrize("setting", SETTINGS)
@pytest.mark.parametrize("value", [v for v in HOSTILE if v is not None])
def test_hostile_setting_is_refused_naming_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, setting: str, value: Any
) -> None:
    monkeypatch.chdir(tmp_path)
    kwargs: dict[str, Any] = {setting: value}
    if setting != "path":
        kwargs["path"] = tmp_path / "store"
    if setting == "spool_dir" and isinstance(value, str) and value:
        kwargs["spool_dir"] = tmp_path / value  # a relative name is a fine directory
    field: str | None = None
    try:
        Toolwise(**kwargs).close()
    except InvalidArgumentError as exc:
        field = exc.field
    assert field is None or _root(field) == setting, f"{setting}={value!r} named {field!r}"


def _listed(tw: Toolwise) -> list[tuple[str, Callable[[], object]]]:
    """The bad arguments issue 10 lists, each with the field its error must name."""
    nan = math.nan
    return [
        ("limit", lambda: tw.list_calls(limit="10")),
        ("tools", lambda: tw.recommend("deploy", [None])),
        ("tools", lambda: tw.recommend("deploy", "abc")),
        ("task", lambda: tw.lessons(None)),
        ("since", lambda: tw.audit(since="x")),
        ("timestamp", lambda: tw.record(tool="t", outcome="success", timestamp=datetime.max)),
        ("ids", lambda: tw.forget("default", ids=[None])),
        ("ids", lambda: tw.forget("default", ids=[])),
        ("ids", lambda: tw.forget("default", ids=["", " "])),
        ("ids", lambda: tw.forget("default", ids="abc")),
        ("judge", lambda: tw.callback(judge=5)),
        ("metadata", lambda: tw.record(tool="t", outcome="success", metadata={"w": nan})),
        ("latency_ms", lambda: tw.record(tool="t", outcome="success", latency_ms=nan)),
        ("cost", lambda: tw.record(tool="t", outcome="success", cost=math.inf)),
        ("weight", lambda: tw.observe("t", True, weight=math.inf)),
        ("latency_ms", lambda: tw.observe("t", True, latency_ms=nan)),
        ("rate", lambda: tw.seed_prior("t", nan)),
        ("strength", lambda: tw.seed_prior("t", 0.5, math.inf)),
        ("objective", lambda: tw.recommend("deploy", ["a"], objective={"success": nan})),
        ("timeout", lambda: tw.flush(timeout=nan)),
    ]


def test_each_listed_bad_argument_is_refused_naming_its_field(tw: Toolwise) -> None:
    before = len(tw.list_calls(limit=1000))
    for field, call in _listed(tw):
        with pytest.raises(InvalidArgumentError) as caught:
            call()
        assert _root(caught.value.field) == field, f"{field}: named {caught.value.field!r}"
    assert len(tw.list_calls(limit=1000)) == before  # nothing refused was recorded or deleted


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        ({"batch_size": "5"}, "batch_size"),
        ({"max_payload_chars": -1}, "max_payload_chars"),
        ({"refresh_interval": -5}, "refresh_interval"),
        ({"refresh_interval": math.nan}, "refresh_interval"),
        ({"max_backoff": math.inf}, "max_backoff"),
        ({"ttl": 5}, "ttl"),
    ],
)
def test_listed_bad_settings_are_refused_naming_them(
    tmp_path: Path, settings: dict[str, Any], field: str
) -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        Toolwise(tmp_path / "store", **settings)
    assert caught.value.field == field
    assert not (tmp_path / "store").exists()  # refused before anything was opened


@pytest.mark.parametrize("path", [12345, "/etc/passwd", "", "   "])
def test_a_path_that_cannot_be_a_store_is_refused(path: Any) -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        Toolwise(path)
    assert caught.value.field == "path"


@pytest.mark.parametrize("value", ["/etc/passwd", "   "])
def test_a_toolwise_path_that_cannot_be_a_store_is_refused_naming_the_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    """``$TOOLWISE_PATH`` is the default ``path``: a file raised a raw NotADirectoryError from
    inside Chroma, and blanks made a directory named by spaces."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TOOLWISE_PATH", value)
    with pytest.raises(InvalidArgumentError) as caught:
        Toolwise()
    assert caught.value.field == "TOOLWISE_PATH"
    assert list(tmp_path.iterdir()) == []
