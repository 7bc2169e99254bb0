"""The "when the calls come" tables as plain data: every hour and cell, zeros included."""

from __future__ import annotations

from switchboard_analytics.domain.when import missed_share, when_figures


def test_every_hour_and_cell_is_present_in_order_with_zeros() -> None:
    figures = when_figures({(1, 9): (4, 1), (7, 9): (2, 2), (3, 23): (1, 0)})
    assert [row["hour"] for row in figures.by_hour] == list(range(24))
    assert [(c["weekday"], c["hour"]) for c in figures.by_weekday_hour] == [
        (w, h) for w in range(1, 8) for h in range(24)
    ]
    assert figures.by_hour[9] == {"hour": 9, "incoming": 6, "missed": 3, "missed_share": 0.5}
    assert figures.by_hour[0] == {"hour": 0, "incoming": 0, "missed": 0, "missed_share": None}
    assert figures.by_weekday_hour[6 * 24 + 9]["missed_share"] == 1.0
    assert figures.by_weekday_hour[2 * 24 + 23]["missed_share"] == 0.0


def test_missed_share_is_rounded_to_four_places() -> None:
    assert missed_share(3, 1) == 0.3333
    assert missed_share(0, 0) is None
