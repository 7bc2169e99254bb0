"""Service level and friends: the queue's figures of incoming calls, per report group.

Every figure is of **incoming** calls (the queue callers wait in), as counted in the
report's group under its filters:

- ``answer_rate``: answered / incoming; ``abandonment_rate``: missed / incoming;
- ``avg_speed_of_answer_seconds``: the average wait of the answered calls;
  ``p90_speed_of_answer_seconds``: their 90th percentile;
- ``service_level``: answered within the clinic's target (``X`` seconds, a per-clinic
  setting, default 20) / incoming — each call against its own clinic's target;
- ``callback_rate``: called back / missed; ``median_callback_delay_seconds``.

Roll-ups keep a histogram per row (counts per bucket, :data:`WAIT_BOUNDS` and
:data:`CALLBACK_DELAY_BOUNDS`), cumulative: the ``i``-th count is of the calls in bucket
``i`` or lower, so that "answered within the target" is one count, and a percentile's
bucket is the first whose count reaches its rank. A report reads no single call. Waits
have a bucket per whole second up to 120 s: a service level target of up to 120 s is
exact, and so is a percentile that falls there (the nearest-rank percentile: the wait of
the ``ceil(p * n)``-th fastest answer). Above, and for call-back delays, a percentile
falling in a wider bucket ``[lo, hi)`` is interpolated linearly: ``lo + (hi - lo) *
(k - before) / in_bucket``; in the last, open bucket it is that bucket's lower bound.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, overload

WAIT_BOUNDS: tuple[int, ...] = (*range(121), 150, 180, 240, 300, 600)
"""Lower bounds (seconds) of the wait histogram's buckets; the last is open."""

CALLBACK_DELAY_BOUNDS: tuple[int, ...] = (
    0,
    300,
    600,
    900,
    1800,
    2700,
    3600,
    5400,
    7200,
    10800,
    14400,
    21600,
    28800,
    43200,
    57600,
    72000,
    86400,
)
"""Lower bounds (seconds) of the call-back delay histogram's buckets; the last is open."""

PACKED_DIGITS = 10
"""A roll-up keeps each cumulative histogram as one integer (``tables._kpi_rollup``): its
``i``-th count (0-based) is the ``i``-th group of this many decimal digits from the right,
so that adding two histograms is adding two numbers."""


class PackedHistogram(Sequence[int]):
    """A cumulative histogram of ``size`` counts packed into one integer (see
    :data:`PACKED_DIGITS`; ``None`` is all zeros), as a sequence: a count is read only when
    asked for (a percentile's binary search reads a few)."""

    __slots__ = ("_digits", "_size")

    def __init__(self, packed: Any, size: int) -> None:
        # Formatted, not int(): a Decimal of a thousand digits formats in microseconds.
        self._digits = format(packed, "f") if packed else ""
        self._size = size

    def __len__(self) -> int:
        return self._size

    @overload
    def __getitem__(self, index: int) -> int: ...

    @overload
    def __getitem__(self, index: slice) -> list[int]: ...

    def __getitem__(self, index: int | slice) -> int | list[int]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(self._size))]
        if index < 0:
            index += self._size
        if not 0 <= index < self._size:
            raise IndexError(index)
        end = len(self._digits) - PACKED_DIGITS * index
        return int(self._digits[max(0, end - PACKED_DIGITS) : end]) if end > 0 else 0


MAX_TARGET_SECONDS = 120
"""The longest service level target the wait histogram answers exactly."""

DEFAULT_TARGET_SECONDS = 20
"""A clinic's service level target until an admin sets one."""

KPI_FIGURES: tuple[str, ...] = (
    "incoming",
    "answered",
    "missed",
    "answered_within_target",
    "called_back",
    "answer_rate",
    "abandonment_rate",
    "service_level",
    "avg_speed_of_answer_seconds",
    "p90_speed_of_answer_seconds",
    "callback_rate",
    "median_callback_delay_seconds",
)
"""The figures of a KPI row, in the order the CSV shows them."""


def within_index(seconds: int) -> int:
    """The 1-based bucket of a wait of ``seconds`` (at most :data:`MAX_TARGET_SECONDS`):
    the cumulative count there is of the calls answered within ``seconds``."""
    return seconds + 1


def percentile(cumulative: Sequence[int], bounds: Sequence[int], p: float) -> float | None:
    """The nearest-rank ``p`` percentile of a cumulative histogram (see the module doc);
    ``None`` when it is empty."""
    total = cumulative[-1] if cumulative else 0
    if total <= 0:
        return None
    rank = max(1, math.ceil(p * total))
    index = bisect.bisect_left(cumulative, rank)
    before = cumulative[index - 1] if index > 0 else 0
    low = bounds[index]
    if index + 1 >= len(bounds):
        return float(low)
    high = bounds[index + 1]
    if high - low == 1:
        return float(low)
    return round(low + (high - low) * (rank - before) / (cumulative[index] - before), 2)


@dataclass(frozen=True)
class KpiSums:
    """What one group's KPIs are computed from (counts of incoming calls)."""

    incoming: int
    answered: int
    missed: int
    answered_wait_seconds: int
    answered_within_target: int
    called_back: int
    #: Cumulative (see the module doc), by :data:`WAIT_BOUNDS`.
    cumulative_waits: Sequence[int]
    #: Cumulative, by :data:`CALLBACK_DELAY_BOUNDS`.
    cumulative_callback_delays: Sequence[int]


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def kpi_figures(sums: KpiSums) -> dict[str, Any]:
    """One group's KPIs, as the API shows them (rates 0-1 to four places, seconds to
    hundredths, ``None`` where there is nothing to divide)."""
    return {
        "incoming": sums.incoming,
        "answered": sums.answered,
        "missed": sums.missed,
        "answered_within_target": sums.answered_within_target,
        "called_back": sums.called_back,
        "answer_rate": _share(sums.answered, sums.incoming),
        "abandonment_rate": _share(sums.missed, sums.incoming),
        "service_level": _share(sums.answered_within_target, sums.incoming),
        "avg_speed_of_answer_seconds": (
            round(sums.answered_wait_seconds / sums.answered, 2) if sums.answered else None
        ),
        "p90_speed_of_answer_seconds": percentile(sums.cumulative_waits, WAIT_BOUNDS, 0.9),
        "callback_rate": _share(sums.called_back, sums.missed),
        "median_callback_delay_seconds": percentile(
            sums.cumulative_callback_delays, CALLBACK_DELAY_BOUNDS, 0.5
        ),
    }


def target_of(targets: Mapping[str, int], clinic_id: str | None) -> int:
    """A clinic's service level target in seconds (the default without one)."""
    return targets.get(clinic_id or "", DEFAULT_TARGET_SECONDS)
