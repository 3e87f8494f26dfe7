"""Similar task types: the caller's similarity function, called off the lock, once per pair,
and never allowed to break a ranking (``learning/similar.py``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from toolwise.learning import LearningConfig, ReliabilityView
from toolwise.learning.similar import SimilarTasks

if TYPE_CHECKING:
    from conftest import FakeClock


def test_only_the_most_similar_above_the_threshold_are_kept() -> None:
    """Candidates below ``similarity_threshold`` are dropped; at most ``max_similar`` stay."""
    scores = {"a": 0.9, "b": 0.5, "c": 0.7, "d": 0.1}
    config = LearningConfig(similarity_threshold=0.4, max_similar=2)
    similar = SimilarTasks(lambda _task, other: scores[other], config)
    assert similar.among("new", list(scores)) == [("a", 0.9), ("c", 0.7)]


def test_without_a_function_or_a_task_type_none_are_wanted() -> None:
    """The view need not list candidates when nothing can be similar."""
    config = LearningConfig()
    assert not SimilarTasks(None, config).wanted("deploy")
    assert not SimilarTasks(lambda _a, _b: 1.0, config).wanted("")
    assert SimilarTasks(lambda _a, _b: 1.0, config).wanted("deploy")


def test_out_of_range_similarities_are_clamped() -> None:
    """A function that answers above 1 or NaN is read as 1 or "unrelated"."""
    scores = {"a": 7.0, "b": float("nan")}
    similar = SimilarTasks(lambda _task, other: scores[other], LearningConfig())
    assert similar.among("new", ["a", "b"]) == [("a", 1.0)]


def test_a_failing_similarity_function_does_not_break_ranking(clock: FakeClock) -> None:
    """If the similarity callable raises, the task types are treated as unrelated."""

    def broken(a: str, b: str) -> float:
        raise RuntimeError("embedding service down")

    view = ReliabilityView(similarity=broken, clock=clock)
    view.observe("a", True, context_class="x")
    ranked = view.recommend(task_type="y", tools=["a"], seed=1)
    assert ranked[0].tool == "a"


def test_similarity_is_computed_once_per_pair(clock: FakeClock) -> None:
    """Similarities are cached, so an embedding-backed function is not called per decision."""
    calls: list[tuple[str, str]] = []

    def counting(a: str, b: str) -> float:
        calls.append((a, b))
        return 0.8

    view = ReliabilityView(similarity=counting, clock=clock)
    view.observe("a", True, context_class="x")
    for seed in range(5):
        view.recommend(task_type="y", tools=["a"], seed=seed)
    assert calls == [("y", "x")]


def test_a_new_candidate_is_scored_when_asked_again() -> None:
    """An answer is remembered per set of candidates: one more candidate is scored and can
    enter the answer."""
    scores = {"a": 0.6, "b": 0.9}
    similar = SimilarTasks(lambda _task, other: scores[other], LearningConfig(max_similar=1))
    assert similar.among("new", ["a"]) == [("a", 0.6)]
    assert similar.among("new", ["a", "b"]) == [("b", 0.9)]


def test_an_answer_is_a_copy_the_caller_may_change() -> None:
    """Changing a returned list does not change the next answer."""
    similar = SimilarTasks(lambda _task, _other: 0.8, LearningConfig())
    first = similar.among("new", ["a"])
    first.clear()
    assert similar.among("new", ["a"]) == [("a", 0.8)]
