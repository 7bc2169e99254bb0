"""Practitioners' absences and clinics' closed days (write side and what rules read), and
the booked appointments the to-reschedule list checks."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard_booking.adapters.tables import (
    appointments,
    clients,
    clinic_closures,
    clinics,
    practitioner_absences,
    practitioners,
    working_hours,
)
from switchboard_booking.domain.absences import Absence, Closure
from switchboard_booking.domain.availability import Interval, WorkingHours
from switchboard_booking.domain.errors import NotFound


async def ensure_practitioner(session: AsyncSession, practitioner_id: str) -> None:
    """:class:`NotFound` unless the practitioner exists (active or not)."""
    found = await session.scalar(
        sa.select(practitioners.c.practitioner_id).where(
            practitioners.c.practitioner_id == practitioner_id
        )
    )
    if found is None:
        raise NotFound(f"no practitioner {practitioner_id!r}")


async def ensure_clinic(session: AsyncSession, clinic_id: str) -> None:
    """:class:`NotFound` unless the clinic exists (active or not)."""
    found = await session.scalar(
        sa.select(clinics.c.clinic_id).where(clinics.c.clinic_id == clinic_id)
    )
    if found is None:
        raise NotFound(f"no clinic {clinic_id!r}")


async def insert_absence(session: AsyncSession, absence: Absence) -> None:
    """Record an absence."""
    await session.execute(
        sa.insert(practitioner_absences).values(
            absence_id=absence.absence_id,
            practitioner_id=absence.practitioner_id,
            starts_at=absence.starts_at,
            ends_at=absence.ends_at,
            starts_on=absence.starts_on,
            ends_on=absence.ends_on,
            reason=absence.reason,
        )
    )


async def delete_absence(session: AsyncSession, practitioner_id: str, absence_id: str) -> None:
    """Forget one of the practitioner's absences; :class:`NotFound` if they have no such."""
    deleted = await session.execute(
        sa.delete(practitioner_absences)
        .where(
            practitioner_absences.c.absence_id == absence_id,
            practitioner_absences.c.practitioner_id == practitioner_id,
        )
        .returning(practitioner_absences.c.absence_id)
    )
    if deleted.first() is None:
        raise NotFound(f"no absence {absence_id!r} of practitioner {practitioner_id!r}")


async def insert_closure(session: AsyncSession, closure: Closure) -> None:
    """Record a clinic's closed days."""
    await session.execute(
        sa.insert(clinic_closures).values(
            closure_id=closure.closure_id,
            clinic_id=closure.clinic_id,
            starts_on=closure.starts_on,
            ends_on=closure.ends_on,
            reason=closure.reason,
        )
    )


async def delete_closure(session: AsyncSession, clinic_id: str, closure_id: str) -> None:
    """Forget one of the clinic's closures; :class:`NotFound` if it has no such."""
    deleted = await session.execute(
        sa.delete(clinic_closures)
        .where(clinic_closures.c.closure_id == closure_id, clinic_closures.c.clinic_id == clinic_id)
        .returning(clinic_closures.c.closure_id)
    )
    if deleted.first() is None:
        raise NotFound(f"no closure {closure_id!r} of clinic {clinic_id!r}")


def _absence(row: Any) -> Absence:
    return Absence(
        row.absence_id,
        row.practitioner_id,
        row.starts_at,
        row.ends_at,
        row.starts_on,
        row.ends_on,
        row.reason,
    )


def _closure(row: Any) -> Closure:
    return Closure(row.closure_id, row.clinic_id, row.starts_on, row.ends_on, row.reason)


_ABSENCES = (
    sa.select(practitioner_absences)
    .where(practitioner_absences.c.practitioner_id.in_(sa.bindparam("ids", expanding=True)))
    .order_by(practitioner_absences.c.starts_at.nulls_last(), practitioner_absences.c.starts_on)
)
_CLOSURES = (
    sa.select(clinic_closures)
    .where(clinic_closures.c.clinic_id.in_(sa.bindparam("ids", expanding=True)))
    .order_by(clinic_closures.c.starts_on)
)


def window_start_params(starts_at: datetime) -> dict[str, Any]:
    """The parameters of :func:`time_off_records` for a window starting at ``starts_at``."""
    return {"starts_at": starts_at, "first": starts_at.date() - timedelta(days=1)}


def _window_params(window: Interval) -> dict[str, Any]:
    """The window's bounds; dates a day wider on each side, since each clinic reads dates
    in its own zone."""
    return {
        **window_start_params(window.starts_at),
        "ends_at": window.ends_at,
        "last": window.ends_at.date() + timedelta(days=1),
    }


async def absences_of(
    session: AsyncSession, practitioner_ids: Sequence[str]
) -> dict[str, list[Absence]]:
    """Every absence of the practitioners."""
    found: dict[str, list[Absence]] = {pid: [] for pid in practitioner_ids}
    for row in (await session.execute(_ABSENCES, {"ids": list(practitioner_ids)})).all():
        found[row.practitioner_id].append(_absence(row))
    return found


async def closures_of(session: AsyncSession, clinic_ids: Sequence[str]) -> dict[str, list[Closure]]:
    """Every closure of the clinics."""
    found: dict[str, list[Closure]] = {cid: [] for cid in clinic_ids}
    for row in (await session.execute(_CLOSURES, {"ids": list(clinic_ids)})).all():
        found[row.clinic_id].append(_closure(row))
    return found


