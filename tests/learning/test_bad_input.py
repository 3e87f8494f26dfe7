"""Bad input fails fast with an InvalidArgumentError that names the argument."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from toolwise.errors import InvalidArgumentError
from toolwise.learning import LearningConfig, ObjectiveWeights, ReliabilityView


def test_empty_tools_names_tools(view: ReliabilityView) -> None:
    """An empty candidate list is rejected naming ``tools``."""
    with pytest.raises(InvalidArgumentError) as caught:
        view.recommend(task_type="deploy", tools=[])
    assert caught.value.field == "tools"


def test_a_bare_string_as_tools_names_tools(view: ReliabilityView) -> None:
    """A single string is not silently split into characters."""
    with pytest.raises(InvalidArgumentError) as caught:
        view.recommend(task_type="deploy", tools="kubectl_deploy")
    assert caught.value.field == "tools"


def test_blank_tool_name_names_tools(view: ReliabilityView) -> None:
    """A blank name among the candidates is rejected naming ``tools``."""
    with pytest.raises(InvalidArgumentError) as caught:
        view.recommend(task_type="deploy", tools=["kubectl_deploy", " "])
    assert caught.value.field == "tools"


def test_negative_weight_names_weight(view: ReliabilityView) -> None:
    """A negative observation weight is rejected naming ``weight``."""
    with pytest.raises(InvalidArgumentError) as caught:
        view.observe("kubectl_deploy", True, weight=-1.0)
    assert caught.value.field == "weight"


@pytest.mark.parametrize("weight", [float("nan"), float("inf")])
def test_non_finite_weight_names_weight(view: ReliabilityView, weight: float) -> None:
    """A NaN or infinite observation weight is rejected naming ``weight``."""
    with pytest.raises(InvalidArgumentError) as caught:
        view.observe("kubectl_deploy", True, weight=weight)
    assert caught.value.field == "weight"


@pytest.mark.parametrize("success", [1.5, -0.1, float("nan"), "yes"])
def test_success_outside_unit_interval_names_success(view: ReliabilityView, success: Any) -> None:
    """A success that is neither a bool nor in [0, 1] is rejected naming ``success``."""
    with pytest.raises(InvalidArgumentError) as caught:
        view.observe("kubectl_deploy", success)
    assert caught.value.field == "success"


def test_unknown_strategy_names_strategy(view: ReliabilityView) -> None:
    """An unknown strategy is rejected naming ``strategy``."""
    with pytest.raises(InvalidArgumentError) as caught:
        view.recommend(task_type="deploy", tools=["a"], strategy="softmax")  # type: ignore[arg-type]
    assert caught.value.field == "strategy"


def test_unknown_objective_names_objective(view: ReliabilityView) -> None:
    """An unknown objective name is rejected naming ``objective``."""
    with pytest.raises(InvalidArgumentError) as caught:
        view.recommend(task_type="deploy", tools=["a"], objective="fastest")  # type: ignore[arg-type]
    assert caught.value.field == "objective"


@pytest.mark.parametrize(
    "objective",
    [
        {"success": -0.5, "speed": 1.0},
        {"success": 0.0, "speed": 0.0, "cost": 0.0},
        {"reliability": 1.0},
        {"success": float("inf")},
    ],
)
def test_bad_objective_weights_name_objective(
    view: ReliabilityView, objective: dict[str, float]
) -> None:
    """Negative, all-zero, unknown or infinite weights are rejected naming ``objective``."""
    with pytest.raises(InvalidArgumentError) as caught:
        view.recommend(task_type="deploy", tools=["a"], objective=objective)
    assert caught.value.field == "objective"


def test_negative_objective_weights_model_names_the_weight() -> None:
    """Building ObjectiveWeights directly with a negative weight names that weight."""
    with pytest.raises(InvalidArgumentError) as caught:
        ObjectiveWeights(success=1.0, speed=-1.0)
    assert caught.value.field == "speed"


def test_negative_seed_names_seed(view: ReliabilityView) -> None:
    """A negative seed is rejected naming ``seed`` (numpy would raise its own error)."""
    with pytest.raises(InvalidArgumentError) as caught:
        view.recommend(task_type="deploy", tools=["a"], seed=-1)
    assert caught.value.field == "seed"


@pytest.mark.parametrize("name", ["latency_ms", "cost"])
def test_negative_latency_or_cost_names_it(view: ReliabilityView, name: str) -> None:
    """A negative latency or cost is rejected naming the argument."""
    kwargs: dict[str, Any] = {name: -1.0}
    with pytest.raises(InvalidArgumentError) as caught:
        view.observe("kubectl_deploy", True, **kwargs)
    assert caught.value.field == name


def test_unknown_tool_names_are_fine(view: ReliabilityView) -> None:
    """Tools never seen before are ranked, not rejected (cold start)."""
    ranked = view.recommend(task_type="deploy", tools=["never_seen", "also_new"])
    assert {r.tool for r in ranked} == {"never_seen", "also_new"}


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"half_life": timedelta(0)}, "half_life"),
        ({"infra_window": timedelta(seconds=-5)}, "infra_window"),
        ({"epsilon": 1.5}, "epsilon"),
        ({"change_delta": 0.0}, "change_delta"),
        ({"latency_ceiling_ms": float("inf")}, "latency_ceiling_ms"),
        ({"infra_min_tools": 1}, "infra_min_tools"),
        ({"time_buckets": "minute"}, "time_buckets"),
        ({"restart_on": "return"}, "restart_on"),
        ({"time_zone": "Mars/Olympus_Mons"}, "time_zone"),
        ({"similarity_threshold": -0.1}, "similarity_threshold"),
        ({"unknown_knob": 1}, "unknown_knob"),
    ],
)
def test_bad_config_names_the_field(kwargs: dict[str, Any], field: str) -> None:
    """LearningConfig rejects bad values with an InvalidArgumentError naming the field."""
    with pytest.raises(InvalidArgumentError) as caught:
        LearningConfig(**kwargs)
    assert caught.value.field == field
