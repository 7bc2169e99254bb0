"""When the calls come: incoming calls and the missed share per clinic-local hour of the
day and per weekday x hour, as plain data.

The reads count, per (ISO weekday, hour) that had calls, the incoming calls and the
missed ones among them; :func:`when_figures` turns those counts into the report's two
tables, every hour and every cell present (zeros included), so that a quiet hour is a
cell of the heatmap rather than a hole in it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

WEEKDAYS: tuple[int, ...] = tuple(range(1, 8))
"""ISO weekdays: 1 is Monday, 7 Sunday."""

HOURS: tuple[int, ...] = tuple(range(24))
"""Clinic-local hours of the day (on a fall-back day both 02:00-02:59 count in hour 2)."""

CELL_COLUMNS: tuple[str, ...] = ("weekday", "hour", "incoming", "missed", "missed_share")
"""The columns of a weekday x hour cell, in the API's and the CSV's order."""

Counts = Mapping[tuple[int, int], tuple[int, int]]
"""``(weekday, hour)`` → ``(incoming, missed)``; cells without calls may be absent."""


@dataclass(frozen=True)
class WhenFigures:
    """The report: 24 rows by hour of the day, 7 x 24 cells by weekday and hour."""

    by_hour: list[dict[str, Any]]
    by_weekday_hour: list[dict[str, Any]]


def missed_share(incoming: int, missed: int) -> float | None:
    """Missed incoming calls of all incoming ones, 0-1 to four places; ``None`` without
    incoming calls (nothing to divide)."""
    return round(missed / incoming, 4) if incoming else None


def when_figures(counts: Counts) -> WhenFigures:
    """Every hour and every weekday x hour cell of ``counts``, zeros where none."""
    cells = []
    by_hour = {hour: [0, 0] for hour in HOURS}
    for weekday in WEEKDAYS:
        for hour in HOURS:
            incoming, missed = counts.get((weekday, hour), (0, 0))
            by_hour[hour][0] += incoming
            by_hour[hour][1] += missed
            cells.append(_figures(incoming, missed, weekday=weekday, hour=hour))
    hours = [_figures(incoming, missed, hour=hour) for hour, (incoming, missed) in by_hour.items()]
    return WhenFigures(by_hour=hours, by_weekday_hour=cells)


def _figures(incoming: int, missed: int, **key: int) -> dict[str, Any]:
    return {
        **key,
        "incoming": incoming,
        "missed": missed,
        "missed_share": missed_share(incoming, missed),
    }
