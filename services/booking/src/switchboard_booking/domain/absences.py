"""Time off: practitioners' absences, clinics' closed days, and which booked appointments
they (or the clinic's opening hours) leave stranded.

Pure functions over plain data. Dates are local to the clinic asking: a holiday from
1 to 3 May is 1 May 00:00 to 4 May 00:00 wall-clock time in that clinic's zone, however
long those days are across a DST change.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from switchboard_booking.domain.availability import Interval, WorkingHours, working_intervals
from switchboard_booking.domain.errors import InvalidRequest

#: Time off is planned within these years; anything else is a typing mistake (and keeps
#: the arithmetic of the day after the last one inside what ``datetime`` can hold).
EARLIEST = date(2000, 1, 1)
LATEST = date(2100, 12, 31)
#: The longest single absence or closure; a longer one is a typing mistake too.
LONGEST = timedelta(days=366)

#: Why an appointment must be moved, most telling first.
CLINIC_CLOSED = "clinic_closed"
ABSENCE = "absence"
OUTSIDE_OPENING_HOURS = "outside_opening_hours"
OUTSIDE_WORKING_HOURS = "outside_working_hours"


@dataclass(frozen=True)
class Absence:
    """A practitioner away: instants (``starts_at``/``ends_at``) or local dates, inclusive."""

    absence_id: str
    practitioner_id: str
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    starts_on: date | None = None
    ends_on: date | None = None
    reason: str = ""

    def interval(self, tz: ZoneInfo) -> Interval:
        """When the practitioner is away, as seen by a clinic in ``tz``."""
        if self.starts_at is not None and self.ends_at is not None:
            return Interval(self.starts_at.astimezone(UTC), self.ends_at.astimezone(UTC))
        assert self.starts_on is not None and self.ends_on is not None
        return local_days(self.starts_on, self.ends_on, tz)


@dataclass(frozen=True)
class Closure:
    """A clinic closed on its local dates ``starts_on`` … ``ends_on`` (inclusive)."""

    closure_id: str
    clinic_id: str
    starts_on: date
    ends_on: date
    reason: str = ""

    def interval(self, tz: ZoneInfo) -> Interval:
        """When the clinic is closed (``tz`` is its zone)."""
        return local_days(self.starts_on, self.ends_on, tz)


def local_days(first: date, last: date, tz: ZoneInfo) -> Interval:
    """From local midnight of ``first`` to local midnight after ``last``, in UTC."""
    return Interval(
        datetime.combine(first, time(), tzinfo=tz).astimezone(UTC),
        datetime.combine(last + timedelta(days=1), time(), tzinfo=tz).astimezone(UTC),
    )


def check_absence(
    *,
    starts_at: datetime | None,
    ends_at: datetime | None,
    starts_on: date | None,
    ends_on: date | None,
) -> tuple[datetime | None, datetime | None, date | None, date | None]:
    """Exactly one span, ending after it starts, within the planning years; a single day
    may give ``starts_on`` alone. Returns the four fields as stored."""
    instants = starts_at is not None or ends_at is not None
    dates = starts_on is not None or ends_on is not None
    if instants == dates:
        raise InvalidRequest("give either starts_at and ends_at, or starts_on (and ends_on)")
    if instants:
        if starts_at is None or ends_at is None:
            raise InvalidRequest("give both starts_at and ends_at")
        if starts_at.tzinfo is None or ends_at.tzinfo is None:
            raise InvalidRequest("starts_at and ends_at need a UTC offset")
        _check_span(starts_at.astimezone(UTC).date(), ends_at.astimezone(UTC).date())
        if ends_at <= starts_at:
            raise InvalidRequest("ends_at must be after starts_at")
        if ends_at - starts_at > LONGEST:
            raise InvalidRequest("an absence lasts at most 366 days")
        return starts_at.astimezone(UTC), ends_at.astimezone(UTC), None, None
    if starts_on is None:
        raise InvalidRequest("give starts_on (ends_on is the same day when left out)")
    last = ends_on if ends_on is not None else starts_on
    _check_span(starts_on, last)
    return None, None, starts_on, last


def check_closure(starts_on: date, ends_on: date | None) -> tuple[date, date]:
    """A closure's local dates (one day when ``ends_on`` is left out)."""
    last = ends_on if ends_on is not None else starts_on
    _check_span(starts_on, last)
    return starts_on, last


def _check_span(first: date, last: date) -> None:
    if not (EARLIEST <= first <= LATEST and EARLIEST <= last <= LATEST):
        raise InvalidRequest(f"dates must lie between {EARLIEST} and {LATEST}")
    if last < first:
        raise InvalidRequest("the span must end on or after the day it starts")
    if last - first >= LONGEST:
        raise InvalidRequest("a span lasts at most 366 days")


def reschedule_reason(
    when: Interval,
    tz: ZoneInfo,
    *,
    working_hours: Sequence[WorkingHours],
    opening_hours: Sequence[WorkingHours] | None,
    absences: Iterable[Absence],
    closures: Iterable[Closure],
) -> tuple[str, str] | None:
    """Why an appointment booked for ``when`` can no longer take place as booked, with
    the absence's or closure's own reason: ``None`` when it still can. ``opening_hours``
    ``None`` means the clinic has none set (open whenever its practitioners work)."""
    for closure in closures:
        if closure.interval(tz).overlaps(when):
            return CLINIC_CLOSED, closure.reason
    for absence in absences:
        if absence.interval(tz).overlaps(when):
            return ABSENCE, absence.reason
    day = when.starts_at.astimezone(tz).date()
    if opening_hours is not None and not any(
        stretch.contains(when) for stretch in working_intervals(day, tz, opening_hours)
    ):
        return OUTSIDE_OPENING_HOURS, ""
    if not any(stretch.contains(when) for stretch in working_intervals(day, tz, working_hours)):
        return OUTSIDE_WORKING_HOURS, ""
    return None
