"""Read models: client search, a client's appointments, a day's appointments, directory."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard_booking.adapters.tables import (
    appointment_attendees,
    appointments,
    call_centers,
    cancellation_reasons,
    client_phones,
    clients,
    clinics,
    notifications,
    operators,
    practitioner_clinics,
    practitioner_services,
    practitioners,
    services,
    working_hours,
)
from switchboard_booking.domain.errors import NotFound
from switchboard_booking.domain.model import Actor, can_change
from switchboard_phones import SearchDigits


@dataclass(frozen=True)
class ClientRow:
    """A client as search results and client cards show them."""

    client_id: str
    first_name: str
    last_name: str
    display_name: str
    email: str | None
    mobile: str | None
    phones: list[str]
    sms_consent: bool
    date_of_birth: date | None


@dataclass(frozen=True)
class AppointmentRow:
    """An appointment as the calendar and client cards show it, for one operator.

    ``editable`` says whether that operator may change it; another call center's
    appointment is shown (patient name, service) but private notes are withheld.
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
    call_center_id: str | None
    call_center_name: str | None
    operator_id: str | None
    call_id: str | None
    touch_id: str | None
    cancellation_reason: str | None
    editable: bool


def _client_rows(rows: list[Any], phones: dict[str, list[str]]) -> list[ClientRow]:
    return [
        ClientRow(
            r.client_id,
            r.first_name,
            r.last_name,
            f"{r.first_name} {r.last_name}",
            r.email,
            r.mobile,
            phones.get(r.client_id, []),
            r.sms_consent,
            r.date_of_birth,
        )
        for r in rows
    ]


async def _phones_of(session: AsyncSession, client_ids: list[str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for cid, phone in (
        await session.execute(
            sa.select(client_phones.c.client_id, client_phones.c.phone)
            .where(client_phones.c.client_id.in_(client_ids))
            .order_by(client_phones.c.phone)
        )
    ).all():
        out.setdefault(cid, []).append(phone)
    return out


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _phone_found(column: sa.ColumnElement[Any], phone: SearchDigits) -> sa.ColumnElement[bool]:
    """``column`` (E.164 numbers) found by ``phone``: it contains one of the ``anywhere``
    digits, or begins with ``+`` and one of the ``leading`` ones."""
    return sa.or_(
        *[column.contains(d, autoescape=True) for d in phone.anywhere],
        *[column.startswith("+" + d, autoescape=True) for d in phone.leading],
    )


async def search_clients(
    session: AsyncSession,
    *,
    name: str | None,
    phone: SearchDigits | None,
    email: str | None,
    limit: int,
) -> list[ClientRow]:
    """Clients matching every given criterion: each word of ``name`` in the first or last
    name; the mobile or an extra phone found by ``phone`` (see
    :meth:`switchboard_phones.SearchDigits.matches`); ``email`` inside the address.
    Case-insensitive, sorted by last and first name."""
    c = clients.c
    query = sa.select(clients)
    for word in (name or "").split():
        query = query.where(sa.or_(c.first_name.ilike(_like(word)), c.last_name.ilike(_like(word))))
    if phone:
        extra = sa.select(client_phones.c.client_id).where(
            _phone_found(client_phones.c.phone, phone)
        )
        query = query.where(sa.or_(_phone_found(c.mobile, phone), c.client_id.in_(extra)))
    if email:
        query = query.where(c.email.ilike(_like(email.strip().lower())))
    query = query.order_by(
        sa.func.lower(c.last_name), sa.func.lower(c.first_name), c.client_id
    ).limit(limit)
    rows = list((await session.execute(query)).all())
    return _client_rows(rows, await _phones_of(session, [r.client_id for r in rows]))


async def get_client(session: AsyncSession, client_id: str) -> ClientRow:
    """One client, or :class:`NotFound`."""
    rows = list(
        (await session.execute(sa.select(clients).where(clients.c.client_id == client_id))).all()
    )
    if not rows:
        raise NotFound(f"no client {client_id!r}")
    return _client_rows(rows, await _phones_of(session, [client_id]))[0]


def _appointment_query() -> sa.Select[Any]:
    a = appointments.c
    client = clients.alias("client")
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
            a.attendee_notes,
            a.private_notes,
            a.call_center_id,
            call_centers.c.name.label("call_center_name"),
            a.operator_id,
            a.call_id,
            a.touch_id,
            cancellation_reasons.c.label.label("cancellation_reason"),
        )
        .select_from(appointments)
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
    session: AsyncSession, query: sa.Select[Any], actor: Actor
) -> list[AppointmentRow]:
    rows = (await session.execute(query)).all()
    ids = [r.appointment_id for r in rows]
    attendees: dict[str, list[str]] = {}
    if ids:
        for aid, cid in (
            await session.execute(
                sa.select(appointment_attendees.c.appointment_id, appointment_attendees.c.client_id)
                .where(appointment_attendees.c.appointment_id.in_(ids))
                .order_by(appointment_attendees.c.client_id)
            )
        ).all():
            attendees.setdefault(aid, []).append(cid)
    out = []
    for r in rows:
        values = dict(r._mapping)
        editable = can_change(actor, r.call_center_id) and r.status == "booked"
        values["private_notes"] = r.private_notes if can_change(actor, r.call_center_id) else None
        out.append(
            AppointmentRow(
                **values, attendee_client_ids=attendees.get(r.appointment_id, []), editable=editable
            )
        )
    return out


