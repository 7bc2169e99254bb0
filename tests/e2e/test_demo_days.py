"""The tests' booking day never meets the seed's appointments, whatever today is.

The browser tests used to pick "two days ahead, weekends skipped", which on a Friday or a
Saturday was the seed's own day. Every day of two whole weeks is tried here.
"""

from __future__ import annotations

from datetime import date, timedelta

from live_platform import demo_days


def test_seed_day_and_booking_day_are_different_weekdays_after_today() -> None:
    first = date(2026, 3, 2)  # a Monday; the fourteen days cover every weekday twice
    for today in (first + timedelta(days=n) for n in range(14)):
        seed_day, booking_day = demo_days(today)
        assert today < seed_day < booking_day, today
        assert seed_day.weekday() < 5 and booking_day.weekday() < 5, today
    # The dates that failed: a Friday and a Saturday both seed on Monday and book Tuesday.
    assert demo_days(date(2026, 12, 4)) == (date(2026, 12, 7), date(2026, 12, 8))
    assert demo_days(date(2026, 12, 5)) == (date(2026, 12, 7), date(2026, 12, 8))
