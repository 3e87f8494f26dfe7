"""The front door: about twenty names, typed options that match the models, one word per
concept (old words still work for one release, with a warning), and the version."""

from __future__ import annotations

import importlib
import importlib.metadata
import typing

import pytest

import toolwise
from toolwise import AdviceOptions, Toolwise
from toolwise.advice import AdviceFields, BriefOptions
from toolwise.recording import RecordingLabels


def test_the_public_surface_is_small() -> None:
    assert len(toolwise.__all__) <= 22
    for name in toolwise.__all__:
        assert getattr(toolwise, name) is not None


def test_the_version_comes_from_package_metadata() -> None:
    assert toolwise.__version__ == importlib.metadata.version("toolwise")


@pytest.mark.parametrize("name", sorted(toolwise._MOVED))
def test_a_moved_name_still_imports_from_the_top_with_a_warning(name: str) -> None:
    home = importlib.import_module(toolwise._MOVED[name])
    with pytest.warns(DeprecationWarning, match=toolwise._MOVED[name]):
        assert getattr(toolwise, name) is getattr(home, name)


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="Toolwse"):
        _ = toolwise.Toolwse  # type: ignore[attr-defined]


def test_the_typed_advice_keywords_match_the_options_model() -> None:
    """A field added to AdviceOptions must be added to the typed keywords too (and back)."""
    assert set(typing.get_type_hints(AdviceFields)) == set(AdviceOptions.model_fields)
    assert set(BriefOptions.__annotations__).isdisjoint(RecordingLabels.__annotations__)


def test_a_misspelt_option_is_named_at_run_time_too(tw: Toolwise) -> None:
    with pytest.raises(toolwise.InvalidArgumentError) as info:
        tw.middleware(top_kk=3)  # type: ignore[call-arg]
    assert info.value.field == "top_kk"


def test_examples_is_the_deprecated_name_of_demonstrations() -> None:
    with pytest.warns(DeprecationWarning, match="demonstrations"):
        options = AdviceOptions(examples=2)  # type: ignore[call-arg]
    assert options.demonstrations == 2
    with pytest.warns(DeprecationWarning, match="demonstrations"):
        assert options.examples == 2


def test_giving_both_names_with_different_values_is_refused() -> None:
    with (
        pytest.raises(toolwise.InvalidArgumentError) as info,
        pytest.warns(DeprecationWarning, match="examples"),
    ):
        AdviceOptions(examples=2, demonstrations=3)  # type: ignore[call-arg]
    assert info.value.field == "examples"


def test_priors_takes_task_type_and_the_deprecated_context_class(tw: Toolwise) -> None:
    tw.observe("deploy", True, task_type="release")
    tw.observe("deploy", False, task_type="rollback")
    assert [p.context_class for p in tw.priors("deploy", task_type="release")] == ["release"]
    with pytest.warns(DeprecationWarning, match="task_type"):
        old = tw.priors("deploy", context_class="rollback")
    assert [p.context_class for p in old] == ["rollback"]


def test_a_toolwise_can_wrap_an_existing_runtime(tw: Toolwise) -> None:
    wrapper = Toolwise(runtime=tw.runtime)
    assert wrapper.runtime is tw.runtime
    with pytest.raises(toolwise.InvalidArgumentError, match="runtime"):
        Toolwise(runtime=tw.runtime, ttl=None)
