"""The evidence index: each record created once and findable by scope, agent and tool, and
forgotten with everything that points at it (``learning/index.py``)."""

from __future__ import annotations

from toolwise.learning import LearningConfig
from toolwise.learning.index import EvidenceIndex


def _index(*keys: tuple[str, str, str, str]) -> EvidenceIndex:
    index = EvidenceIndex(LearningConfig())
    for key in keys:
        index.context(key)
    return index


def test_a_context_is_created_once_and_indexed() -> None:
    """The second lookup returns the same record; the scope, agent and tool indexes know it."""
    index = _index(("ops", "helm", "deploy", "prod"))
    assert (
        index.context(("ops", "helm", "deploy", "prod"))
        is index.contexts[("ops", "helm", "deploy", "prod")]
    )
    assert index.tools_in("ops", "deploy", "prod") == {"helm"}
    assert index.task_types_of("ops") == ["deploy"]
    assert index.tool_contexts[("ops", "helm", "prod")] == [
        index.contexts[("ops", "helm", "deploy", "prod")]
    ]


def test_environments_are_those_of_the_tools_overall_records() -> None:
    """``environments_of`` lists, sorted, where the agent's tools have an overall record."""
    index = _index()
    for env in ("staging", "prod"):
        index.tool_overall(("ops", "helm", env))
    index.tool_overall(("other", "helm", "dev"))
    assert index.environments_of("ops") == ["prod", "staging"]


def test_forgetting_a_tool_keeps_the_agents_other_tools() -> None:
    """The tool's records, seeds and index entries go; its neighbours' stay."""
    index = _index(("ops", "helm", "deploy", ""), ("ops", "kubectl", "deploy", ""))
    index.seeds[("ops", "helm", None, None)] = (9.0, 1.0)
    index.forget("ops", "helm")
    assert list(index.contexts) == [("ops", "kubectl", "deploy", "")]
    assert index.seeds == {}
    assert index.tools_in("ops", "deploy", "") == {"kubectl"}
    assert index.task_types_of("ops") == ["deploy"]


def test_forgetting_an_agent_leaves_no_trace_of_it() -> None:
    """Every index forgets the agent; another agent's evidence is untouched."""
    index = _index(("ops", "helm", "deploy", ""), ("qa", "helm", "deploy", ""))
    index.forget("ops", None)
    assert index.task_types_of("ops") == []
    assert index.tools_in("ops", "deploy", "") == frozenset()
    assert list(index.contexts) == [("qa", "helm", "deploy", "")]


def test_the_most_specific_seed_of_a_scope_applies() -> None:
    """Task type and environment first, then task type, environment, the tool alone."""
    index = _index()
    index.seeds[("ops", "helm", None, None)] = (1.0, 1.0)
    index.seeds[("ops", "helm", "deploy", None)] = (2.0, 2.0)
    assert index.seed_for(("ops", "helm", "deploy", "prod")) == (2.0, 2.0)
    assert index.seed_for(("ops", "helm", "search", "prod")) == (1.0, 1.0)
    assert index.seed_for(("ops", "kubectl", "deploy", "prod")) == (0.0, 0.0)
