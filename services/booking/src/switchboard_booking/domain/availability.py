"""Slot availability: when can a practitioner (or anyone) give a service on a day.

Pure functions over plain data. Working hours are local wall-clock times of the clinic;
the day is the clinic's local day; every returned time is timezone-aware UTC. A slot lies
inside the practitioner's working hours *and* the clinic's opening hours (``None``: the
clinic has set none, so it is open whenever its practitioners work); absences and closed
days reach availability as busy intervals.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class WorkingHours:
    """One stretch of work on one weekday (0 = Monday), in the clinic's local time."""

    weekday: int
    starts: time
    ends: time

    def __post_init__(self) -> None:
        if not 0 <= self.weekday <= 6:
            raise ValueError("weekday must be 0 (Monday) … 6 (Sunday)")
        if self.ends <= self.starts:
            raise ValueError("working hours must end after they start")


@dataclass(frozen=True)
class Interval:
    """A half-open time range ``[starts_at, ends_at)``."""

    starts_at: datetime
    ends_at: datetime

    def overlaps(self, other: Interval) -> bool:
        """Whether the two ranges share any instant (touching ends do not overlap)."""
        return self.starts_at < other.ends_at and other.starts_at < self.ends_at

    def contains(self, other: Interval) -> bool:
        """Whether ``other`` lies entirely inside this range."""
        return self.starts_at <= other.starts_at and other.ends_at <= self.ends_at


@dataclass(frozen=True)
class PractitionerDay:
    """What availability needs to know about one practitioner at one clinic."""

    practitioner_id: str
    hours: tuple[WorkingHours, ...]
    busy: tuple[Interval, ...] = ()
    languages: frozenset[str] = field(default_factory=frozenset)


@dataclass(frozen=True)
class Slot:
    """A free slot of one practitioner."""

    practitioner_id: str
    starts_at: datetime
    ends_at: datetime


@dataclass(frozen=True)
class PooledSlot:
    """A start time at which at least one practitioner is free ("anyone available")."""

    starts_at: datetime
    ends_at: datetime
    practitioner_ids: tuple[str, ...]


def working_intervals(day: date, tz: ZoneInfo, hours: Iterable[WorkingHours]) -> list[Interval]:
    """The UTC intervals a practitioner works on the clinic-local ``day``.

    Local times are resolved in the clinic's zone, so a DST change moves them correctly.
    """
    out = []
    for h in hours:
        if h.weekday != day.weekday():
            continue
        start = datetime.combine(day, h.starts, tzinfo=tz).astimezone(UTC)
        end = datetime.combine(day, h.ends, tzinfo=tz).astimezone(UTC)
        if end > start:
            out.append(Interval(start, end))
    return sorted(out, key=lambda i: i.starts_at)


def bookable_intervals(
    day: date,
    tz: ZoneInfo,
    hours: Iterable[WorkingHours],
    opening_hours: Iterable[WorkingHours] | None = None,
) -> list[Interval]:
    """The practitioner's working stretches on ``day`` cut to the clinic's opening hours."""
    worked = working_intervals(day, tz, hours)
    if opening_hours is None:
        return worked
    opened = working_intervals(day, tz, opening_hours)
    out = []
    for work in worked:
        for open_ in opened:
            starts_at, ends_at = (
                max(work.starts_at, open_.starts_at),
                min(work.ends_at, open_.ends_at),
            )
            if starts_at < ends_at:
                out.append(Interval(starts_at, ends_at))
    return sorted(out, key=lambda i: i.starts_at)


def free_slots(
    day: date,
    tz: ZoneInfo,
    duration: timedelta,
    practitioners: Sequence[PractitionerDay],
    *,
    step: timedelta,
    not_before: datetime | None = None,
    language: str | None = None,
    opening_hours: Sequence[WorkingHours] | None = None,
) -> list[Slot]:
    """Every free slot of ``duration`` on ``day``, per practitioner.

    Candidate starts are every ``step`` from the start of each working stretch (cut to
    the clinic's ``opening_hours``); a slot is offered when it ends within the stretch,
    overlaps none of the practitioner's busy intervals and does not start before
    ``not_before``. With ``language``, only
    practitioners speaking it are considered. Sorted by start, then practitioner.
    """
    if duration <= timedelta(0) or step <= timedelta(0):
        raise ValueError("duration and step must be positive")
    slots = []
    for practitioner in practitioners:
        if language is not None and language not in practitioner.languages:
            continue
        for stretch in bookable_intervals(day, tz, practitioner.hours, opening_hours):
            start = stretch.starts_at
            while start + duration <= stretch.ends_at:
                candidate = Interval(start, start + duration)
                if (not_before is None or start >= not_before) and not any(
                    candidate.overlaps(b) for b in practitioner.busy
                ):
                    slots.append(Slot(practitioner.practitioner_id, start, start + duration))
                start += step
    return sorted(slots, key=lambda s: (s.starts_at, s.practitioner_id))


def pooled(slots: Iterable[Slot]) -> list[PooledSlot]:
    """Group per-practitioner slots by start time: what "anyone available" offers."""
    by_start: dict[tuple[datetime, datetime], list[str]] = {}
    for slot in slots:
        by_start.setdefault((slot.starts_at, slot.ends_at), []).append(slot.practitioner_id)
    return [PooledSlot(s, e, tuple(sorted(ids))) for (s, e), ids in sorted(by_start.items())]


def within_working_hours(
    when: Interval,
    tz: ZoneInfo,
    hours: Iterable[WorkingHours],
    opening_hours: Iterable[WorkingHours] | None = None,
) -> bool:
    """Whether ``when`` lies inside one working stretch (of the local day it starts on),
    cut to the clinic's opening hours."""
    local_day = when.starts_at.astimezone(tz).date()
    return any(
        stretch.contains(when)
        for stretch in bookable_intervals(local_day, tz, hours, opening_hours)
    )
