"""Loading and saving booking's domain objects (the write side)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
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
    practitioner_clinics,
    practitioner_services,
    practitioners,
    services,
    working_hours,
)
from switchboard_booking.domain.availability import Interval, PractitionerDay, WorkingHours
from switchboard_booking.domain.clients import ClientProfile
from switchboard_booking.domain.errors import NotFound
from switchboard_booking.domain.model import Appointment, Question, ServiceInfo
from switchboard_booking.domain.notifications import (
    AppointmentContext,
    Notification,
    Recipient,
)


def new_id() -> str:
    """A new entity id."""
    return str(uuid.uuid4())


@dataclass(frozen=True)
class ClinicInfo:
    """A clinic as booking rules need it."""

    clinic_id: str
    name: str
    address: str
    time_zone: str

    @property
    def tz(self) -> ZoneInfo:
        """The clinic's zone."""
        return ZoneInfo(self.time_zone)


async def get_clinic(session: AsyncSession, clinic_id: str) -> ClinicInfo:
    """The clinic, or :class:`NotFound`."""
    row = (
        await session.execute(
            sa.select(
                clinics.c.clinic_id, clinics.c.name, clinics.c.address, clinics.c.time_zone
            ).where(clinics.c.clinic_id == clinic_id)
        )
    ).first()
    if row is None:
        raise NotFound(f"no clinic {clinic_id!r}")
    return ClinicInfo(*row)


async def get_service(session: AsyncSession, service_id: str) -> tuple[ServiceInfo, str]:
    """The service's rules and its name, or :class:`NotFound`."""
    row = (
        await session.execute(sa.select(services).where(services.c.service_id == service_id))
    ).first()
    if row is None or not row.active:
        raise NotFound(f"no service {service_id!r}")
    questions = tuple(
        Question(q["question_id"], q.get("text", ""), bool(q.get("required")))
        for q in row.questions
    )
    info = ServiceInfo(
        row.service_id,
        timedelta(minutes=row.duration_minutes),
        tuple(row.meeting_methods),
        questions,
    )
    return info, row.name


async def practitioner_days(
    session: AsyncSession,
    clinic_id: str,
    service_id: str,
    practitioner_ids: Sequence[str] | None = None,
) -> list[PractitionerDay]:
    """Active practitioners working at the clinic and giving the service, with their hours
    there (``busy`` left empty; see :func:`busy_intervals`)."""
    query = (
        sa.select(practitioners.c.practitioner_id, practitioners.c.languages)
        .join(
            practitioner_clinics,
            practitioner_clinics.c.practitioner_id == practitioners.c.practitioner_id,
        )
        .join(
            practitioner_services,
            practitioner_services.c.practitioner_id == practitioners.c.practitioner_id,
        )
        .where(
            practitioner_clinics.c.clinic_id == clinic_id,
            practitioner_services.c.service_id == service_id,
            practitioners.c.active,
        )
        .order_by(practitioners.c.practitioner_id)
    )
    if practitioner_ids is not None:
        query = query.where(practitioners.c.practitioner_id.in_(list(practitioner_ids)))
    rows = (await session.execute(query)).all()
    hours: dict[str, list[WorkingHours]] = {r.practitioner_id: [] for r in rows}
    if rows:
        for h in (
            await session.execute(
                sa.select(working_hours).where(
                    working_hours.c.clinic_id == clinic_id,
                    working_hours.c.practitioner_id.in_(list(hours)),
                )
            )
        ).all():
            hours[h.practitioner_id].append(WorkingHours(h.weekday, h.starts, h.ends))
    return [
        PractitionerDay(
            r.practitioner_id, tuple(hours[r.practitioner_id]), languages=frozenset(r.languages)
        )
        for r in rows
    ]


