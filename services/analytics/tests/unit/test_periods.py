"""The period filter: clinic-local dates and times, instants, alignment."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from switchboard_analytics.domain.periods import Period, PeriodError, parse_period


def test_date_bounds_are_clinic_local_and_a_date_end_includes_the_day() -> None:
    period = parse_period("2026-03-08", "2026-03-08")
    assert period == Period(from_local=datetime(2026, 3, 8), to_local=datetime(2026, 3, 9))
    assert not period.has_instants
    assert period.local_bounds_aligned(timedelta(days=1))


def test_naive_times_are_clinic_local_and_offsets_make_instants() -> None:
    period = parse_period("2026-03-08T09:00", "2026-03-08T18:00:00+03:00")
    assert period.from_local == datetime(2026, 3, 8, 9)
    assert period.to_instant == datetime(2026, 3, 8, 15, tzinfo=UTC)
    assert period.has_instants
    assert parse_period("2026-03-08T09:00:00Z", None).from_instant == datetime(
        2026, 3, 8, 9, tzinfo=UTC
    )


def test_alignment() -> None:
    assert parse_period("2026-03-08T09:00", None).local_bounds_aligned(timedelta(hours=1))
    assert not parse_period("2026-03-08T09:00", None).local_bounds_aligned(timedelta(days=1))
    assert not parse_period("2026-03-08T09:30", None).local_bounds_aligned(timedelta(hours=1))
    assert Period().local_bounds_aligned(timedelta(days=1))


@pytest.mark.parametrize(
    ("start", "end", "says"),
    [
        ("yesterday", None, "from"),
        (None, "2026-02-30", "to"),
        ("2026-03-10", "2026-03-01", "ends before"),
        ("2026-03-10T10:00:00Z", "2026-03-10T09:00:00Z", "ends before"),
    ],
)
def test_bad_periods(start: str | None, end: str | None, says: str) -> None:
    with pytest.raises(PeriodError, match=says):
        parse_period(start, end)
