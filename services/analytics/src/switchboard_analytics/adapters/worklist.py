"""The call-back worklist's reads (a query over the call log and the operators' actions)
and its one write (an action row).

Not a database view: ``rebuild`` swaps the call log for a fresh table, and a view would
keep reading the retired one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard_analytics.adapters.tables import call_log, callback_actions, clinics, operators
from switchboard_analytics.domain.recordings import CHAIN_WIDE_ROLES
from switchboard_analytics.domain.worklist import Holder
from switchboard_runtime.auth import Principal


@dataclass(frozen=True)
class Callback:
    """One call-back on the worklist: a number's open missed calls."""

    call_id: str
    number: str
    attempts: int
    first_missed_at: datetime
    last_missed_at: datetime
    clinic_id: str | None
    clinic_name: str | None
    extension: str | None
    contact_id: str | None
    contact_kind: str | None
    contact_name: str | None
    holder: Holder | None


@dataclass(frozen=True)
class ClinicLoad:
    """The worklist of one clinic (``None``: calls of no known clinic)."""

    clinic_id: str | None
    clinic_name: str | None
    open: int
    claimed: int
    oldest_missed_at: datetime


def _literal(text: str) -> Any:
    # Inlined, so that the planner matches the partial index's predicate.
    return sa.literal_column(f"'{text}'")


def _visible_to(viewer: Principal) -> sa.ColumnElement[bool]:
    """The calls ``viewer`` sees: ``domain.recordings.may_see_call`` in SQL (admins and
    managers all; an operator none handled by another call center)."""
    if viewer.role in CHAIN_WIDE_ROLES:
        return sa.true()
    seen = [call_log.c.admin_id.is_(None), call_log.c.admin_id == viewer.operator_id]
    if viewer.call_center_id is not None:
        seen.append(
            sa.exists().where(
                operators.c.operator_id == call_log.c.admin_id,
                operators.c.call_center_id == viewer.call_center_id,
            )
        )
    return sa.or_(*seen)


def _open_missed(viewer: Principal, since: datetime, number: str | None) -> sa.CTE:
    """Missed incoming calls since ``since`` that are not called back and not closed."""
    closed = callback_actions.alias("closed")
    query = sa.select(
        call_log.c.call_id,
        call_log.c.src,
        call_log.c.started_at,
        call_log.c.clinic_id,
        call_log.c.extension,
        call_log.c.contact_id,
        call_log.c.contact_kind,
        call_log.c.contact_name,
    ).where(
        call_log.c.call_type == _literal("incoming"),
        call_log.c.disposition == _literal("missed"),
        sa.not_(call_log.c.called_back),
        call_log.c.started_at >= since,
        call_log.c.src != "",
        ~sa.exists().where(
            closed.c.action == _literal("closed"),
            closed.c.number == call_log.c.src,
            closed.c.covers_until >= call_log.c.started_at,
        ),
        _visible_to(viewer),
    )
    if number is not None:
        query = query.where(call_log.c.src == number)
    return query.cte("open_missed")


def _callbacks(viewer: Principal, since: datetime, number: str | None = None) -> sa.Subquery:
    """One row per number: its open missed calls, the first one's id, clinic and
    extension, and who holds the call-back."""
    o = _open_missed(viewer, since, number).c
    order = (o.started_at, o.call_id)

    def first(column: Any) -> Any:
        return sa.func.array_agg(pg.aggregate_order_by(column, *order))[1]

    def latest(column: Any) -> Any:
        return sa.func.array_agg(pg.aggregate_order_by(column, o.started_at.desc(), o.call_id))[1]

    items = (
        sa.select(
            first(o.call_id).label("call_id"),
            o.src.label("number"),
            sa.func.count().label("attempts"),
            sa.func.min(o.started_at).label("first_missed_at"),
            sa.func.max(o.started_at).label("last_missed_at"),
            first(o.clinic_id).label("clinic_id"),
            first(o.extension).label("extension"),
            latest(o.contact_id).label("contact_id"),
            latest(o.contact_kind).label("contact_kind"),
            latest(o.contact_name).label("contact_name"),
        )
        .group_by(o.src)
        .subquery("items")
    )
    a = callback_actions
    last_action = (
        sa.select(a.c.action, a.c.operator_id, a.c.operator_name, a.c.acted_at)
        .where(a.c.call_id == items.c.call_id)
        .order_by(a.c.action_id.desc())
        .limit(1)
        .lateral("last_action")
    )
    claimed = last_action.c.action == "claimed"
    return (
        sa.select(
            items,
            clinics.c.name.label("clinic_name"),
            sa.case((claimed, last_action.c.operator_id)).label("holder_id"),
            sa.case((claimed, last_action.c.operator_name)).label("holder_name"),
            sa.case((claimed, last_action.c.acted_at)).label("claimed_at"),
        )
        .select_from(
            items.outerjoin(last_action, sa.true()).outerjoin(
                clinics, clinics.c.clinic_id == items.c.clinic_id
            )
        )
        .subquery("callbacks")
    )