def _time_off_union(
    ends_at: sa.ColumnElement[datetime], last: sa.ColumnElement[date]
) -> sa.Subquery:
    pa, cc = practitioner_absences.c, clinic_closures.c
    first: sa.BindParameter[date] = sa.bindparam("first")
    absences = sa.select(
        sa.literal("absence").label("kind"),
        pa.absence_id.label("id"),
        pa.practitioner_id.label("owner_id"),
        pa.starts_at,
        pa.ends_at,
        pa.starts_on,
        pa.ends_on,
        pa.reason,
    ).where(
        # An array, not an expanding IN: a booking runs this, and an expanding parameter
        # makes SQLAlchemy rewrite the statement's text at every execution.
        pa.practitioner_id == sa.any_(sa.bindparam("ids", type_=postgresql.ARRAY(sa.Text))),
        sa.or_(
            sa.and_(pa.starts_at < ends_at, pa.ends_at > sa.bindparam("starts_at")),
            sa.and_(pa.starts_on <= last, pa.ends_on >= first),
        ),
    )
    no_instant = sa.cast(sa.null(), pa.starts_at.type)
    closures = sa.select(
        sa.literal("closure"),
        cc.closure_id,
        cc.clinic_id,
        no_instant,
        no_instant,
        cc.starts_on,
        cc.ends_on,
        cc.reason,
    ).where(cc.clinic_id == sa.bindparam("clinic_id"), cc.starts_on <= last, cc.ends_on >= first)
    return sa.union_all(absences, closures).subquery("time_off")


def _time_off_query() -> sa.Select[Any]:
    union = _time_off_union(sa.bindparam("ends_at"), sa.bindparam("last"))
    return sa.select(union).order_by(
        union.c.kind, union.c.starts_at.nulls_last(), union.c.starts_on
    )


_TIME_OFF = _time_off_query()


def time_off_records(ends_at: sa.ColumnElement[datetime]) -> sa.ColumnElement[Any]:
    """:func:`time_off` as one column of a larger statement (an array of records, read
    with :func:`time_off_from`), for the window from the ``starts_at`` parameter to
    ``ends_at``, an expression (a booking's end depends on its service, read in the same
    statement); takes the parameters ``ids``, ``clinic_id``, ``starts_at`` and ``first``
    (:func:`window_start_params`)."""
    # The end's date in UTC, a day wider (as in ``_window_params``): every zone is within
    # a day of UTC.
    last = sa.cast(sa.func.timezone("UTC", ends_at), sa.Date) + 1
    union = _time_off_union(ends_at, last)
    return sa.func.array(sa.select(sa.func.row(*union.c)).scalar_subquery())


def time_off_from(
    rows: Iterable[Sequence[Any]], practitioner_ids: Sequence[str]
) -> tuple[dict[str, list[Absence]], list[Closure]]:
    """The absences per practitioner and the closures from :func:`time_off`'s rows (or
    :func:`time_off_records`' records)."""
    absences: dict[str, list[Absence]] = {pid: [] for pid in practitioner_ids}
    closures: list[Closure] = []
    for kind, id_, owner_id, starts_at, ends_at, starts_on, ends_on, reason in rows:
        if kind == "absence":
            absences[owner_id].append(
                Absence(id_, owner_id, starts_at, ends_at, starts_on, ends_on, reason)
            )
        else:
            closures.append(Closure(id_, owner_id, starts_on, ends_on, reason))
    return absences, closures


async def time_off(
    session: AsyncSession, clinic_id: str, practitioner_ids: Sequence[str], window: Interval
) -> tuple[dict[str, list[Absence]], list[Closure]]:
    """The practitioners' absences and the clinic's closures that may touch ``window``
    (dates are matched a day wide on each side, since each clinic reads them in its own
    zone), in one statement: every booking reads both."""
    params = {"ids": list(practitioner_ids), "clinic_id": clinic_id, **_window_params(window)}
    return time_off_from((await session.execute(_TIME_OFF, params)).all(), practitioner_ids)


async def booked_from(
    session: AsyncSession,
    now: datetime,
    clinic_id: str | None = None,
    practitioner_id: str | None = None,
) -> list[Any]:
    """Appointments still booked that have not begun, by start, with their clinic's zone
    and opening hours and the names an operator calls about."""
    query = (
        sa.select(
            appointments.c.appointment_id,
            appointments.c.starts_at,
            appointments.c.ends_at,
            appointments.c.clinic_id,
            appointments.c.practitioner_id,
            appointments.c.service_id,
            appointments.c.client_id,
            appointments.c.call_center_id,
            clinics.c.name.label("clinic_name"),
            clinics.c.time_zone,
            clinics.c.opening_hours,
            practitioners.c.name.label("practitioner_name"),
            clients.c.first_name,
            clients.c.last_name,
        )
        .join(clinics, clinics.c.clinic_id == appointments.c.clinic_id)
        .join(practitioners, practitioners.c.practitioner_id == appointments.c.practitioner_id)
        .join(clients, clients.c.client_id == appointments.c.client_id)
        .where(appointments.c.status == "booked", appointments.c.starts_at >= now)
        .order_by(appointments.c.starts_at, appointments.c.appointment_id)
    )
    if clinic_id is not None:
        query = query.where(appointments.c.clinic_id == clinic_id)
    if practitioner_id is not None:
        query = query.where(appointments.c.practitioner_id == practitioner_id)
    return list((await session.execute(query)).all())


async def working_hours_at(
    session: AsyncSession, practitioner_ids: Sequence[str]
) -> dict[tuple[str, str], list[WorkingHours]]:
    """Every working stretch of the practitioners, by ``(practitioner, clinic)``."""
    found: dict[tuple[str, str], list[WorkingHours]] = {}
    rows = await session.execute(
        sa.select(working_hours).where(working_hours.c.practitioner_id.in_(list(practitioner_ids)))
    )
    for h in rows.all():
        found.setdefault((h.practitioner_id, h.clinic_id), []).append(
            WorkingHours(h.weekday, h.starts, h.ends)
        )
    return found