async def appointment_view(
    session: AsyncSession, appointment_id: str, actor: Actor
) -> AppointmentRow:
    """One appointment as ``actor`` sees it, or :class:`NotFound`."""
    rows = await _appointment_rows(
        session, _appointment_query().where(appointments.c.appointment_id == appointment_id), actor
    )
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
    upcoming = [asdict(r) for r in rows if r.status == "booked" and r.ends_at > now]
    past = [asdict(r) for r in reversed(rows) if not (r.status == "booked" and r.ends_at > now)]
    return {"upcoming": upcoming, "past": past}


async def client_notifications(session: AsyncSession, client_id: str) -> list[dict[str, Any]]:
    """The notifications recorded for a client, newest first."""
    n = notifications.c
    rows = (
        await session.execute(
            sa.select(
                n.notification_id,
                n.appointment_id,
                n.kind,
                n.channel,
                n.address,
                n.content,
                n.status,
                n.created_at,
            )
            .where(n.client_id == client_id)
            .order_by(n.created_at.desc(), n.notification_id)
        )
    ).all()
    return [dict(r._mapping) for r in rows]


# --- directory -----------------------------------------------------------------------------


async def list_table(session: AsyncSession, table: sa.Table, order_by: str) -> list[dict[str, Any]]:
    """Every row of a simple directory table."""
    rows = (await session.execute(sa.select(table).order_by(table.c[order_by]))).all()
    return [dict(r._mapping) for r in rows]


async def list_operators(session: AsyncSession) -> list[dict[str, Any]]:
    """Operators without their password hashes."""
    o = operators.c
    rows = (
        await session.execute(
            sa.select(
                o.operator_id, o.name, o.username, o.role, o.call_center_id, o.extension, o.active
            ).order_by(o.name)
        )
    ).all()
    return [dict(r._mapping) for r in rows]


async def list_practitioners(
    session: AsyncSession, practitioner_id: str | None = None
) -> list[dict[str, Any]]:
    """Practitioners with their clinics, services and working hours."""
    query = sa.select(practitioners).order_by(practitioners.c.name)
    if practitioner_id is not None:
        query = query.where(practitioners.c.practitioner_id == practitioner_id)
    rows = [dict(r._mapping) for r in (await session.execute(query)).all()]
    ids = [r["practitioner_id"] for r in rows]
    by_id = {
        r["practitioner_id"]: {**r, "clinic_ids": [], "service_ids": [], "working_hours": []}
        for r in rows
    }
    for pid, cid in (
        await session.execute(
            sa.select(practitioner_clinics)
            .where(practitioner_clinics.c.practitioner_id.in_(ids))
            .order_by(practitioner_clinics.c.clinic_id)
        )
    ).all():
        by_id[pid]["clinic_ids"].append(cid)
    for pid, sid in (
        await session.execute(
            sa.select(practitioner_services)
            .where(practitioner_services.c.practitioner_id.in_(ids))
            .order_by(practitioner_services.c.service_id)
        )
    ).all():
        by_id[pid]["service_ids"].append(sid)
    w = working_hours.c
    for h in (
        await session.execute(
            sa.select(working_hours)
            .where(w.practitioner_id.in_(ids))
            .order_by(w.clinic_id, w.weekday, w.starts)
        )
    ).all():
        by_id[h.practitioner_id]["working_hours"].append(
            {
                "clinic_id": h.clinic_id,
                "weekday": h.weekday,
                "starts": h.starts.strftime("%H:%M"),
                "ends": h.ends.strftime("%H:%M"),
            }
        )
    return list(by_id.values())
