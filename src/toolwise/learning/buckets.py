"""Name the time bucket an outcome falls in, so recurring patterns (a Friday freeze) are learnt.

Buckets are read in the configured time zone: a change freeze on Friday afternoon is local.
Dayparts are night (00–06), morning (06–12), afternoon (12–18) and evening (18–24).
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from toolwise.learning.config import TimeBuckets

__all__ = ["bucket_of"]

_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DAYPARTS = ("night", "morning", "afternoon", "evening")


def bucket_of(moment: datetime, mode: TimeBuckets, zone: ZoneInfo) -> str:
    """The bucket label of ``moment``: ``""``, ``"fri"``, ``"fri-afternoon"`` or ``"15h"``.

    Args:
        moment: an aware datetime (naive ones are taken as UTC by the caller).
        mode: the configured bucketing; ``"none"`` always gives ``""``.
        zone: the time zone the weekday and hour are read in.
    """
    if mode == "none":
        return ""
    local = moment.astimezone(zone)
    if mode == "hour":
        return f"{local.hour:02d}h"
    weekday = _WEEKDAYS[local.weekday()]
    if mode == "weekday":
        return weekday
    return f"{weekday}-{_DAYPARTS[local.hour // 6]}"
