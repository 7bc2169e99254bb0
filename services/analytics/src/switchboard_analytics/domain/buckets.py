"""Every bucket of a report's period: the clinic-local days or hours it lists, calls or not.

A report by day or by hour lists every day or hour of its period, zero where nothing
happened: the day with no calls is the deepest trough, and a chart that leaves it out
hides it. The period is the ``from``/``to`` filter; a side left open ends at the first
(or last) bucket with calls.

Buckets are clinic-local, like the report's groups. A day always exists; an hour exists
when it is a wall-clock hour in at least one of the report's time zones (the zones of the
clinics it covers): on New York's spring-forward day local 02:00-02:59 never happens, so
a New York report lists 23 hours that day, while a chain-wide report with a Moscow clinic
still lists hour 2. On a fall-back day the repeated hour is one bucket, as the report
counts both 02:00-02:59 in local hour 2.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from switchboard_analytics.domain.periods import Period

Bucket = date | datetime
"""A day (``date``) or a clinic-local hour (naive ``datetime`` on the hour)."""

MAX_BUCKETS = 200_000
"""The most buckets one report lists (22 years of hours, centuries of days)."""


class SpanError(ValueError):
    """A period whose buckets cannot be listed (too many, or out of the calendar)."""


def _step(grain: str) -> timedelta:
    return timedelta(days=1) if grain == "day" else timedelta(hours=1)


def _floor(moment: datetime, grain: str) -> Bucket:
    if grain == "day":
        return moment.date()
    return moment.replace(minute=0, second=0, microsecond=0)


def _ceil(moment: datetime, grain: str) -> Bucket:
    """The first bucket starting at or after ``moment`` (an exclusive end)."""
    floor = _floor(moment, grain)
    start = floor if isinstance(floor, datetime) else datetime.combine(floor, time())
    return floor if start == moment else _next(floor, grain)


def _next(bucket: Bucket, grain: str) -> Bucket:
    return bucket + _step(grain)


def hour_exists(hour: datetime, zones: Iterable[ZoneInfo]) -> bool:
    """Whether some minute of the local ``hour`` is a wall-clock time in one of ``zones``
    (a time in a DST gap does not survive the round trip through UTC)."""
    for zone in zones:
        for minute in (0, 30, 59):
            wall = hour + timedelta(minutes=minute)
            back = wall.replace(tzinfo=zone).astimezone(UTC).astimezone(zone)
            if back.replace(tzinfo=None) == wall:
                return True
    return False


def _day_has_every_hour(day: date, zones: Iterable[ZoneInfo]) -> bool:
    """Whether every hour of the local ``day`` exists in one of ``zones``: in a zone whose
    UTC offset at the next midnight is its offset at this one, the clock did not jump.
    (A day with a change in every zone is then looked at hour by hour.)"""
    for zone in zones:
        midnight = datetime.combine(day, time(), zone)
        if midnight.utcoffset() == (midnight + timedelta(days=1)).utcoffset():
            return True
    return False


def _local(instant: datetime, zone: ZoneInfo) -> datetime:
    return instant.astimezone(zone).replace(tzinfo=None)


def span(
    period: Period,
    grain: str,
    zones: Iterable[ZoneInfo],
    first: Bucket | None,
    last: Bucket | None,
) -> tuple[Bucket, Bucket] | None:
    """``(first bucket, end)`` (end exclusive) of the period, or ``None`` when there is
    nothing to list. ``first`` and ``last`` are the buckets with calls under the report's
    filters (``None`` without calls): they close the sides the period leaves open."""
    zones = list(zones)
    try:
        start: Bucket | None = None
        end: Bucket | None = None
        if period.from_local is not None:
            start = _floor(period.from_local, grain)
        elif period.from_instant is not None:
            start = min(_floor(_local(period.from_instant, z), grain) for z in zones)
        else:
            start = first
        if period.to_local is not None:
            end = _ceil(period.to_local, grain)
        elif period.to_instant is not None:
            end = max(_ceil(_local(period.to_instant, z), grain) for z in zones)
        elif last is not None:
            end = _next(last, grain)
    except (OverflowError, ValueError) as exc:
        raise SpanError("from/to: the period is outside the calendar") from exc
    if start is None or end is None or end <= start:
        return None
    if (end - start) / _step(grain) > MAX_BUCKETS:
        raise SpanError(
            f"from/to: the period has more than {MAX_BUCKETS} {grain}s to list; narrow it"
        )
    return start, end


def buckets(
    grain: str,
    bounds: tuple[Bucket, Bucket],
    zones: Iterable[ZoneInfo],
    after: Bucket | None = None,
) -> Iterator[Bucket]:
    """The buckets of ``bounds`` after ``after`` (a page's cursor), in order."""
    zones = list(zones)
    start, end = bounds
    if isinstance(after, datetime):
        after = after.replace(minute=0, second=0, microsecond=0)
    bucket = start if after is None or after < start else _next(after, grain)
    if grain == "day":
        while bucket < end:
            yield bucket
            bucket = _next(bucket, grain)
        return
    # An hour page is hundreds of hours: each day's offsets are looked at once, and
    # only the hours of a day when the clocks changed one by one.
    day, whole = None, False
    while bucket < end:
        assert isinstance(bucket, datetime)
        if bucket.date() != day:
            day = bucket.date()
            whole = _day_has_every_hour(day, zones)
        if whole or hour_exists(bucket, zones):
            yield bucket
        bucket = _next(bucket, grain)
