"""One store query in flight per question: briefs join it, a late one stays until it answers."""

from __future__ import annotations

from concurrent.futures import Future

from tests.advice.test_recall_cache import Ticks

from toolwise.advice.recall_budget import Late
from toolwise.advice.recall_flights import RecallFlights

KEY = ("default", "failure for deploy. Task: deploy payments", 8)


def _never_down() -> bool:
    return False


def test_a_second_brief_joins_the_query_in_flight_and_gets_its_answer() -> None:
    flights = RecallFlights[str](ttl=30.0, clock=Ticks())
    asked, ours = flights.start(KEY)
    joined, theirs = flights.start(KEY)
    assert ours
    assert not theirs
    assert joined is asked
    flights.land(KEY, asked, "the store's answer")
    assert joined.wait(None, _never_down) == "the store's answer"


def test_after_a_query_lands_the_next_brief_asks_again() -> None:
    flights = RecallFlights[str](ttl=30.0, clock=Ticks())
    asked, _ = flights.start(KEY)
    flights.land(KEY, asked, "the store's answer")
    again, ours = flights.start(KEY)
    assert ours
    assert again is not asked


def test_a_brief_past_its_budget_is_pending() -> None:
    flights = RecallFlights[str](ttl=30.0, clock=Ticks())
    asked, _ = flights.start(KEY)
    assert asked.wait(0.0, _never_down) == "pending"


def test_a_late_query_stays_the_question_s_flight_until_it_answers() -> None:
    """The briefs that waited with it go without; briefs after it join it, none asks again."""
    flights = RecallFlights[str](ttl=30.0, clock=Ticks())
    asked, _ = flights.start(KEY)
    later = flights.late(KEY, asked, Late(Future(), deadline=5.0, budget=True))
    assert later is not None
    assert asked.answer.result() == "pending"
    joined, ours = flights.start(KEY)
    assert not ours
    assert joined is later
    flights.land(KEY, later, "the late answer")
    assert joined.wait(None, _never_down) == "the late answer"


def test_a_late_query_older_than_the_ttl_is_given_up_on() -> None:
    ticks = Ticks()
    flights = RecallFlights[str](ttl=30.0, clock=ticks)
    asked, _ = flights.start(KEY)
    flights.late(KEY, asked, Late(Future(), deadline=5.0))
    ticks.now += 30.0
    _, ours = flights.start(KEY)
    assert ours


def test_a_late_query_is_not_joined_while_the_store_is_down() -> None:
    flights = RecallFlights[str](ttl=30.0, clock=Ticks())
    asked, _ = flights.start(KEY)
    later = flights.late(KEY, asked, Late(Future(), deadline=60.0))
    assert later is not None
    assert asked.answer.result() == "late"  # the brief that asked: past the store's deadline
    assert later.wait(None, lambda: True) == "unavailable"


def test_a_brief_waiting_for_a_late_query_stops_once_the_store_goes_down() -> None:
    """The store's heartbeat failed while the brief waited (frozen, not busy): it is told
    the store is unavailable then, not left waiting for the late query's deadline."""
    flights = RecallFlights[str](ttl=30.0, clock=Ticks())
    asked, _ = flights.start(KEY)
    later = flights.late(KEY, asked, Late(Future(), deadline=30.0))
    assert later is not None
    looks = iter([False, False, True])
    assert later.wait(None, lambda: next(looks, True)) == "unavailable"
