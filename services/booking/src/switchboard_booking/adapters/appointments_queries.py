"""Read models of appointments: one appointment, a day's calendar, a client's history."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard_booking.adapters.prepared import Prepared
from switchboard_booking.adapters.tables import (
    appointment_attendees,
    appointments,
    call_centers,
    cancellation_reasons,
    clients,
    clinics,
    practitioners,
    services,
)
from switchboard_booking.domain.errors import NotFound
from switchboard_booking.domain.model import Actor, can_change


@dataclass(frozen=True)
class AppointmentRow:
    """An appointment as the calendar and client cards show it, for one operator.

    ``editable`` says whether that operator may change it; another call center's
    appointment is shown (patient name, service) but its private notes and the answers
    to the service's questions are withheld (None).
    """

    appointment_id: str
    starts_at: datetime
    ends_at: datetime
    status: str
    clinic_id: str
    clinic_name: str
    time_zone: str
    practitioner_id: str
    practitioner_name: str
    service_id: str
    service_name: str
    meeting_method: str
    client_id: str
    client_name: str
    attendee_client_ids: list[str]
    attendee_notes: str
    private_notes: str | None
    answers: dict[str, str] | None
    call_center_id: str | None
    call_center_name: str | None
    operator_id: str | None
    call_id: str | None
    touch_id: str | None
    cancellation_reason: str | None
    editable: bool

    def as_dict(self) -> dict[str, Any]:
        """The row as the API answers it: a shallow dict (``dataclasses.asdict`` copies
        every list and dict in it deeply, for nothing: it is encoded at once)."""
        return {name: getattr(self, name) for name in _ROW_FIELDS}


_ROW_FIELDS = tuple(f.name for f in fields(AppointmentRow))


def _appointment_query(source: sa.FromClause = appointments) -> sa.Select[Any]:
    """The read model's columns over ``source``: the table, or the rows an ``INSERT …
    RETURNING`` just wrote (as a CTE)."""
    a = source.c
    client = clients.alias("client")
    attendee = appointment_attendees.c
    # The attendees in the same statement (a correlated array), not a second query.
    attendee_ids = (
        sa.select(sa.func.array_agg(aggregate_order_by(attendee.client_id, attendee.client_id)))
        .where(attendee.appointment_id == a.appointment_id)
        .scalar_subquery()
    )
    return (
        sa.select(
            a.appointment_id,
            a.starts_at,
            a.ends_at,
            a.status,
            a.clinic_id,
            clinics.c.name.label("clinic_name"),
            clinics.c.time_zone,
            a.practitioner_id,
            practitioners.c.name.label("practitioner_name"),
            a.service_id,
            services.c.name.label("service_name"),
            a.meeting_method,
            a.client_id,
            (client.c.first_name + " " + client.c.last_name).label("client_name"),
            attendee_ids.label("attendee_client_ids"),
            a.attendee_notes,
            a.private_notes,
            a.answers,
            a.call_center_id,
            call_centers.c.name.label("call_center_name"),
            a.operator_id,
            a.call_id,
            a.touch_id,
            cancellation_reasons.c.label.label("cancellation_reason"),
        )
        .select_from(source)
        .join(clinics, clinics.c.clinic_id == a.clinic_id)
        .join(practitioners, practitioners.c.practitioner_id == a.practitioner_id)
        .join(services, services.c.service_id == a.service_id)
        .join(client, client.c.client_id == a.client_id)
        .outerjoin(call_centers, call_centers.c.call_center_id == a.call_center_id)
        .outerjoin(
            cancellation_reasons, cancellation_reasons.c.reason_id == a.cancellation_reason_id
        )
    )


async def _appointment_rows(
    session: AsyncSession, query: sa.Select[Any], actor: Actor, params: dict[str, Any] | None = None
) -> list[AppointmentRow]:
    return _as_seen_by(actor, (await session.execute(query, params)).all())


def _as_seen_by(actor: Actor, rows: Sequence[sa.Row[Any]]) -> list[AppointmentRow]:
    out = []
    for r in rows:
        values = dict(r._mapping)
        values["attendee_client_ids"] = r.attendee_client_ids or []
        own = can_change(actor, r.call_center_id)
        editable = own and r.status == "booked"
        values["private_notes"] = r.private_notes if own else None
        values["answers"] = dict(r.answers) if own else None
        out.append(AppointmentRow(**values, editable=editable))
    return out


# Built once: every booking answers with it (building a statement costs more CPU than
# PostgreSQL takes to run it).
_ONE = _appointment_query().where(appointments.c.appointment_id == sa.bindparam("appointment_id"))


def written_view(written: sa.CTE) -> sa.Select[Any]:
    """The read model of the appointments a data-modifying CTE (``INSERT … RETURNING``
    every column) wrote, read in that same statement. Its attendees are read as they were
    before the statement: rows written after it are not in ``attendee_client_ids``."""
    return _appointment_query(written)


async def view_rows(
    session: AsyncSession, query: Prepared, actor: Actor, params: dict[str, Any]
) -> list[AppointmentRow]:
    """The rows of a read-model query (:func:`written_view`, prepared) as ``actor`` sees
    them."""
    return _as_seen_by(actor, await query.rows(session, params))


async def appointment_view(
    session: AsyncSession, appointment_id: str, actor: Actor
) -> AppointmentRow:
    """One appointment as ``actor`` sees it, or :class:`NotFound`."""
    rows = await _appointment_rows(session, _ONE, actor, {"appointment_id": appointment_id})
    if not rows:
        raise NotFound(f"no appointment {appointment_id!r}")
    return rows[0]


async def day_appointments(
    session: AsyncSession,
    *,
    day: date,
    clinic_id: str | None,
    practitioner_id: str | None,
    actor: Actor,
    include_cancelled: bool,
) -> list[AppointmentRow]:
    """Every appointment on ``day`` (the clinic's local day) at a clinic and/or of a
    practitioner, whoever booked it, in start order."""
    a = appointments.c
    local_day = sa.cast(sa.func.timezone(clinics.c.time_zone, a.starts_at), sa.Date)
    query = _appointment_query().where(local_day == day)
    if clinic_id is not None:
        query = query.where(a.clinic_id == clinic_id)
    if practitioner_id is not None:
        query = query.where(a.practitioner_id == practitioner_id)
    if not include_cancelled:
        query = query.where(a.status == "booked")
    return await _appointment_rows(session, query.order_by(a.starts_at, a.practitioner_id), actor)


async def client_appointments(
    session: AsyncSession, client_id: str, actor: Actor, now: datetime
) -> dict[str, list[dict[str, Any]]]:
    """The client's appointments (as client or attendee): ``upcoming`` soonest first,
    ``past`` (and cancelled) latest first."""
    a = appointments.c
    attends = sa.select(appointment_attendees.c.appointment_id).where(
        appointment_attendees.c.client_id == client_id
    )
    query = (
        _appointment_query()
        .where(sa.or_(a.client_id == client_id, a.appointment_id.in_(attends)))
        .order_by(a.starts_at)
    )
    rows = await _appointment_rows(session, query, actor)
    upcoming = [r.as_dict() for r in rows if r.status == "booked" and r.ends_at > now]
    past = [r.as_dict() for r in reversed(rows) if not (r.status == "booked" and r.ends_at > now)]
    return {"upcoming": upcoming, "past": past}
