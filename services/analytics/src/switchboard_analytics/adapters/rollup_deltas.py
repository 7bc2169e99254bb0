"""The roll-ups' write side: add or take away calls of the call log, in one statement.

Every change to a counted call is "take its contribution away, change it, add it back",
so a roll-up always equals a GROUP BY over the call log, whatever changed (disposition,
admin, called-back flag, the clinic's time zone). The statements go through the
:mod:`.tables` objects, so that ``rebuild`` runs them against its fresh tables too.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard_analytics.adapters.binds import array, param
from switchboard_analytics.adapters.rollup_tables import (
    CONVERSION_COLUMNS,
    KPI_ROLLUP_TABLES,
    ROLLUP_TABLES,
)
from switchboard_analytics.adapters.tables import call_log
from switchboard_analytics.domain.kpi import CALLBACK_DELAY_BOUNDS, WAIT_BOUNDS

#: The service level roll-ups' cumulative histograms, summed with ``histogram_add``.
_HISTOGRAMS = ("waits", "callback_delays")


def _source(where: sa.ColumnElement[bool]) -> sa.CTE:
    """Per ended call matching ``where``: its roll-up keys and what it adds to each
    measure."""
    c = call_log.c
    return (
        sa.select(
            sa.func.date_trunc("hour", c.local_started_at).label("local_hour"),
            sa.cast(c.local_started_at, sa.Date).label("local_day"),
            sa.cast(sa.func.date_trunc("month", c.local_started_at), sa.Date).label("local_month"),
            sa.func.coalesce(c.clinic_id, "").label("clinic_id"),
            sa.func.coalesce(c.admin_id, "").label("admin_id"),
            sa.func.coalesce(c.did, "").label("did"),
            c.call_type,
            c.disposition,
            c.called_back,
            sa.func.coalesce(c.talk_seconds, 0).label("talk_seconds"),
            sa.func.coalesce(c.wait_seconds, 0).label("wait_seconds"),
            *_kpi_buckets(),
            *_conversion_measures(),
        )
        .where(c.ended_at.is_not(None), c.disposition.is_not(None), where)
        .cte("rollup_source")
    )


def _kpi_buckets() -> list[sa.ColumnElement[Any]]:
    """Per call: the wait bucket of an answered incoming call and the call-back delay
    bucket of a called-back missed one (1-based, ``domain.kpi``'s bounds), else NULL."""
    c = call_log.c
    incoming = c.call_type == "incoming"
    return [
        sa.case(
            (
                sa.and_(incoming, c.disposition == "answered"),
                sa.func.width_bucket(
                    sa.func.coalesce(c.wait_seconds, 0),
                    sa.literal(list(WAIT_BOUNDS), pg.ARRAY(sa.Integer)),
                ),
            )
        ).label("wait_bucket"),
        sa.case(
            (
                sa.and_(incoming, c.disposition == "missed", c.called_back),
                sa.func.width_bucket(
                    sa.func.coalesce(c.callback_delay_seconds, 0),
                    sa.literal(list(CALLBACK_DELAY_BOUNDS), pg.ARRAY(sa.Integer)),
                ),
            )
        ).label("delay_bucket"),
    ]


def _conversion_measures() -> list[sa.ColumnElement[Any]]:
    """Per call, what it adds to each conversion measure (``domain.conversion``): an
    answered incoming call with a touch counts, its appointments only when it has one."""
    c = call_log.c
    touched = sa.and_(c.call_type == "incoming", c.disposition == "answered", c.has_touch)
    booked = sa.and_(touched, c.appointments_booked > 0)
    all_cancelled = sa.and_(booked, c.appointments_cancelled == c.appointments_booked)
    return [
        sa.case((touched, 1), else_=0).label("with_touch"),
        sa.case((booked, 1), else_=0).label("with_appointment"),
        sa.case((all_cancelled, 1), else_=0).label("cancelled"),
        sa.case((booked, c.appointments_booked), else_=0).label("appointments"),
        sa.case((booked, c.appointments_cancelled), else_=0).label("appointments_cancelled"),
    ]


def _calls_measures(source: sa.CTE, sign: Any) -> dict[str, sa.ColumnElement[Any]]:
    """A calls roll-up's measures of a group of ``source`` (``tables._rollup``)."""
    s = source.c
    return {
        "calls": sa.func.count() * sign,
        "talk_seconds": sa.func.sum(s.talk_seconds) * sign,
        "wait_seconds": sa.func.sum(s.wait_seconds) * sign,
        **{m: sa.func.sum(s[m]) * sign for m in CONVERSION_COLUMNS},
    }


def _cumulative(bucket: Any, size: int, sign: Any) -> sa.ColumnElement[Any]:
    """``sign`` times a group's calls per ``bucket`` (1 to ``size``), cumulative (see
    ``tables._kpi_rollup``); NULL when no call of the group has a bucket."""
    counts = [sa.func.count().filter(bucket <= index) * sign for index in range(1, size + 1)]
    return sa.case((sa.func.count(bucket) > 0, sa.cast(pg.array(counts), pg.ARRAY(sa.Integer))))


def _kpi_measures(source: sa.CTE, sign: Any) -> dict[str, sa.ColumnElement[Any]]:
    """A service level roll-up's measures of a group of ``source``
    (``tables._kpi_rollup``)."""
    s = source.c
    incoming = s.call_type == "incoming"
    answered = sa.and_(incoming, s.disposition == "answered")
    missed = sa.and_(incoming, s.disposition == "missed")
    return {
        "calls": sa.func.count() * sign,
        "incoming": sa.func.count().filter(incoming) * sign,
        "answered": sa.func.count().filter(answered) * sign,
        "missed": sa.func.count().filter(missed) * sign,
        "called_back": sa.func.count().filter(missed, s.called_back) * sign,
        "answered_wait_seconds": sa.func.coalesce(
            sa.func.sum(s.wait_seconds).filter(answered) * sign, 0
        ),
        "waits": _cumulative(s.wait_bucket, len(WAIT_BOUNDS), sign),
        "callback_delays": _cumulative(s.delay_bucket, len(CALLBACK_DELAY_BOUNDS), sign),
    }


def _upsert(
    table: sa.Table, source: sa.CTE, measures: Mapping[str, sa.ColumnElement[Any]]
) -> sa.CTE:
    """``INSERT … ON CONFLICT`` adding ``source``'s groups (by ``table``'s key) to
    ``table``, as a CTE."""
    keys = [col.name for col in table.primary_key.columns]
    grouped = sa.select(
        *[source.c[k] for k in keys], *(v.label(k) for k, v in measures.items())
    ).group_by(*[source.c[k] for k in keys])
    insert = pg_insert(table).from_select([*keys, *measures], grouped)
    merged: dict[str, Any] = {}
    for k in measures:
        if k in _HISTOGRAMS:
            # Most calls add no histogram (only answered or called-back incoming ones do).
            merged[k] = sa.case(
                (insert.excluded[k].is_(None), table.c[k]),
                else_=sa.func.histogram_add(table.c[k], insert.excluded[k], type_=table.c[k].type),
            )
        else:
            merged[k] = table.c[k] + insert.excluded[k]
    return insert.on_conflict_do_update(index_elements=keys, set_=merged).cte(
        f"upsert_{table.name}"
    )


def _fill(table: sa.Table, source: sa.CTE, measures: Mapping[str, sa.ColumnElement[Any]]) -> sa.CTE:
    """A plain ``INSERT`` of ``source``'s groups (by ``table``'s key) into the empty
    ``table``, as a CTE: no key to look up per row (a rebuild fills its roll-ups before
    their primary keys are built, as a bulk load does)."""
    keys = [col.name for col in table.primary_key.columns]
    grouped = sa.select(
        *[source.c[k] for k in keys], *(v.label(k) for k, v in measures.items())
    ).group_by(*[source.c[k] for k in keys])
    return sa.insert(table).from_select([*keys, *measures], grouped).cte(f"fill_{table.name}")


def _delta_statement(where: sa.ColumnElement[bool]) -> sa.Select[Any]:
    """Add ``:sign`` times the ended calls matching ``where`` to every calls and service
    level roll-up, in one statement (one INSERT … ON CONFLICT per roll-up, as CTEs over
    one source)."""
    sign = sa.bindparam("sign", type_=sa.Integer)
    source = _source(where)
    calls, kpi = _calls_measures(source, sign), _kpi_measures(source, sign)
    upserts = [_upsert(t, source, calls) for t in ROLLUP_TABLES]
    upserts += [_upsert(t, source, kpi) for t in KPI_ROLLUP_TABLES]
    return sa.select(sa.literal(1)).add_cte(source, *upserts)


#: Which calls each roll-up delta reads.
_DELTA_WHERE: dict[str, Callable[[], sa.ColumnElement[bool]]] = {
    # An array, not an expanded IN list: one statement text whatever the batch, so the
    # server prepares and plans it once per connection.
    "calls": lambda: call_log.c.call_id == sa.any_(array("call_ids", sa.Text)),
    "clinic": lambda: call_log.c.clinic_id == param("clinic_id"),
}


@functools.cache
def _delta(calls: str) -> sa.Select[Any]:
    """The roll-up delta of ``calls`` (a key of ``_DELTA_WHERE``), built at its first use:
    a service runs only the ones its work needs (the live projection one, a rebuild
    another)."""
    return _delta_statement(_DELTA_WHERE[calls]())


async def count_calls(session: AsyncSession, call_ids: Sequence[str], sign: int) -> None:
    """Add (``sign=1``) or take away (``-1``) the calls (those ended) in every roll-up."""
    await session.execute(_delta("calls"), {"call_ids": list(call_ids), "sign": sign})


async def count_clinic(session: AsyncSession, clinic_id: str, sign: int) -> None:
    """:func:`count_calls` for every call of a clinic."""
    await session.execute(_delta("clinic"), {"clinic_id": clinic_id, "sign": sign})


#: The roll-ups in four groups of about the same cost (each kind's grains alternately:
#: the hourly ones have the most rows), which a rebuild fills concurrently, one
#: connection each.
FILL_GROUPS: tuple[tuple[sa.Table, ...], ...] = (
    ROLLUP_TABLES[0::2],
    ROLLUP_TABLES[1::2],
    KPI_ROLLUP_TABLES[0::2],
    KPI_ROLLUP_TABLES[1::2],
)


@functools.cache
def _fill_statement(tables: tuple[sa.Table, ...]) -> sa.Select[Any]:
    """Fill ``tables`` (empty) from every ended call, in one statement (one INSERT per
    roll-up, as CTEs over one source)."""
    one = sa.literal(1, sa.Integer)
    source = _source(sa.true())
    calls, kpi = _calls_measures(source, one), _kpi_measures(source, one)
    fills = [_fill(t, source, kpi if t in KPI_ROLLUP_TABLES else calls) for t in tables]
    return sa.select(sa.literal(1)).add_cte(source, *fills)


async def rebuild_rollups(
    session: AsyncSession, tables: Sequence[sa.Table] = (*ROLLUP_TABLES, *KPI_ROLLUP_TABLES)
) -> None:
    """Empty the roll-ups ``tables`` (all by default) and fill them from the call log
    (bulk loads)."""
    for table in tables:
        await session.execute(sa.delete(table))
    # The grouping of the service level roll-ups spilled to disk at the default 4 MB.
    await session.execute(sa.text("SET LOCAL work_mem = '64MB'"))
    await session.execute(_fill_statement(tuple(tables)))
