"""Conversion figures counted from the call log, its touches and their appointments.

Each incoming call's steps are derived when the report reads (see ``domain.conversion``):
a touch names its call, an appointment names the call it was booked during or the touch
it was booked from. Counted per group in one statement over the filtered calls, with the
whole period's total as a grouping set of the same scan. There is no roll-up yet: the
cost grows with the calls of the period (see the README).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.selectable import LateralFromClause

from switchboard_analytics.adapters.queries import (
    CallLogFilter,
    call_log_conditions,
    resolve_search,
)
from switchboard_analytics.adapters.tables import appointments, call_log, clinics, touches

c, t, a = call_log.c, touches.c, appointments.c


def _key(group_by: str) -> sa.ColumnElement[Any]:
    if group_by == "admin":
        return c.admin_id
    if group_by == "clinic":
        return c.clinic_id
    if group_by == "did":
        return c.did
    if group_by == "day":
        return sa.func.to_char(c.local_started_at, "YYYY-MM-DD")
    if group_by == "month":
        return sa.func.to_char(c.local_started_at, "YYYY-MM")
    raise ValueError(f"group_by: {group_by}")


def _call_appointments() -> LateralFromClause:
    """Per call: its booked appointments and how many of them were cancelled."""
    its_touches = (
        sa.select(t.touch_id).where(t.call_id == c.call_id).correlate(call_log).scalar_subquery()
    )
    return (
        sa.select(
            sa.func.count().label("booked"),
            sa.func.count().filter(a.cancelled_at.is_not(None)).label("cancelled"),
        )
        .where(
            a.booked_at.is_not(None),
            sa.or_(
                a.call_id == c.call_id,
                sa.and_(a.call_id.is_(None), a.touch_id.in_(its_touches)),
            ),
        )
        .correlate(call_log)
        .lateral("call_appointments")
    )


def _sum(flag: sa.ColumnElement[bool]) -> sa.ColumnElement[Any]:
    return sa.cast(sa.func.count().filter(flag), sa.BigInteger)


async def conversion_counts(
    session: AsyncSession, flt: CallLogFilter, group_by: str, limit: int
) -> tuple[dict[str, int], list[tuple[str | None, dict[str, int]]]]:
    """The whole period's counts and up to ``limit + 1`` groups' (sorted by key, calls
    with no key last), of the incoming calls ``flt`` selects."""
    ap = _call_appointments()
    key = _key(group_by).label("key")
    answered = c.disposition == "answered"
    touched = sa.and_(answered, sa.exists().where(t.call_id == c.call_id).correlate(call_log))
    booked = sa.and_(touched, ap.c.booked > 0)
    measures = [
        sa.cast(sa.func.count(), sa.BigInteger).label("incoming"),
        _sum(answered).label("answered"),
        _sum(touched).label("with_touch"),
        _sum(booked).label("with_appointment"),
        _sum(sa.and_(booked, ap.c.cancelled == ap.c.booked)).label("cancelled"),
        sa.cast(sa.func.coalesce(sa.func.sum(ap.c.booked).filter(booked), 0), sa.BigInteger).label(
            "appointments"
        ),
        sa.cast(
            sa.func.coalesce(sa.func.sum(ap.c.cancelled).filter(booked), 0), sa.BigInteger
        ).label("appointments_cancelled"),
    ]
    conditions = call_log_conditions(await resolve_search(session, flt))
    query = (
        sa.select(sa.func.grouping(key).label("total"), key, *measures)
        .select_from(call_log.join(ap, sa.true()))
        .where(c.call_type == "incoming", *conditions)
        .group_by(sa.func.grouping_sets(sa.tuple_(key), sa.tuple_()))
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


async def clinic_names(session: AsyncSession, clinic_ids: set[str]) -> dict[str, str]:
    """Clinic names by id (those the directory told us about)."""
    if not clinic_ids:
        return {}
    rows = await session.execute(
        sa.select(clinics.c.clinic_id, clinics.c.name).where(
            clinics.c.clinic_id.in_(sorted(clinic_ids))
        )
    )
    return {clinic_id: name for clinic_id, name in rows.all()}