async def busy_intervals(
    session: AsyncSession, practitioner_ids: Iterable[str], window: Interval
) -> dict[str, tuple[Interval, ...]]:
    """Booked appointments (at any clinic) of the practitioners overlapping ``window``."""
    ids = list(practitioner_ids)
    out: dict[str, list[Interval]] = {pid: [] for pid in ids}
    if ids:
        a = appointments.c
        for row in (
            await session.execute(
                sa.select(a.practitioner_id, a.starts_at, a.ends_at).where(
                    a.practitioner_id.in_(ids),
                    a.status == "booked",
                    a.starts_at < window.ends_at,
                    a.ends_at > window.starts_at,
                )
            )
        ).all():
            out[row.practitioner_id].append(Interval(row.starts_at, row.ends_at))
    return {pid: tuple(v) for pid, v in out.items()}


async def holder_of(
    session: AsyncSession, practitioner_id: str, when: Interval
) -> tuple[str | None, str | None]:
    """The call center holding a booked appointment of the practitioner overlapping ``when``."""
    a = appointments.c
    row = (
        await session.execute(
            sa.select(a.call_center_id, call_centers.c.name)
            .select_from(
                appointments.outerjoin(
                    call_centers, call_centers.c.call_center_id == a.call_center_id
                )
            )
            .where(
                a.practitioner_id == practitioner_id,
                a.status == "booked",
                a.starts_at < when.ends_at,
                a.ends_at > when.starts_at,
            )
            .limit(1)
        )
    ).first()
    return (row[0], row[1]) if row else (None, None)


def _appointment(row: Any, attendee_ids: Sequence[str]) -> Appointment:
    return Appointment(
        appointment_id=row.appointment_id,
        client_id=row.client_id,
        clinic_id=row.clinic_id,
        practitioner_id=row.practitioner_id,
        service_id=row.service_id,
        meeting_method=row.meeting_method,
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        status=row.status,
        call_center_id=row.call_center_id,
        operator_id=row.operator_id,
        attendee_client_ids=tuple(attendee_ids),
        attendee_notes=row.attendee_notes,
        private_notes=row.private_notes,
        answers=dict(row.answers),
        call_id=row.call_id,
        touch_id=row.touch_id,
        cancellation_reason_id=row.cancellation_reason_id,
        cancellation_note=row.cancellation_note,
        cancelled_at=row.cancelled_at,
    )


async def load_appointment(
    session: AsyncSession, appointment_id: str, *, for_update: bool = False
) -> Appointment:
    """The appointment (row-locked with ``for_update``), or :class:`NotFound`."""
    query = sa.select(appointments).where(appointments.c.appointment_id == appointment_id)
    if for_update:
        query = query.with_for_update()
    row = (await session.execute(query)).first()
    if row is None:
        raise NotFound(f"no appointment {appointment_id!r}")
    attendees = (
        (
            await session.execute(
                sa.select(appointment_attendees.c.client_id)
                .where(appointment_attendees.c.appointment_id == appointment_id)
                .order_by(appointment_attendees.c.client_id)
            )
        )
        .scalars()
        .all()
    )
    return _appointment(row, attendees)


def _appointment_values(appointment: Appointment) -> dict[str, Any]:
    return {
        "client_id": appointment.client_id,
        "clinic_id": appointment.clinic_id,
        "practitioner_id": appointment.practitioner_id,
        "service_id": appointment.service_id,
        "meeting_method": appointment.meeting_method,
        "starts_at": appointment.starts_at,
        "ends_at": appointment.ends_at,
        "status": appointment.status,
        "attendee_notes": appointment.attendee_notes,
        "private_notes": appointment.private_notes,
        "answers": dict(appointment.answers),
        "call_center_id": appointment.call_center_id,
        "operator_id": appointment.operator_id,
        "call_id": appointment.call_id,
        "touch_id": appointment.touch_id,
        "cancellation_reason_id": appointment.cancellation_reason_id,
        "cancellation_note": appointment.cancellation_note,
        "cancelled_at": appointment.cancelled_at,
    }


