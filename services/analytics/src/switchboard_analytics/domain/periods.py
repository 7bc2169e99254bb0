"""The period filter: what ``from`` and ``to`` mean.

A bound with a UTC offset (``2026-03-08T10:00:00+03:00``, ``…Z``) is an instant and is
compared with the call's start in UTC. A bound without one (``2026-03-08`` or
``2026-03-08T10:00``) is a wall-clock time in each call's own clinic time zone, which is
what a manager means by "March" or "this morning" for a chain spread over time zones.
``from`` is inclusive and ``to`` exclusive, except that a date-only ``to`` includes that
whole day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta


class PeriodError(ValueError):
    """A period bound that cannot be read, or a period that ends before it starts."""


@dataclass(frozen=True)
class Period:
    """A period as instants (UTC) and/or clinic-local wall-clock bounds."""

    from_instant: datetime | None = None
    to_instant: datetime | None = None
    from_local: datetime | None = None
    to_local: datetime | None = None

    @property
    def has_instants(self) -> bool:
        """Whether a bound is an instant (which local-time roll-ups cannot answer)."""
        return self.from_instant is not None or self.to_instant is not None

    def local_bounds_on_month_starts(self) -> bool:
        """Whether every local bound is the midnight starting a month."""
        return all(
            bound.day == 1 and bound.time() == time()
            for bound in (self.from_local, self.to_local)
            if bound is not None
        )

    def local_bounds_aligned(self, step: timedelta) -> bool:
        """Whether every local bound falls on a whole ``step`` (hour or day) boundary."""
        for bound in (self.from_local, self.to_local):
            if bound is None:
                continue
            since_midnight = bound - datetime.combine(bound.date(), time())
            if since_midnight % step:
                return False
        return True


def _parse(text: str, *, name: str) -> tuple[datetime, bool, bool]:
    """``(value, is_instant, is_date_only)`` of one bound."""
    raw = text.strip()
    if len(raw) == 10:
        try:
            return datetime.combine(date.fromisoformat(raw), time()), False, True
        except ValueError:
            pass
    try:
        value = datetime.fromisoformat(raw)
    except ValueError as exc:
        raise PeriodError(
            f"{name}: expected an ISO 8601 date or date-time (e.g. 2026-03-08, "
            f"2026-03-08T09:00 or 2026-03-08T09:00:00+03:00), got {raw[:40]!r}"
        ) from exc
    if value.tzinfo is not None and value.utcoffset() is not None:
        return value.astimezone(UTC), True, False
    return value.replace(tzinfo=None), False, False


def parse_period(period_from: str | None, period_to: str | None) -> Period:
    """Read the ``from``/``to`` query parameters (see the module doc); ``PeriodError``."""
    values: dict[str, datetime | None] = {
        "from_instant": None,
        "to_instant": None,
        "from_local": None,
        "to_local": None,
    }
    try:
        if period_from:
            value, instant, _ = _parse(period_from, name="from")
            values["from_instant" if instant else "from_local"] = value
        if period_to:
            value, instant, date_only = _parse(period_to, name="to")
            if date_only:
                value += timedelta(days=1)
            values["to_instant" if instant else "to_local"] = value
    except OverflowError as exc:
        # 0001-01-01T00:00+14:00 or a day after 9999-12-31: no such instant or day.
        raise PeriodError("from/to: the period is outside the calendar") from exc
    period = Period(**values)
    for start, end in (
        (period.from_instant, period.to_instant),
        (period.from_local, period.to_local),
    ):
        if start is not None and end is not None and end <= start:
            raise PeriodError("to: the period ends before it starts")
    return period
