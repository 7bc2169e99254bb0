"""Percentiles from the cumulative histograms the service level roll-ups keep."""

from __future__ import annotations

import itertools
from decimal import Decimal

import pytest

from switchboard_analytics.domain.kpi import (
    CALLBACK_DELAY_BOUNDS,
    WAIT_BOUNDS,
    PackedHistogram,
    percentile,
)


def _cumulative(values: list[int], bounds: tuple[int, ...]) -> list[int]:
    """Calls per bucket (the last bound not above the value), summed up to each bucket."""
    per_bucket = [0] * len(bounds)
    for value in values:
        per_bucket[max(i for i, bound in enumerate(bounds) if bound <= value)] += 1
    return list(itertools.accumulate(per_bucket))


def test_a_percentile_in_a_one_second_bucket_is_the_wait_itself() -> None:
    waits = [3, 3, 5, 7, 7, 7, 9, 12, 40, 41]
    # Nearest rank: the ceil(0.9 * 10) = 9th fastest answer waited 40 s.
    assert percentile(_cumulative(waits, WAIT_BOUNDS), WAIT_BOUNDS, 0.9) == 40.0
    assert percentile(_cumulative(waits, WAIT_BOUNDS), WAIT_BOUNDS, 0.5) == 7.0


def test_a_percentile_in_a_wider_bucket_is_interpolated_and_the_open_one_is_its_bound() -> None:
    waits = [10, 130, 140, 145]
    # Rank ceil(0.5 * 4) = 2, the first of three in [120, 150): 120 + 30 * 1 / 3.
    assert percentile(_cumulative(waits, WAIT_BOUNDS), WAIT_BOUNDS, 0.5) == 130.0
    assert percentile(_cumulative([700, 900], WAIT_BOUNDS), WAIT_BOUNDS, 0.9) == 600.0
    # Call-back delays: 400 s and 500 s in [300, 600); the median is the first of two.
    delays = _cumulative([400, 500], CALLBACK_DELAY_BOUNDS)
    assert percentile(delays, CALLBACK_DELAY_BOUNDS, 0.5) == 450.0


def test_nothing_counted_has_no_percentile() -> None:
    assert percentile([0] * len(WAIT_BOUNDS), WAIT_BOUNDS, 0.9) is None
    assert percentile((), WAIT_BOUNDS, 0.9) is None


def test_a_packed_histogram_reads_each_count_from_its_ten_digits() -> None:
    """The roll-ups keep a cumulative histogram as one number, count ``i`` in the ``i``-th
    group of ten digits from the right; the report reads the counts it needs from it."""
    waits = [3, 3, 5, 7, 7, 7, 9, 12, 40, 41, 130]
    counts = _cumulative(waits, WAIT_BOUNDS)
    packed = Decimal(sum(count * 10 ** (10 * i) for i, count in enumerate(counts)))
    histogram = PackedHistogram(packed, len(WAIT_BOUNDS))
    assert len(histogram) == 126
    assert list(histogram) == counts
    assert histogram[-1] == 11 and histogram[0] == 0 and histogram[3] == 2
    assert histogram[120:123] == counts[120:123]
    assert percentile(histogram, WAIT_BOUNDS, 0.9) == percentile(counts, WAIT_BOUNDS, 0.9)
    assert list(PackedHistogram(None, 3)) == [0, 0, 0]
    with pytest.raises(IndexError):
        histogram[126]
