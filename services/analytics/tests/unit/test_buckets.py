"""Every bucket of a report's period: DST days in two zones, open sides, cursors."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from switchboard_analytics.domain.buckets import SpanError, buckets, hour_exists, span
from switchboard_analytics.domain.periods import parse_period

NEW_YORK, BERLIN, MOSCOW = (
    ZoneInfo(z) for z in ("America/New_York", "Europe/Berlin", "Europe/Moscow")
)


def test_spring_forward_day_has_23_hours_and_fall_back_day_24_buckets() -> None:
    spring = span(parse_period("2026-03-08", "2026-03-08"), "hour", [NEW_YORK], None, None)
    assert spring is not None
    hours = [b.hour for b in buckets("hour", spring, [NEW_YORK])]  # type: ignore[union-attr]
    assert hours == [h for h in range(24) if h != 2]
    fall = span(parse_period("2026-10-25", "2026-10-25"), "hour", [BERLIN], None, None)
    assert fall is not None
    assert len(list(buckets("hour", fall, [BERLIN]))) == 24


def test_an_hour_exists_when_one_of_the_zones_shows_it() -> None:
    gap = datetime(2026, 3, 8, 2)
    assert not hour_exists(gap, [NEW_YORK])
    assert hour_exists(gap, [NEW_YORK, MOSCOW])


@pytest.mark.parametrize(
    ("zones", "missing"),
    [
        (["America/New_York"], [datetime(2011, 3, 13, 2)]),
        # Each zone shows the hour the other skips.
        (["Europe/Berlin", "America/New_York"], []),
        # Half an hour of DST: 02:00-02:29 is skipped, 02:30 is a wall-clock time.
        (["Australia/Lord_Howe"], []),
        # Clocks that jumped at midnight, and Moscow's last change (to UTC+4 for good).
        (["America/Havana"], [datetime(2011, 3, 20, 0)]),
        (["America/Sao_Paulo"], [datetime(2011, 10, 16, 0)]),
        (["Europe/Moscow"], [datetime(2011, 3, 27, 2)]),
    ],
)
def test_the_hours_listed_are_the_wall_clock_hours_of_some_zone(
    zones: list[str], missing: list[datetime]
) -> None:
    tz = [ZoneInfo(z) for z in zones]

    def shown(hour: datetime) -> bool:
        # Some minute of it survives the round trip through UTC in one of the zones.
        for zone in tz:
            for minute in range(60):
                wall = hour + timedelta(minutes=minute)
                back = wall.replace(tzinfo=zone).astimezone(UTC).astimezone(zone)
                if back.replace(tzinfo=None) == wall:
                    return True
        return False

    start, end = datetime(2010, 12, 25), datetime(2012, 1, 5)
    every_hour = [start + timedelta(hours=n) for n in range((end - start) // timedelta(hours=1))]
    expected = [hour for hour in every_hour if shown(hour)]
    assert sorted(set(every_hour) - set(expected)) == missing
    assert list(buckets("hour", (start, end), tz)) == expected


def test_open_sides_end_at_the_calls_and_instants_cover_every_zone() -> None:
    period = parse_period("2026-03-05", None)
    assert span(period, "day", [MOSCOW], date(2026, 3, 1), date(2026, 3, 9)) == (
        date(2026, 3, 5),
        date(2026, 3, 10),
    )
    assert span(parse_period(None, None), "day", [MOSCOW], None, None) is None
    instants = parse_period("2026-03-08T10:00:00Z", "2026-03-09T00:00:00Z")
    assert instants.from_instant == datetime(2026, 3, 8, 10, tzinfo=UTC)
    # 06:00 in New York (EDT) to 03:00 of the 9th in Moscow.
    assert span(instants, "hour", [NEW_YORK, MOSCOW], None, None) == (
        datetime(2026, 3, 8, 6),
        datetime(2026, 3, 9, 3),
    )


def test_a_cursor_continues_after_its_bucket_and_huge_periods_are_refused() -> None:
    bounds = (date(2026, 3, 1), date(2026, 3, 5))
    assert list(buckets("day", bounds, [MOSCOW], after=date(2026, 3, 2))) == [
        date(2026, 3, 3),
        date(2026, 3, 4),
    ]
    with pytest.raises(SpanError):
        span(parse_period("1900-01-01", "2100-01-01"), "hour", [MOSCOW], None, None)