async def insert_appointment(session: AsyncSession, appointment: Appointment) -> None:
    """Insert a new appointment and its attendees (may raise the exclusion violation)."""
    await session.execute(
        sa.insert(appointments).values(
            appointment_id=appointment.appointment_id, **_appointment_values(appointment)
        )
    )
    if appointment.attendee_client_ids:
        await session.execute(
            sa.insert(appointment_attendees),
            [
                {"appointment_id": appointment.appointment_id, "client_id": cid}
                for cid in appointment.attendee_client_ids
            ],
        )


async def update_appointment(session: AsyncSession, appointment: Appointment) -> None:
    """Write an appointment's new state (may raise the exclusion violation)."""
    await session.execute(
        sa.update(appointments)
        .where(appointments.c.appointment_id == appointment.appointment_id)
        .values(**_appointment_values(appointment), updated_at=sa.func.now())
    )


async def active_reason_ids(session: AsyncSession) -> frozenset[str]:
    """The cancellation reasons operators may choose."""
    return frozenset(
        (
            await session.execute(
                sa.select(cancellation_reasons.c.reason_id).where(cancellation_reasons.c.active)
            )
        )
        .scalars()
        .all()
    )


async def reason_label(session: AsyncSession, reason_id: str | None) -> str | None:
    """The label of a cancellation reason."""
    if reason_id is None:
        return None
    return await session.scalar(
        sa.select(cancellation_reasons.c.label).where(cancellation_reasons.c.reason_id == reason_id)
    )


# --- clients -------------------------------------------------------------------------------


async def load_client(
    session: AsyncSession, client_id: str, *, for_update: bool = False
) -> ClientProfile:
    """The client's profile (row-locked with ``for_update``), or :class:`NotFound`."""
    query = sa.select(clients).where(clients.c.client_id == client_id)
    if for_update:
        query = query.with_for_update()
    row = (await session.execute(query)).first()
    if row is None:
        raise NotFound(f"no client {client_id!r}")
    phones = (
        (
            await session.execute(
                sa.select(client_phones.c.phone)
                .where(client_phones.c.client_id == client_id)
                .order_by(client_phones.c.phone)
            )
        )
        .scalars()
        .all()
    )
    return ClientProfile(
        row.first_name,
        row.last_name,
        row.email,
        row.mobile,
        row.sms_consent,
        row.date_of_birth,
        tuple(phones),
    )


async def ensure_clients_exist(session: AsyncSession, client_ids: Iterable[str]) -> None:
    """:class:`NotFound` naming the first unknown client id (rows are share-locked, so a
    concurrent merge cannot remove them before this transaction commits)."""
    ids = list(dict.fromkeys(client_ids))
    found = set(
        (
            await session.execute(
                sa.select(clients.c.client_id)
                .where(clients.c.client_id.in_(ids))
                .with_for_update(read=True)
            )
        )
        .scalars()
        .all()
    )
    missing = [cid for cid in ids if cid not in found]
    if missing:
        raise NotFound(f"no client {missing[0]!r}")


async def save_client(
    session: AsyncSession, client_id: str, profile: ClientProfile, *, new: bool
) -> None:
    """Insert or overwrite a client and replace their extra phones."""
    values = {
        "first_name": profile.first_name,
        "last_name": profile.last_name,
        "email": profile.email,
        "mobile": profile.mobile,
        "sms_consent": profile.sms_consent,
        "date_of_birth": profile.date_of_birth,
    }
    if new:
        await session.execute(sa.insert(clients).values(client_id=client_id, **values))
    else:
        await session.execute(
            sa.update(clients)
            .where(clients.c.client_id == client_id)
            .values(**values, updated_at=sa.func.now())
        )
        await session.execute(
            sa.delete(client_phones).where(client_phones.c.client_id == client_id)
        )
    if profile.phones:
        await session.execute(
            pg_insert(client_phones).on_conflict_do_nothing(),
            [{"client_id": client_id, "phone": p} for p in profile.phones],
        )


