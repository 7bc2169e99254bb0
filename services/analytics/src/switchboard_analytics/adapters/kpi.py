"""The service level report's reads, and the clinics' service level targets.

The report is the calls report's machinery (groupings, filters, roll-up choice, bucket
filling, pages, CSV) with other measures: per group, the counts of incoming calls, the
answered ones within each call's own clinic's target, and the wait and call-back delay
histograms (``domain.kpi``), summed from the roll-ups with a clinic, or counted from the
call log the same way.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard_analytics.adapters.reports import Measures, group_key
from switchboard_analytics.adapters.tables import call_log, clinics, service_level_targets
from switchboard_analytics.domain.kpi import (
    CALLBACK_DELAY_BOUNDS,
    DEFAULT_TARGET_SECONDS,
    WAIT_BOUNDS,
    KpiSums,
    callback_delay_column,
    wait_column,
)
from switchboard_analytics.domain.reports import GroupFigures

_FIXED = 6  # incoming, answered, missed, answered wait, within target, called back


def _total(value: Any) -> sa.ColumnElement[Any]:
    return sa.cast(sa.func.coalesce(value, 0), sa.BigInteger)


def _by_target(
    clinic: sa.ColumnElement[Any], targets: Mapping[str, int], within: Any
) -> sa.ColumnElement[Any]:
    """``within(X)`` with X the row's clinic's target (``clinic``: '' for no clinic)."""
    clinics_by_target: dict[int, list[str]] = {}
    for clinic_id, seconds in targets.items():
        if seconds != DEFAULT_TARGET_SECONDS:
            clinics_by_target.setdefault(seconds, []).append(clinic_id)
    if not clinics_by_target:
        return within(DEFAULT_TARGET_SECONDS)  # type: ignore[no-any-return]
    return sa.case(
        *(
            (clinic.in_(sorted(ids)), within(seconds))
            for seconds, ids in sorted(clinics_by_target.items())
        ),
        else_=within(DEFAULT_TARGET_SECONDS),
    )


def _rollup_measures(table: sa.Table, targets: Mapping[str, int]) -> list[sa.ColumnElement[Any]]:
    r = table.c
    incoming = r.call_type == "incoming"
    answered = sa.and_(incoming, r.disposition == "answered")
    missed = sa.and_(incoming, r.disposition == "missed")

    def within(seconds: int) -> sa.ColumnElement[Any]:
        # Buckets of one whole second up to 120 s: those up to the target are exactly the
        # answers within it.
        columns = [sa.func.coalesce(r[wait_column(s)], 0) for s in range(seconds + 1)]
        return sum(columns[1:], columns[0])

    return [
        _total(sa.func.sum(r.calls).filter(incoming)),
        _total(sa.func.sum(r.calls).filter(answered)),
        _total(sa.func.sum(r.calls).filter(missed)),
        _total(sa.func.sum(r.wait_seconds).filter(answered)),
        _total(sa.func.sum(_by_target(r.clinic_id, targets, within))),
        _total(sa.func.sum(r.calls).filter(missed, r.called_back)),
        *(_total(sa.func.sum(r[wait_column(b)])) for b in WAIT_BOUNDS),
        *(_total(sa.func.sum(r[callback_delay_column(b)])) for b in CALLBACK_DELAY_BOUNDS),
    ]


def _call_log_measures(targets: Mapping[str, int]) -> list[sa.ColumnElement[Any]]:
    c = call_log.c
    incoming = c.call_type == "incoming"
    answered = sa.and_(incoming, c.disposition == "answered")
    missed = sa.and_(incoming, c.disposition == "missed")
    called_back = sa.and_(missed, c.called_back)
    wait = sa.func.coalesce(c.wait_seconds, 0)
    delay = sa.func.coalesce(c.callback_delay_seconds, 0)
    wait_bucket = sa.func.width_bucket(wait, sa.literal(list(WAIT_BOUNDS), pg.ARRAY(sa.Integer)))
    delay_bucket = sa.func.width_bucket(
        delay, sa.literal(list(CALLBACK_DELAY_BOUNDS), pg.ARRAY(sa.Integer))
    )
    target = _by_target(sa.func.coalesce(c.clinic_id, ""), targets, lambda s: sa.literal(s))
    return [
        _total(sa.func.count().filter(incoming)),
        _total(sa.func.count().filter(answered)),
        _total(sa.func.count().filter(missed)),
        _total(sa.func.sum(wait).filter(answered)),
        _total(sa.func.count().filter(answered, wait <= target)),
        _total(sa.func.count().filter(called_back)),
        *(
            _total(sa.func.count().filter(answered, wait_bucket == i))
            for i in range(1, len(WAIT_BOUNDS) + 1)
        ),
        *(
            _total(sa.func.count().filter(called_back, delay_bucket == i))
            for i in range(1, len(CALLBACK_DELAY_BOUNDS) + 1)
        ),
    ]


def _kpi_figures(group_by: str, width: int, row: Sequence[Any]) -> GroupFigures:
    values = [int(v) for v in row[width:]]
    waits = len(WAIT_BOUNDS)
    incoming, answered, missed, wait, within, called_back = values[:_FIXED]
    sums = KpiSums(
        incoming=incoming,
        answered=answered,
        missed=missed,
        answered_wait_seconds=wait,
        answered_within_target=within,
        called_back=called_back,
        wait_histogram=tuple(values[_FIXED : _FIXED + waits]),
        callback_delay_histogram=tuple(values[_FIXED + waits :]),
    )
    return GroupFigures(key=group_key(group_by, width, row), by_type={}, kpi=sums)


def kpi_measures(targets: Mapping[str, int]) -> Measures:
    """The service level report's measures, with each clinic's target (``targets``:
    clinic id → seconds; others have the default)."""
    return Measures(
        rollup=lambda table: _rollup_measures(table, targets),
        call_log=lambda: _call_log_measures(targets),
        figures=_kpi_figures,
    )


# ---------------------------------------------------------------------------------------
# Targets


@dataclass(frozen=True)
class Target:
    """A clinic's service level target as the API shows it."""

    clinic_id: str
    clinic_name: str | None
    target_seconds: int
    set_by: str | None
    set_at: datetime | None


