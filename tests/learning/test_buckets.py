"""Time buckets: inherit the task type's record, depart on their own evidence, switch on when
breaks recur in the same weekday × daypart."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from toolwise.errors import InvalidArgumentError
from toolwise.learning import LearningConfig, ReliabilityView
from toolwise.learning.buckets import BucketLabels, bucket_of

MONDAY = datetime(2025, 1, 6, tzinfo=UTC)
FRIDAY_3PM = datetime(2025, 2, 21, 15, tzinfo=UTC)
TUESDAY_10AM = datetime(2025, 2, 18, 10, tzinfo=UTC)
TOOLS = ["terraform_apply", "kubectl_deploy"]


@given(
    seconds=st.floats(min_value=0.0, max_value=4e9),
    zone=st.sampled_from(["UTC", "Europe/Paris", "Asia/Kolkata", "Asia/Kathmandu"]),
    mode=st.sampled_from(["weekday", "weekday_daypart", "hour", "auto"]),
)
def test_cached_labels_match_the_datetime_reading(seconds: float, zone: str, mode: str) -> None:
    """The per-15-minute cache gives the label bucket_of gives, even at +05:30 and +05:45."""
    labels = BucketLabels(mode, ZoneInfo(zone))  # type: ignore[arg-type]
    moment = datetime.fromtimestamp(seconds, UTC)
    assert labels(seconds) == bucket_of(moment, mode, ZoneInfo(zone))  # type: ignore[arg-type]


def _steady(view: ReliabilityView, weeks: int = 2) -> None:
    """kubectl 78 % around the clock: time does not matter."""
    for hour in range(weeks * 7 * 24):
        moment = MONDAY + timedelta(hours=hour)
        view.observe("kubectl_deploy", hour % 9 not in (2, 5), timestamp=moment)


def test_an_empty_bucket_inherits_its_task_type(view: ReliabilityView) -> None:
    """A bucket with no outcome of its own shows the task type's rate, not a diluted one."""
    view = ReliabilityView(
        LearningConfig(time_buckets="weekday_daypart"), clock=lambda: MONDAY + timedelta(weeks=2)
    )
    for hour in range(0, 14 * 24, 4):  # mornings and nights only, never afternoons
        if (hour % 24) < 12:
            moment = MONDAY + timedelta(hours=hour)
            view.observe("kubectl_deploy", hour % 36 != 0, timestamp=moment)
    (parent,) = view.priors(tool="kubectl_deploy")
    (bucket,) = view.recommend(
        task_type="",
        tools=["kubectl_deploy"],
        strategy="greedy",
        now=MONDAY + timedelta(weeks=2, hours=15),
    )
    assert bucket.observations == 0
    assert bucket.rate == pytest.approx(parent.rate, abs=0.02)


def test_buckets_change_nothing_when_time_does_not_matter() -> None:
    """With steady tools, bucketed and plain views give the same greedy rates (within 2 pts)."""
    end = MONDAY + timedelta(weeks=2)
    plain = ReliabilityView(LearningConfig(time_buckets="none"), clock=lambda: end)
    bucketed = ReliabilityView(LearningConfig(time_buckets="weekday_daypart"), clock=lambda: end)
    for view in (plain, bucketed):
        _steady(view)
    for hour in (3, 10, 15, 21):
        now = end + timedelta(hours=hour)
        a, b = (
            v.recommend(task_type="", tools=["kubectl_deploy"], strategy="greedy", now=now)[0]
            for v in (plain, bucketed)
        )
        assert b.rate == pytest.approx(a.rate, abs=0.02)


def _freeze(view: ReliabilityView, weeks: int) -> None:
    """terraform fails on Friday afternoons and works otherwise; kubectl is steady at 85 %.

    Like an agent: every hour the tool the view ranks first (Thompson, fixed seeds) is called.
    """
    rng = random.Random(11)
    for day in range(weeks * 7):
        for hour in range(9, 18):
            moment = MONDAY + timedelta(days=day, hours=hour)
            frozen = moment.weekday() == 4 and hour >= 12
            seed = day * 24 + hour
            top = view.recommend(task_type="deploy", tools=TOOLS, seed=seed, now=moment)[0].tool
            rate = (0.05 if frozen else 0.97) if top == "terraform_apply" else 0.85
            view.observe(top, rng.random() < rate, context_class="deploy", timestamp=moment)


def test_auto_buckets_learn_a_recurring_friday_freeze() -> None:
    """By default a key switches to buckets after breaking twice on Friday afternoons."""
    end = MONDAY + timedelta(weeks=7)
    view = ReliabilityView(clock=lambda: end)
    _freeze(view, weeks=7)
    friday = view.recommend(task_type="deploy", tools=TOOLS, strategy="greedy", now=FRIDAY_3PM)
    tuesday = view.recommend(task_type="deploy", tools=TOOLS, strategy="greedy", now=TUESDAY_10AM)
    assert view.stats()["auto_bucketed"] == 1
    assert friday[0].tool == "kubectl_deploy"
    assert tuesday[0].tool == "terraform_apply"


def test_a_single_break_does_not_switch_buckets_on() -> None:
    """One bad Friday is a break, not a pattern: the key stays un-bucketed."""
    end = MONDAY + timedelta(weeks=1)
    view = ReliabilityView(clock=lambda: end)
    _freeze(view, weeks=1)
    assert view.stats().get("auto_bucketed", 0) == 0
    assert view.priors(time_bucket=None) == view.priors()


def test_without_buckets_the_freeze_is_re_learnt_every_week() -> None:
    """time_buckets="none": the Friday afternoon bucket never exists."""
    end = MONDAY + timedelta(weeks=4)
    view = ReliabilityView(LearningConfig(time_buckets="none"), clock=lambda: end)
    _freeze(view, weeks=4)
    assert view.stats()["changes_detected"] >= 4
    assert view.priors(time_bucket="fri-afternoon") == []


def test_a_bucket_older_than_a_break_follows_its_task_type() -> None:
    """After the task type breaks, a bucket whose evidence predates the break starts over."""
    end = MONDAY + timedelta(weeks=2)
    view = ReliabilityView(LearningConfig(time_buckets="weekday_daypart"), clock=lambda: end)
    for n in range(12):  # Monday morning: fine
        moment = MONDAY + timedelta(hours=8, minutes=20 * n)
        view.observe("kubectl_deploy", True, timestamp=moment)
    for n in range(30):  # Tuesday afternoon: fine, then broken
        moment = MONDAY + timedelta(days=1, hours=13, minutes=5 * n)
        view.observe("kubectl_deploy", n < 24, timestamp=moment)
    next_monday = MONDAY + timedelta(weeks=1, hours=9)
    (top,) = view.recommend(
        task_type="", tools=["kubectl_deploy"], strategy="greedy", now=next_monday
    )
    assert top.rate < 0.5


@pytest.mark.parametrize(
    ("field", "value"),
    [("bucket_strength", -1.0), ("auto_bucket_changes", 0), ("peer_prior_strength", -1.0)],
)
def test_new_knobs_are_validated(field: str, value: float) -> None:
    """A bad value raises InvalidArgumentError naming the field."""
    with pytest.raises(InvalidArgumentError) as caught:
        LearningConfig(**{field: value})
    assert caught.value.field == field
