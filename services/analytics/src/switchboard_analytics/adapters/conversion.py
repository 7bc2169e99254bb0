"""Conversion figures: incoming calls → answered → with a touch → with an appointment →
cancelled, per group, from a roll-up or from the call log.

Each call row carries its conversion columns (``store.linked_of``: a touch names it,
its appointments booked and cancelled), kept by the projection whichever of call, touch
and appointment arrives first; every roll-up sums what they add to each measure
(``rollup_deltas._conversion_measures``). So the report reads the roll-up the calls report would
read (:func:`conversion_rollup`), or, for filters only the log answers, counts the call
log's rows; both give the same figures. One statement either way, the whole period's total
a grouping set of the same scan.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard_analytics.adapters.queries import (
    CallLogFilter,
    call_log_conditions,
    resolve_search,
)
from switchboard_analytics.adapters.rollup_choice import Rollup, rollup_conditions
from switchboard_analytics.adapters.rollup_tables import CONVERSION_COLUMNS
from switchboard_analytics.adapters.tables import call_log

#: The calls report's grouping whose roll-up choice answers each conversion grouping:
#: an admin needs an admin dimension (whole months: the month roll-up), a clinic a clinic
#: dimension (``by_clinic``), a number the by-number roll-ups; days and months any.
ROLLUP_GROUPING = {
    "admin": "employee_month",
    "clinic": "day",
    "did": "did",
    "day": "day",
    "month": "day",
}


def _key(group_by: str, table: sa.Table, time: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
    """The group's key: a dimension (roll-ups keep a missing one as '') or the local date."""
    if group_by in ("admin", "clinic", "did"):
        column = table.c[f"{group_by}_id" if group_by != "did" else "did"]
        return sa.func.nullif(column, "") if table is not call_log else column
    if group_by in ("day", "month"):
        return sa.func.to_char(time, "YYYY-MM-DD" if group_by == "day" else "YYYY-MM")
    raise ValueError(f"group_by: {group_by}")


def _count(value: Any) -> sa.ColumnElement[Any]:
    return sa.cast(sa.func.coalesce(value, 0), sa.BigInteger)


def _rollup_measures(table: sa.Table) -> list[sa.ColumnElement[Any]]:
    r = table.c
    return [
        _count(sa.func.sum(r.calls)).label("incoming"),
        _count(sa.func.sum(r.calls).filter(r.disposition == "answered")).label("answered"),
        *(_count(sa.func.sum(r[m])).label(m) for m in CONVERSION_COLUMNS),
    ]


def _call_log_measures() -> list[sa.ColumnElement[Any]]:
    c = call_log.c
    answered = c.disposition == "answered"
    touched = sa.and_(answered, c.has_touch)
    booked = sa.and_(touched, c.appointments_booked > 0)
    return [
        _count(sa.func.count()).label("incoming"),
        _count(sa.func.count().filter(answered)).label("answered"),
        _count(sa.func.count().filter(touched)).label("with_touch"),
        _count(sa.func.count().filter(booked)).label("with_appointment"),
        _count(
            sa.func.count().filter(booked, c.appointments_cancelled == c.appointments_booked)
        ).label("cancelled"),
        _count(sa.func.sum(c.appointments_booked).filter(booked)).label("appointments"),
        _count(sa.func.sum(c.appointments_cancelled).filter(booked)).label(
            "appointments_cancelled"
        ),
    ]


async def conversion_counts(
    session: AsyncSession, flt: CallLogFilter, group_by: str, limit: int, rollup: Rollup | None
) -> tuple[dict[str, int], list[tuple[str | None, dict[str, int]]]]:
    """The whole period's counts and up to ``limit + 1`` groups' (sorted by key, calls
    with no key last), of the incoming calls ``flt`` selects: from ``rollup``, or from the
    call log when ``None``."""
    if rollup is not None:
        table, time = rollup.table, rollup.time
        measures = _rollup_measures(table)
        conditions = rollup_conditions(flt, rollup)
        # Roll-up rows whose calls all moved elsewhere stay as zeros: no group of theirs.
        having: Any = sa.func.sum(table.c.calls) != 0
    else:
        table, time = call_log, call_log.c.local_started_at
        measures = _call_log_measures()
        conditions = call_log_conditions(await resolve_search(session, flt))
        having = sa.true()
    key = _key(group_by, table, time).label("key")
    query = (
        sa.select(sa.func.grouping(key).label("total"), key, *measures)
        .where(table.c.call_type == "incoming", *conditions)
        .group_by(sa.func.grouping_sets(sa.tuple_(key), sa.tuple_()))
        .having(having)
        # The total first, then the groups: one more than asked tells the caller there are more.
        .order_by(sa.func.grouping(key).desc(), key.collate("C").asc().nulls_last())
        .limit(limit + 2)
    )
    total: dict[str, int] = {}
    groups: list[tuple[str | None, dict[str, int]]] = []
    for row in (await session.execute(query)).mappings():
        counts = {m.name: int(row[m.name]) for m in measures}
        if row["total"]:
            total = counts
        else:
            groups.append((row["key"], counts))
    return total, groups
