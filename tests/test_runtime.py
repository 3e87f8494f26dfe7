"""``record`` and ``observe`` go through the one record path: nothing invalid is counted,
learnt or acknowledged, and every label, tag and metadata value is redacted."""

from __future__ import annotations

import warnings

import pytest
from langchain_core.tools import tool

from toolwise import InvalidAgentIdError, InvalidArgumentError, ToolOutcome, Toolwise
from toolwise.recording.redact import REDACTED

SECRET = "sk-" + "a1B2c3D4e5F6g7H8i9J0"


@tool
def deploy(service: str) -> str:
    """Deploy a service."""
    return f"deployed {service}"


def test_observe_with_a_bad_agent_id_counts_nothing(tw: Toolwise) -> None:
    """The agent id is checked before anything is learnt or spooled (it used to be learnt
    first, then refused by a second validator)."""
    with pytest.raises(InvalidAgentIdError):
        tw.observe("deploy", True, agent_id="a" * 250)
    assert tw.runtime.view().priors(agent_id=None) == []  # no agent learnt anything
    assert tw.counters.recorded == 0


@pytest.mark.parametrize("field", ["latency_ms", "cost"])
def test_observe_with_a_non_finite_measure_counts_nothing(tw: Toolwise, field: str) -> None:
    with pytest.raises(InvalidArgumentError) as info:
        tw.observe("deploy", True, **{field: float("nan")})  # type: ignore[arg-type]
    assert info.value.field == field
    assert tw.priors() == []
    assert tw.counters.recorded == 0


def test_observe_records_then_reads_the_prior_back(tw: Toolwise) -> None:
    """The returned prior is the learnt one, and the observation is a stored record."""
    prior = tw.observe("deploy", 0.75, task_type="release", environment="prod", weight=2.0)
    [learnt] = tw.priors("deploy", "release", environment="prod")
    assert (
        (prior.id, prior.observations)
        == (learnt.id, learnt.observations)
        == (
            "default|deploy|release|prod",
            1,
        )
    )
    [stored] = tw.list_calls()
    assert (stored.source, stored.quality, stored.metadata) == ("observe", 0.75, {"weight": 2.0})


@pytest.mark.parametrize(
    "label",
    ["x" * 600, f"password={SECRET}", "half a surrogate \ud800"],
    ids=["too long", "secret", "surrogate"],
)
@pytest.mark.parametrize("field", ["task_type", "environment"])
def test_observe_answers_the_prior_of_the_label_as_stored(
    tw: Toolwise, field: str, label: str
) -> None:
    """A label the record builder cuts, redacts or re-encodes is learnt as stored, and that
    prior is the answer (it used to look for the label as given: ``IndexError``)."""
    prior = tw.observe("deploy", True, **{field: label})  # type: ignore[arg-type]
    [stored] = tw.list_calls()
    assert getattr(stored, field) != label
    stored_as = (prior.context_class, prior.environment)
    assert stored_as == (stored.task_type, stored.environment)
    assert prior.observations == 1


@pytest.mark.parametrize("field", ["latency_ms", "cost"])
def test_a_measure_too_large_to_sum_is_refused_as_over_http(tw: Toolwise, field: str) -> None:
    """``record(cost=1e308)`` used to be stored: two of them made the summary's total cost
    infinite (``null`` in JSON) and the CLI print a 309-digit latency."""
    with pytest.raises(InvalidArgumentError) as info:
        tw.record(tool="deploy", **{field: 1e308})
    assert info.value.field == field
    with pytest.raises(InvalidArgumentError) as info:
        tw.observe("deploy", True, **{field: 1e308})  # type: ignore[arg-type]
    assert info.value.field == field
    assert tw.counters.recorded == 0


def test_a_cost_estimate_too_large_to_record_is_refused_when_the_tool_is_built(
    tw: Toolwise,
) -> None:
    """Not at each call, where its records would be refused one by one."""
    with pytest.raises(InvalidArgumentError) as info:
        tw.instrument(deploy, cost_estimate=1e13)
    assert info.value.field == "cost_estimate"
    with pytest.raises(InvalidArgumentError) as info:
        tw.callback(costs={"deploy": 1e13})
    assert info.value.field == "costs['deploy']"


def test_a_blank_id_is_refused_as_forget_and_get_call_refuse_it(tw: Toolwise) -> None:
    """``record(id=" ")`` used to be stored, and then could not be read or forgotten by id."""
    with pytest.raises(InvalidArgumentError) as info:
        tw.record(tool="deploy", id=" ")
    assert info.value.field == "id"
    assert tw.counters.recorded == 0


def test_context_class_still_works_with_a_deprecation_warning(tw: Toolwise) -> None:
    with pytest.warns(DeprecationWarning, match="task_type"):
        prior = tw.observe("deploy", True, context_class="release")
    assert prior.context_class == "release"


def test_the_new_name_raises_no_warning(tw: Toolwise) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        tw.observe("deploy", True, task_type="release")
    assert not [w for w in caught if "context_class" in str(w.message)]


def test_record_refuses_non_finite_metadata_and_acknowledges_nothing(tw: Toolwise) -> None:
    """``record(metadata={"w": nan})`` used to be acknowledged, then lost at replay."""
    with pytest.raises(InvalidArgumentError) as info:
        tw.record(tool="deploy", metadata={"w": float("nan")})
    assert info.value.field == "metadata['w']"
    assert tw.counters.recorded == 0
    assert tw.flush(timeout=30)
    assert tw.list_calls() == []


def test_record_redacts_metadata_tags_and_labels_before_storage(tw: Toolwise) -> None:
    recorded = tw.record(
        tool="deploy",
        task_type=f"deploy {SECRET}",
        environment=f"prod {SECRET}",
        tags=(f"Bearer {SECRET}",),
        metadata={"api_key": "hunter2", "note": f"used {SECRET}"},
    )
    assert tw.flush(timeout=30)
    stored = tw.get_call(recorded.id)
    assert stored == recorded
    text = stored.model_dump_json()
    assert SECRET not in text
    assert "hunter2" not in text
    assert stored.metadata["api_key"] == REDACTED


def test_a_record_with_an_undecodable_output_is_stored(tw: Toolwise) -> None:
    """A lone surrogate (bytes decoded wrongly) cannot fail the spool: it is replaced."""
    recorded = tw.record(tool="deploy", tool_output="half \udcff read")
    assert tw.flush(timeout=30)
    assert tw.get_call(recorded.id) == recorded
    assert tw.counters.invalid == 0


def test_record_many_builds_every_record_before_spooling_any(tw: Toolwise) -> None:
    """One invalid record refuses the batch, named by its place; nothing is recorded."""
    batch = [{"tool": "deploy"}, {"tool": "rollback"}, {"tool": "deploy", "cost": -1.0}]
    with pytest.raises(InvalidArgumentError) as info:
        tw.runtime.record_many(batch)
    assert info.value.field == "[2].cost"
    assert tw.counters.recorded == 0


def test_record_many_redacts_fields_and_records_alike(tw: Toolwise) -> None:
    """Fields and a ``ToolOutcome`` made by the caller are redacted by the same rules."""
    given = ToolOutcome(tool="git_push", tool_input=f"token {SECRET}")
    stored = tw.runtime.record_many([{"tool": "git_push", "tool_input": f"token {SECRET}"}, given])
    assert [s.tool_input for s in stored] == [f"token {REDACTED}"] * 2
    assert tw.flush(timeout=30)
    assert sorted(tw.list_calls(), key=lambda o: o.id) == sorted(stored, key=lambda o: o.id)
