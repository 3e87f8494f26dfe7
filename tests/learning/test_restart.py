"""Restarts: a confirmed change of a task type's leader sets the other tools' records aside.

A hold gives a record back once the tool's new outcomes agree with it; a restart
(``restart_on_leader_change``, opt-in) does not, so a tool whose rate rose a little is
re-learnt from its new outcomes, as in GLR-klUCB's global restart (``learning/restart.py``).
"""

from __future__ import annotations

from toolwise.learning import LearningConfig, ReliabilityView

RESTART = LearningConfig(restart_on_leader_change=True)


def _rate(view: ReliabilityView, tool: str) -> float:
    return view.priors(tool=tool, context_class="deploy")[0].rate


def _observe(view: ReliabilityView, tool: str, count: int, every: int, of: int) -> None:
    """``count`` outcomes of ``tool``, ``every`` successes in each ``of``."""
    for i in range(count):
        view.observe(tool, i % of < every, context_class="deploy")


def _leader_breaks(config: LearningConfig) -> ReliabilityView:
    """B has 40 calls at 40 %; A, the leader, has 50 successes and then fails 4 times."""
    view = ReliabilityView(config)
    _observe(view, "B", 40, 2, 5)
    _observe(view, "A", 50, 1, 1)
    _observe(view, "A", 4, 0, 1)
    return view


def test_a_restarted_record_is_not_given_back_when_new_outcomes_agree() -> None:
    """B's 400-call record at 40 % is set aside when A breaks; B stays at 40 %. Held, the
    record comes back once enough new outcomes agree (700 observations); restarted, it
    stays aside and B reads only its 300 new ones."""
    counts = []
    for config in (RESTART, LearningConfig()):
        view = ReliabilityView(config)
        _observe(view, "B", 400, 2, 5)
        _observe(view, "A", 50, 1, 1)
        _observe(view, "A", 4, 0, 1)
        _observe(view, "B", 300, 2, 5)
        counts.append(view.priors(tool="B", context_class="deploy")[0].observations)
    assert counts == [300, 700]


def test_a_leaders_false_alarm_gives_the_records_back() -> None:
    """A's break is undone by its restore test: B's 40-call record counts again, and the
    restore, a few calls after the restart, is not taken for a swap back."""
    view = _leader_breaks(RESTART)
    _observe(view, "A", 6, 1, 1)
    _observe(view, "B", 1, 1, 1)
    assert view.stats()["restarts_on_break"] == 1
    assert "restarts_on_return" not in view.stats()
    assert view.priors(tool="B", context_class="deploy")[0].observations == 41


def _swap_back(config: LearningConfig) -> ReliabilityView:
    """A breaks; B leads at 80 % for 100 calls; then A is back and B falls to 60 %."""
    view = ReliabilityView(config)
    _observe(view, "B", 10, 1, 2)
    _observe(view, "A", 100, 9, 10)
    _observe(view, "A", 5, 0, 1)
    _observe(view, "B", 100, 4, 5)
    _observe(view, "A", 5, 1, 1)  # re-tries that work: A's old record is restored
    _observe(view, "B", 10, 3, 5)
    return view


def test_a_broken_tool_back_as_the_leader_restarts_the_others() -> None:
    """Restored, A leads again: B's record of the regime that is over is set aside, so its
    ten calls at 60 % since then are all it reads; without restarts it reads 75 %."""
    restarted, default = _swap_back(RESTART), _swap_back(LearningConfig())
    assert restarted.stats()["restarts_on_break"] == 1
    assert restarted.stats()["restarts_on_return"] == 1
    assert restarted.priors(tool="B", context_class="deploy")[0].observations == 10
    assert _rate(restarted, "B") < 0.7 < _rate(default, "B")


def test_a_task_type_is_restarted_at_most_once_per_min_calls() -> None:
    """A second break of a leader within ``restart_min_calls`` holds the others instead."""
    config = RESTART.model_copy(update={"restart_min_calls": 1_000})
    view = _swap_back(config)
    assert view.stats()["restarts_on_break"] == 1
    assert "restarts_on_return" not in view.stats()


def test_restarts_are_off_by_default() -> None:
    stats = _swap_back(LearningConfig()).stats()
    assert "restarts_on_break" not in stats
    assert "restarts_on_return" not in stats


def test_break_only_restarts_do_not_restart_on_a_swap_back() -> None:
    """With ``restart_on="break"`` A's break restarts the task type and its return does
    not: A's restore undoes its break, so B reads its whole record, as without restarts."""
    view = _swap_back(RESTART.model_copy(update={"restart_on": "break"}))
    assert view.stats()["restarts_on_break"] == 1
    assert "restarts_on_return" not in view.stats()
    observations = [
        v.priors(tool="B", context_class="deploy")[0].observations
        for v in (view, _swap_back(LearningConfig()))
    ]
    assert observations == [120, 120]
