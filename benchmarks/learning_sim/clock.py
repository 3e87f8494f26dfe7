"""Simulated time: decisions happen during business hours, a fixed step apart.

Deploys and API calls cluster in working hours, so the clock runs from 08:00 to 18:00 UTC,
Monday to Friday, and jumps over nights and weekends. Real timestamps matter: decay, TTLs,
outage windows and time buckets (a Friday-afternoon freeze) all read them.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

__all__ = ["START", "business_hours", "is_friday_afternoon"]

START = datetime(2025, 1, 6, 8, 0, tzinfo=UTC)  # a Monday morning
OPEN_HOUR = 8
CLOSE_HOUR = 18
FRIDAY = 4


def business_hours(count: int, step: timedelta, start: datetime = START) -> list[datetime]:
    """``count`` decision times, ``step`` apart, inside 08:00–18:00 UTC on weekdays."""
    times = []
    moment = start
    for _ in range(count):
        moment = _open(moment)
        times.append(moment)
        moment += step
    return times


def _open(moment: datetime) -> datetime:
    """``moment`` if the office is open, else the next opening time."""
    if moment.hour >= CLOSE_HOUR:
        moment = (moment + timedelta(days=1)).replace(hour=OPEN_HOUR, minute=0, second=0)
    elif moment.hour < OPEN_HOUR:
        moment = moment.replace(hour=OPEN_HOUR, minute=0, second=0)
    while moment.weekday() > FRIDAY:
        moment = (moment + timedelta(days=1)).replace(hour=OPEN_HOUR, minute=0, second=0)
    return moment


def is_friday_afternoon(moment: datetime) -> bool:
    """Friday 12:00–18:00 UTC: the change-freeze window of the weekday scenario."""
    return moment.weekday() == FRIDAY and 12 <= moment.hour < CLOSE_HOUR