async def move_client_records(session: AsyncSession, duplicate_id: str, primary_id: str) -> int:
    """Re-point the duplicate's appointments, attendances and notifications to the
    primary, then delete the duplicate. Returns how many appointments moved."""
    result = await session.execute(
        sa.update(appointments)
        .where(appointments.c.client_id == duplicate_id)
        .values(client_id=primary_id, updated_at=sa.func.now())
    )
    moved: int = getattr(result, "rowcount", 0)
    att = appointment_attendees.c
    other = appointment_attendees.alias("other")
    # Where the primary already attends (or is the client of) the same appointment, the
    # duplicate's attendance simply goes away instead of becoming a second copy.
    already = sa.or_(
        sa.exists().where(
            other.c.appointment_id == att.appointment_id, other.c.client_id == primary_id
        ),
        sa.exists().where(
            appointments.c.appointment_id == att.appointment_id,
            appointments.c.client_id == primary_id,
        ),
    )
    await session.execute(
        sa.delete(appointment_attendees).where(att.client_id == duplicate_id, already)
    )
    await session.execute(
        sa.update(appointment_attendees)
        .where(att.client_id == duplicate_id)
        .values(client_id=primary_id)
    )
    await session.execute(
        sa.update(notifications)
        .where(notifications.c.client_id == duplicate_id)
        .values(client_id=primary_id)
    )
    await session.execute(sa.delete(clients).where(clients.c.client_id == duplicate_id))
    return int(moved or 0)


async def recipients(session: AsyncSession, client_ids: Sequence[str]) -> list[Recipient]:
    """How to reach each of the clients (in the given order)."""
    rows = {
        r.client_id: r
        for r in (
            await session.execute(
                sa.select(clients).where(clients.c.client_id.in_(list(client_ids)))
            )
        ).all()
    }
    return [
        Recipient(
            cid,
            f"{rows[cid].first_name} {rows[cid].last_name}",
            rows[cid].email,
            rows[cid].mobile,
            rows[cid].sms_consent,
        )
        for cid in dict.fromkeys(client_ids)
        if cid in rows
    ]


async def appointment_context(
    session: AsyncSession, appointment: Appointment
) -> AppointmentContext:
    """The names a notification about ``appointment`` shows."""
    row = (
        await session.execute(
            sa.select(
                clinics.c.name,
                clinics.c.address,
                clinics.c.time_zone,
                practitioners.c.name.label("practitioner"),
                services.c.name.label("service"),
            )
            .select_from(clinics)
            .join(practitioners, practitioners.c.practitioner_id == appointment.practitioner_id)
            .join(services, services.c.service_id == appointment.service_id)
            .where(clinics.c.clinic_id == appointment.clinic_id)
        )
    ).one()
    return AppointmentContext(row.name, row.address, row.time_zone, row.practitioner, row.service)


async def insert_notifications(
    session: AsyncSession, appointment_id: str, items: Sequence[Notification]
) -> None:
    """Record notifications (delivery picks them up from here)."""
    if items:
        await session.execute(
            sa.insert(notifications),
            [
                {
                    "notification_id": new_id(),
                    "appointment_id": appointment_id,
                    "client_id": n.client_id,
                    "kind": n.kind,
                    "channel": n.channel,
                    "address": n.address,
                    "content": n.content,
                }
                for n in items
            ],
        )


async def practitioner_links(
    session: AsyncSession, practitioner_id: str, clinic_id: str, service_id: str
) -> tuple[bool, bool]:
    """Whether the (existing, active) practitioner works at the clinic and gives the
    service; :class:`NotFound` when there is no such practitioner."""
    active = await session.scalar(
        sa.select(practitioners.c.active).where(practitioners.c.practitioner_id == practitioner_id)
    )
    if not active:
        raise NotFound(f"no practitioner {practitioner_id!r}")
    works = await session.scalar(
        sa.select(
            sa.exists().where(
                practitioner_clinics.c.practitioner_id == practitioner_id,
                practitioner_clinics.c.clinic_id == clinic_id,
            )
        )
    )
    gives = await session.scalar(
        sa.select(
            sa.exists().where(
                practitioner_services.c.practitioner_id == practitioner_id,
                practitioner_services.c.service_id == service_id,
            )
        )
    )
    return bool(works), bool(gives)
