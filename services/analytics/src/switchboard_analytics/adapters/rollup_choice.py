"""Which roll-up answers a report: the smallest whose grain and dimensions answer its
groups and filters exactly (or none: the call log), and the WHERE conditions of the filter
on it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from switchboard_analytics.adapters.queries import CallLogFilter, dimension_conditions
from switchboard_analytics.adapters.rollup_tables import (
    calls_by_day,
    calls_by_day_clinic,
    calls_by_day_did,
    calls_by_day_total,
    calls_by_hour,
    calls_by_hour_clinic,
    calls_by_hour_did,
    calls_by_hour_total,
    calls_by_month,
    calls_by_month_did,
    kpi_by_day,
    kpi_by_day_clinic,
    kpi_by_day_did,
    kpi_by_day_total,
    kpi_by_hour,
    kpi_by_hour_clinic,
    kpi_by_hour_did,
    kpi_by_hour_total,
    kpi_by_month,
    kpi_by_month_did,
)

#: How fine each grain is: a roll-up answers a report needing ``grain`` or coarser.
_FINENESS = {"month": 0, "day": 1, "hour": 2}


@dataclass(frozen=True)
class Rollup:
    """A roll-up table and what it can answer."""

    table: sa.Table
    grain: str  # "hour", "day" or "month"
    has_clinic: bool
    has_admin: bool
    has_did: bool = False
    #: Keyed by call type, disposition and called back (the service level roll-ups are
    #: not: they count incoming calls only).
    has_call_dimensions: bool = True

    @property
    def time(self) -> sa.ColumnElement[Any]:
        return self.table.c[f"local_{self.grain}"]


#: Smallest first: the first that answers is the one read.
ROLLUPS: tuple[Rollup, ...] = (
    Rollup(calls_by_day_total, "day", has_clinic=False, has_admin=False),
    Rollup(calls_by_hour_total, "hour", has_clinic=False, has_admin=False),
    Rollup(calls_by_day_clinic, "day", has_clinic=True, has_admin=False),
    Rollup(calls_by_hour_clinic, "hour", has_clinic=True, has_admin=False),
    Rollup(calls_by_month, "month", has_clinic=True, has_admin=True),
    Rollup(calls_by_day, "day", has_clinic=True, has_admin=True),
    Rollup(calls_by_hour, "hour", has_clinic=True, has_admin=True),
    # Per public number: only read for a report by number or a number filter (they hold
    # as many rows as the admin ones, keyed by number first).
    Rollup(calls_by_month_did, "month", has_clinic=True, has_admin=False, has_did=True),
    Rollup(calls_by_day_did, "day", has_clinic=True, has_admin=False, has_did=True),
    Rollup(calls_by_hour_did, "hour", has_clinic=True, has_admin=False, has_did=True),
)


def _kpi(table: sa.Table, grain: str, *, has_admin: bool = False, has_did: bool = False) -> Rollup:
    return Rollup(
        table,
        grain,
        "clinic_id" in table.c,
        has_admin=has_admin,
        has_did=has_did,
        has_call_dimensions=False,
    )


#: The service level report's, smallest first: the chain-wide ones answer only while
#: every clinic has the same target (``by_clinic`` of :func:`choose_rollup`).
KPI_ROLLUPS: tuple[Rollup, ...] = (
    _kpi(kpi_by_day_total, "day"),
    _kpi(kpi_by_hour_total, "hour"),
    _kpi(kpi_by_day_clinic, "day"),
    _kpi(kpi_by_hour_clinic, "hour"),
    _kpi(kpi_by_month, "month", has_admin=True),
    _kpi(kpi_by_day, "day", has_admin=True),
    _kpi(kpi_by_hour, "hour", has_admin=True),
    _kpi(kpi_by_month_did, "month", has_did=True),
    _kpi(kpi_by_day_did, "day", has_did=True),
    _kpi(kpi_by_hour_did, "hour", has_did=True),
)


def _grain_needed(flt: CallLogFilter, group_by: str) -> str | None:
    """The coarsest grain that answers the report's groups and period, or ``None``."""
    period = flt.period
    if not period.local_bounds_aligned(timedelta(hours=1)):
        return None
    if group_by == "hour" or not period.local_bounds_aligned(timedelta(days=1)):
        return "hour"
    if group_by in ("employee_month", "did") and period.local_bounds_on_month_starts():
        return "month"
    return "day"


def choose_rollup(
    flt: CallLogFilter,
    group_by: str,
    rollups: Sequence[Rollup] = ROLLUPS,
    *,
    by_clinic: bool = False,
) -> Rollup | None:
    """The smallest of ``rollups`` (the calls report's, or ``KPI_ROLLUPS``) that answers
    the report exactly, or ``None`` (the call log). ``by_clinic``: the report needs each
    clinic's figures (service level targets differ)."""
    grain = _grain_needed(flt, group_by)
    if flt.needs_call_log or grain is None:
        return None
    needs_admin = group_by.startswith("employee") or bool(flt.admin_ids)
    needs_clinic = bool(flt.clinic_ids) or by_clinic
    needs_did = group_by == "did" or bool(flt.dids)
    needs_call_dimensions = bool(
        flt.call_types or flt.dispositions or flt.missed is not None or flt.called_back is not None
    )
    for rollup in rollups:
        if (needs_admin and not rollup.has_admin) or (needs_clinic and not rollup.has_clinic):
            continue
        if needs_call_dimensions and not rollup.has_call_dimensions:
            continue
        if needs_did != rollup.has_did:
            continue
        if _FINENESS[rollup.grain] >= _FINENESS[grain]:
            return rollup
    return None


def rollup_conditions(flt: CallLogFilter, rollup: Rollup) -> list[sa.ColumnElement[bool]]:
    """The WHERE conditions of a filter a roll-up answers (see :func:`choose_rollup`)."""
    conditions: list[sa.ColumnElement[bool]] = []
    period = flt.period
    for bound, above in ((period.from_local, True), (period.to_local, False)):
        if bound is None:
            continue
        value: Any = bound if rollup.grain == "hour" else bound.date()
        conditions.append(rollup.time >= value if above else rollup.time < value)
    return conditions + dimension_conditions(flt, rollup.table)
