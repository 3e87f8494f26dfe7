"""``import toolwise`` stays light: LangChain, LangSmith, scipy and Chroma are imported when
something needs them, not with the package (a cold start is timed from the first import)."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys

import pytest

HEAVY = ("langchain_core", "langsmith", "scipy", "chromadb")


def _imported_after(code: str, modules: tuple[str, ...] = HEAVY) -> list[str]:
    found = f"[m for m in {modules!r} if m in sys.modules]"
    probe = f"{code}\nimport json, sys\nprint(json.dumps({found}))"
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    )
    return list(json.loads(done.stdout.splitlines()[-1]))


def test_importing_the_front_door_imports_no_heavy_dependency() -> None:
    assert _imported_after("from toolwise import Toolwise, LearningConfig, ToolOutcome") == []


def test_the_runtime_and_the_subpackages_import_light_too() -> None:
    code = "import toolwise.advice, toolwise.improve, toolwise.improve.sandbox, toolwise._runtime"
    assert _imported_after(code) == []


def test_the_front_door_leaves_the_sandbox_runner_and_the_brief_models_for_later() -> None:
    """Every runtime registers its store with the sandbox and ``Toolwise``'s signatures name the
    brief's options, yet a cold start needs neither the sandbox's runner nor ``AdviceOptions``."""
    later = ("toolwise.improve.sandbox._runner", "toolwise.advice.models")
    assert _imported_after("import toolwise._facade, toolwise._runtime", later) == []


@pytest.mark.parametrize(
    "package", ["toolwise", "toolwise.advice", "toolwise.improve", "toolwise.improve.sandbox"]
)
def test_every_exported_name_resolves(package: str) -> None:
    module = importlib.import_module(package)
    for name in module.__all__:
        assert getattr(module, name) is not None, name
        assert name in dir(module)


def test_an_unknown_name_of_a_lazy_package_is_an_attribute_error() -> None:
    import toolwise.advice

    with pytest.raises(AttributeError, match="Advsor"):
        _ = toolwise.advice.Advsor  # type: ignore[attr-defined]