def _callback(row: Any) -> Callback:
    holder = (
        Holder(row.holder_id, row.holder_name, row.claimed_at)
        if row.holder_id is not None
        else None
    )
    return Callback(
        call_id=row.call_id,
        number=row.number,
        attempts=row.attempts,
        first_missed_at=row.first_missed_at,
        last_missed_at=row.last_missed_at,
        clinic_id=row.clinic_id,
        clinic_name=row.clinic_name,
        extension=row.extension,
        contact_id=row.contact_id,
        contact_kind=row.contact_kind,
        contact_name=row.contact_name,
        holder=holder,
    )


async def list_callbacks(
    session: AsyncSession,
    viewer: Principal,
    since: datetime,
    *,
    clinic_ids: Sequence[str] = (),
    extensions: Sequence[str] = (),
    limit: int,
) -> list[Callback]:
    """The call-backs ``viewer`` sees, oldest first (by first missed call), at most
    ``limit``; filtered by the clinic and extension of their first missed call."""
    callbacks = _callbacks(viewer, since)
    c = callbacks.c
    query = sa.select(callbacks).order_by(c.first_missed_at, c.call_id).limit(limit)
    if clinic_ids:
        query = query.where(c.clinic_id.in_(clinic_ids))
    if extensions:
        query = query.where(c.extension.in_(extensions))
    return [_callback(row) for row in await session.execute(query)]


async def clinic_loads(
    session: AsyncSession, viewer: Principal, since: datetime
) -> list[ClinicLoad]:
    """Per clinic: open and claimed call-backs and the oldest one's first missed call."""
    c = _callbacks(viewer, since).c
    query = (
        sa.select(
            c.clinic_id,
            sa.func.min(c.clinic_name).label("clinic_name"),
            sa.func.count().label("open"),
            sa.func.count(c.holder_id).label("claimed"),
            sa.func.min(c.first_missed_at).label("oldest_missed_at"),
        )
        .group_by(c.clinic_id)
        .order_by(sa.func.min(c.first_missed_at), c.clinic_id)
    )
    return [
        ClinicLoad(r.clinic_id, r.clinic_name, r.open, r.claimed, r.oldest_missed_at)
        for r in await session.execute(query)
    ]


async def missed_number(session: AsyncSession, call_id: str) -> str | None:
    """The caller's number of missed incoming call ``call_id`` (None: no such call)."""
    return await session.scalar(
        sa.select(call_log.c.src).where(
            call_log.c.call_id == call_id,
            call_log.c.call_type == "incoming",
            call_log.c.disposition == "missed",
        )
    )


async def lock_number(session: AsyncSession, number: str) -> None:
    """Serialise actions on one number's call-back until the transaction ends."""
    await session.execute(
        sa.select(sa.func.pg_advisory_xact_lock(sa.func.hashtextextended("callback:" + number, 0)))
    )


async def callback_of(
    session: AsyncSession, viewer: Principal, since: datetime, number: str
) -> Callback | None:
    """The open call-back of ``number`` that ``viewer`` sees, if any."""
    row = (await session.execute(sa.select(_callbacks(viewer, since, number)))).first()
    return _callback(row) if row is not None else None


async def record_action(
    session: AsyncSession,
    callback: Callback,
    action: str,
    actor: Principal,
    at: datetime,
    result: str | None = None,
) -> None:
    """One row: ``actor`` claimed, released or closed (with ``result``) ``callback``. A
    closure covers the number's missed calls up to the last one open now."""
    await session.execute(
        callback_actions.insert().values(
            call_id=callback.call_id,
            number=callback.number,
            action=action,
            operator_id=actor.operator_id,
            operator_name=actor.name,
            acted_at=at,
            result=result,
            covers_until=callback.last_missed_at if action == "closed" else None,
        )
    )
