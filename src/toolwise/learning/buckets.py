"""Name the time bucket an outcome falls in, so recurring patterns (a Friday freeze) are learnt.

Buckets are read in the configured time zone: a change freeze on Friday afternoon is local.
Dayparts are night (00–06), morning (06–12), afternoon (12–18) and evening (18–24). A bucket's
evidence is started over once it all predates its task type's last change
(:func:`start_over_if_stale`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from toolwise.learning.config import TimeBuckets
from toolwise.learning.evidence import Evidence

__all__ = ["BucketLabels", "bucket_of", "start_over_if_stale"]

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
    if mode == "auto":
        mode = "weekday_daypart"
    local = moment.astimezone(zone)
    if mode == "hour":
        return f"{local.hour:02d}h"
    weekday = _WEEKDAYS[local.weekday()]
    if mode == "weekday":
        return weekday
    return f"{weekday}-{_DAYPARTS[local.hour // 6]}"


_SLOT = 900.0  # every zone offset in use is a multiple of 15 minutes
_MAX_CACHED = 4_096


class BucketLabels:
    """:func:`bucket_of` for POSIX seconds, cached per 15-minute slot (the recording path).

    Reading a local weekday and hour from a timestamp costs a ``datetime`` and a zone lookup
    (about a microsecond); outcomes arrive in time order, so nearly every call hits the cache.

    Args:
        mode: the bucketing (``"auto"`` labels by weekday × daypart).
        zone: the time zone the labels are read in.
    """

    __slots__ = ("_cache", "_mode", "_zone")

    def __init__(self, mode: TimeBuckets, zone: ZoneInfo) -> None:
        self._mode: TimeBuckets = "weekday_daypart" if mode == "auto" else mode
        self._zone = zone
        self._cache: dict[int, str] = {}

    def __call__(self, t: float) -> str:
        """The label of the moment ``t`` (POSIX seconds); ``""`` without buckets."""
        slot = int(t // _SLOT)
        label = self._cache.get(slot)
        if label is None:
            if len(self._cache) >= _MAX_CACHED:
                self._cache.clear()
            moment = datetime.fromtimestamp(slot * _SLOT, UTC)
            label = self._cache[slot] = bucket_of(moment, self._mode, self._zone)
        return label


def start_over_if_stale(bucket: Evidence, context: Evidence) -> None:
    """Start a bucket over when all its evidence predates its task type's last change.

    A bucket departs from its task type on its own evidence; evidence from before the task
    type broke (or recovered) describes a tool that no longer exists. Buckets that saw the
    change happen (the Friday afternoon that broke it) keep theirs.
    """
    since = context.changed_from
    stale = since is not None and bucket.updated is not None and bucket.updated < since
    if stale and (bucket.current.n or bucket.current.successes or bucket.current.failures):
        bucket.start_over()
