"""Which question of a task the store answered last: the stand-in for a late answer."""

from __future__ import annotations

from toolwise.advice.recall_neighbours import TaskNeighbours

PAYMENTS = ("devops", "failure for deploy. Task: deploy payments", 3)
BILLING = ("devops", "failure for deploy. Task: deploy billing", 3)
MIGRATE = ("devops", "failure for migrate. Task: migrate orders", 3)


def test_the_task_s_question_answered_last_stands_in_for_another() -> None:
    neighbours = TaskNeighbours(limit=8)
    for key, task in [(PAYMENTS, "deploy"), (BILLING, "deploy"), (MIGRATE, "migrate")]:
        neighbours.name(key, task)
    assert neighbours.neighbour(BILLING) is None  # nothing of the task answered yet
    neighbours.answered(PAYMENTS)
    assert neighbours.neighbour(BILLING) == PAYMENTS
    assert neighbours.neighbour(PAYMENTS) is None  # never its own stand-in
    assert neighbours.neighbour(MIGRATE) is None  # another task
    neighbours.answered(BILLING)
    assert neighbours.neighbour(PAYMENTS) == BILLING


def test_an_answer_to_a_question_no_brief_named_has_no_task() -> None:
    neighbours = TaskNeighbours(limit=8)
    neighbours.answered(PAYMENTS)  # e.g. a brief without a task type
    neighbours.name(BILLING, "deploy")
    assert neighbours.neighbour(BILLING) is None


def test_memory_is_bounded_least_recently_named_first() -> None:
    neighbours = TaskNeighbours(limit=2)
    neighbours.name(PAYMENTS, "deploy")
    neighbours.name(BILLING, "deploy")
    neighbours.name(MIGRATE, "migrate")  # PAYMENTS, named least recently, is forgotten
    neighbours.answered(PAYMENTS)
    assert neighbours.neighbour(BILLING) is None