async def targets(session: AsyncSession) -> dict[str, int]:
    """Clinic id → service level target, for the clinics that have one set."""
    rows = await session.execute(
        sa.select(service_level_targets.c.clinic_id, service_level_targets.c.target_seconds)
    )
    return {clinic_id: seconds for clinic_id, seconds in rows.all()}


async def list_targets(session: AsyncSession) -> list[Target]:
    """Every known clinic's target (the default where none is set), and targets of clinics
    the directory has not told about, by clinic id."""
    t, c = service_level_targets.c, clinics.c
    known = sa.select(c.clinic_id, c.name, t.target_seconds, t.set_by, t.set_at).select_from(
        clinics.outerjoin(service_level_targets, t.clinic_id == c.clinic_id)
    )
    unknown = (
        sa.select(t.clinic_id, sa.null(), t.target_seconds, t.set_by, t.set_at)
        .select_from(service_level_targets.outerjoin(clinics, t.clinic_id == c.clinic_id))
        .where(c.clinic_id.is_(None))
    )
    rows = (await session.execute(sa.union_all(known, unknown).order_by("clinic_id"))).all()
    return [
        Target(
            clinic_id=row[0],
            clinic_name=row[1],
            target_seconds=row[2] if row[2] is not None else DEFAULT_TARGET_SECONDS,
            set_by=row[3],
            set_at=row[4],
        )
        for row in rows
    ]


async def set_target(
    session: AsyncSession, clinic_id: str, seconds: int, set_by: str, at: datetime
) -> None:
    """Set a clinic's target (reports read it at once: the roll-ups keep histograms)."""
    insert = pg_insert(service_level_targets).values(
        clinic_id=clinic_id, target_seconds=seconds, set_by=set_by, set_at=at
    )
    await session.execute(
        insert.on_conflict_do_update(
            index_elements=["clinic_id"],
            set_={"target_seconds": seconds, "set_by": set_by, "set_at": at},
        )
    )


async def clear_target(session: AsyncSession, clinic_id: str) -> bool:
    """Back to the default target; whether the clinic had one set."""
    result = await session.execute(
        sa.delete(service_level_targets).where(service_level_targets.c.clinic_id == clinic_id)
    )
    return bool(getattr(result, "rowcount", 0))
