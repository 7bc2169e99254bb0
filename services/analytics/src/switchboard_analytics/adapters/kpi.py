"""The service level report's reads, and the clinics' service level targets.

The report is the calls report's machinery (groupings, filters, roll-up choice, bucket
filling, pages, CSV) with other measures: per group, the counts of incoming calls, the
answered ones within each call's own clinic's target, and the wait and call-back delay
histograms (``domain.kpi``), summed from the service level roll-ups (incoming calls only,
cumulative histograms: ``tables._kpi_rollup``), or counted from the call log the same way.
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
    PackedHistogram,
    within_index,
)
from switchboard_analytics.domain.reports import GroupFigures

_FIXED = 6  # incoming, answered, missed, answered wait, called back, within target


def _total(value: Any) -> sa.ColumnElement[Any]:
    return sa.cast(sa.func.coalesce(value, 0), sa.BigInteger)


def uniform(targets: Mapping[str, int]) -> bool:
    """Whether every clinic has the default target (a chain-wide roll-up answers)."""
    return all(seconds == DEFAULT_TARGET_SECONDS for seconds in targets.values())


def _target_classes(targets: Mapping[str, int]) -> list[tuple[int, list[str]]]:
    """The clinics by target: each target other than the default with its clinics, then
    the default with the clinics of the others (every clinic but those)."""
    by_target: dict[int, list[str]] = {}
    for clinic_id, seconds in targets.items():
        if seconds != DEFAULT_TARGET_SECONDS:
            by_target.setdefault(seconds, []).append(clinic_id)
    others = sorted(c for ids in by_target.values() for c in ids)
    return [(s, sorted(ids)) for s, ids in sorted(by_target.items())] + [
        (DEFAULT_TARGET_SECONDS, others)
    ]


def _by_target(
    clinic: sa.ColumnElement[Any], targets: Mapping[str, int], within: Any
) -> sa.ColumnElement[Any]:
    """``within(X)`` with X the row's clinic's target (``clinic``: '' for no clinic)."""
    *own, _ = _target_classes(targets)
    if not own:
        return within(DEFAULT_TARGET_SECONDS)  # type: ignore[no-any-return]
    return sa.case(
        *((clinic.in_(ids), within(seconds)) for seconds, ids in own),
        else_=within(DEFAULT_TARGET_SECONDS),
    )


def _rollup_measures(table: sa.Table, targets: Mapping[str, int]) -> list[sa.ColumnElement[Any]]:
    r = table.c
    if "clinic_id" not in r and not uniform(targets):
        raise ValueError(f"{table.name}: clinics' targets differ, a clinic roll-up answers")
    clinic = r.clinic_id if "clinic_id" in r else sa.literal("")
    *own, (_, others) = _target_classes(targets)
    # With clinics of other targets, the packed histograms of each class of clinics: its
    # count within the class's target is read from the sum (``_rollup_figures``), one
    # count per group, not per row. Without, the group's histogram is its only class.
    within: list[sa.ColumnElement[Any]] = [
        sa.func.sum(r.waits).filter(clinic.in_(ids)) for _, ids in own
    ]
    if others:
        within.append(sa.func.sum(r.waits).filter(clinic.not_in(others)))
    return [
        _total(sa.func.sum(r.incoming)),
        _total(sa.func.sum(r.answered)),
        _total(sa.func.sum(r.missed)),
        _total(sa.func.sum(r.answered_wait_seconds)),
        _total(sa.func.sum(r.called_back)),
        *within,
        sa.func.sum(r.waits),
        sa.func.sum(r.callback_delays),
    ]


def _rollup_figures(targets: Mapping[str, int]) -> Any:
    """How a row of :func:`_rollup_measures` becomes a group's :class:`KpiSums`."""
    indexes = [within_index(seconds) - 1 for seconds, _ in _target_classes(targets)]
    waits_size, delays_size = len(WAIT_BOUNDS), len(CALLBACK_DELAY_BOUNDS)

    def figures(group_by: str, width: int, row: Sequence[Any]) -> GroupFigures:
        *classes, packed_waits, packed_delays = row[width + 5 :]
        waits = PackedHistogram(packed_waits, waits_size)
        within = (
            sum(
                PackedHistogram(histogram, waits_size)[index]
                for histogram, index in zip(classes, indexes, strict=True)
            )
            if classes
            else waits[indexes[0]]
        )
        delays = PackedHistogram(packed_delays, delays_size)
        return _kpi_group(group_by, width, row, within, waits, delays)

    return figures


def _kpi_group(
    group_by: str,
    width: int,
    row: Sequence[Any],
    within: int,
    waits: Sequence[int],
    delays: Sequence[int],
) -> GroupFigures:
    """A group's :class:`KpiSums` from a result row that starts, after its ``width`` key
    columns, with the counts of incoming, answered and missed calls, the answered calls'
    wait and the called-back count; ``within`` and the histograms as read from the rest."""
    incoming, answered, missed, wait, called_back = row[width : width + 5]
    sums = KpiSums(
        incoming=incoming,
        answered=answered,
        missed=missed,
        answered_wait_seconds=wait,
        answered_within_target=within,
        called_back=called_back,
        cumulative_waits=waits,
        cumulative_callback_delays=delays,
    )
    return GroupFigures(key=group_key(group_by, width, row), by_type={}, kpi=sums)


def _cumulative_counts(
    bucket: sa.ColumnElement[Any], size: int, *where: Any
) -> list[sa.ColumnElement[Any]]:
    return [_total(sa.func.count().filter(*where, bucket <= i)) for i in range(1, size + 1)]


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
    target = _by_target(
        sa.func.coalesce(c.clinic_id, ""), targets, lambda s: sa.literal(within_index(s))
    )
    return [
        _total(sa.func.count().filter(incoming)),
        _total(sa.func.count().filter(answered)),
        _total(sa.func.count().filter(missed)),
        _total(sa.func.sum(wait).filter(answered)),
        _total(sa.func.count().filter(called_back)),
        _total(sa.func.count().filter(answered, wait_bucket <= target)),
        *_cumulative_counts(wait_bucket, len(WAIT_BOUNDS), answered),
        *_cumulative_counts(delay_bucket, len(CALLBACK_DELAY_BOUNDS), called_back),
    ]


def _kpi_figures(group_by: str, width: int, row: Sequence[Any]) -> GroupFigures:
    """How a row of :func:`_call_log_measures` becomes a group's :class:`KpiSums`."""
    waits = width + _FIXED + len(WAIT_BOUNDS)
    within = row[width + _FIXED - 1]
    return _kpi_group(group_by, width, row, within, row[width + _FIXED : waits], row[waits:])


def kpi_measures(targets: Mapping[str, int]) -> Measures:
    """The service level report's measures, with each clinic's target (``targets``:
    clinic id → seconds; others have the default), over the service level roll-ups
    (``KPI_ROLLUPS``) or the call log."""
    return Measures(
        rollup=lambda table: _rollup_measures(table, targets),
        call_log=lambda: _call_log_measures(targets),
        figures=_kpi_figures,
        rollup_figures=_rollup_figures(targets),
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
