"""Booking's handlers: one function per command.

Each opens a unit of work, loads what it needs, lets the domain decide, writes, stages
the events in the outbox inside the same transaction, and commits. The caller wakes the
outbox relay afterwards. A writing handler is one transaction and nothing else, so when
PostgreSQL aborts it for a deadlock or a serialization failure (overlapping bookings racing
on the exclusion constraint can deadlock) it runs again whole (``retry_transaction``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from switchboard_booking.adapters import repository as repo
from switchboard_booking.adapters.tables import (
    NO_OVERLAP_CONSTRAINT,
    call_centers,
    cancellation_reasons,
    clinics,
    operators,
    practitioner_clinics,
    practitioner_services,
    practitioners,
    services,
    working_hours,
)
from switchboard_booking.domain import model
from switchboard_booking.domain.availability import Interval, PractitionerDay, within_working_hours
from switchboard_booking.domain.clients import ClientProfile, merged_profile, new_profile
from switchboard_booking.domain.commands import (
    BookAppointment,
    CancelAppointment,
    MergeClients,
    NewClient,
    RescheduleAppointment,
    UpdateClient,
)
from switchboard_booking.domain.directory import check_hours, check_meeting_methods, check_time_zone
from switchboard_booking.domain.errors import (
    AuthenticationFailed,
    InvalidRequest,
    NotFound,
    SlotTaken,
)
from switchboard_booking.domain.model import Actor, Appointment
from switchboard_booking.domain.notifications import NotificationKind, notifications_for
from switchboard_booking.settings import BookingSettings
from switchboard_contracts import (
    AppointmentBooked,
    AppointmentCancelled,
    AppointmentRescheduled,
    CallCenterChanged,
    ClientRegistered,
    ClientsMerged,
    ClientUpdated,
    ClinicChanged,
    Envelope,
    Event,
    OperatorChanged,
    make_envelope,
    message_key,
    topic_for,
)
from switchboard_runtime.auth import Principal, hash_password, verify_password
from switchboard_runtime.db import retry_transaction
from switchboard_runtime.outbox import add_events

Sessions = async_sessionmaker[AsyncSession]
PRODUCER = "booking"
# Verified against when the username is unknown, so a miss costs as long as a hit.
_DUMMY_HASH = hash_password("not-a-real-password")


# --- events --------------------------------------------------------------------------------


async def _publish(
    session: AsyncSession,
    settings: BookingSettings,
    events: Sequence[Event],
    *,
    correlation_id: str | None = None,
) -> None:
    now = datetime.now(UTC)
    staged: list[tuple[str, str | None, Envelope[Any]]] = [
        (
            topic_for(e.event_type),
            message_key(e),
            make_envelope(e, producer=PRODUCER, occurred_at=now, correlation_id=correlation_id),
        )
        for e in events
    ]
    await add_events(session, settings, staged)


def _client_state(
    cls: type[ClientRegistered] | type[ClientUpdated], client_id: str, profile: ClientProfile
) -> Event:
    return cls(
        client_id=client_id,
        first_name=profile.first_name,
        last_name=profile.last_name,
        display_name=profile.display_name,
        phones=profile.all_phones,
        email=profile.email,
        date_of_birth=profile.date_of_birth,
        sms_consent=profile.sms_consent,
    )


def _is_overlap(exc: IntegrityError) -> bool:
    return getattr(exc.orig, "sqlstate", None) == "23P01" or NO_OVERLAP_CONSTRAINT in str(exc.orig)


async def _without_overlap(session: AsyncSession, write: Callable[[], Awaitable[None]]) -> bool:
    """Run ``write`` in a savepoint; ``False`` when the no-double-booking constraint refused
    it (the transaction stays usable, so the caller can look up who holds the slot)."""
    try:
        async with session.begin_nested():
            await write()
    except IntegrityError as exc:
        if _is_overlap(exc):
            return False
        raise
    return True


async def _notify(session: AsyncSession, kind: NotificationKind, appointment: Appointment) -> None:
    context = await repo.appointment_context(session, appointment)
    people = await repo.recipients(
        session, [appointment.client_id, *appointment.attendee_client_ids]
    )
    await repo.insert_notifications(
        session, appointment.appointment_id, notifications_for(kind, appointment, context, people)
    )


# --- auth ----------------------------------------------------------------------------------


async def login(sessions: Sessions, username: str, password: str) -> Principal:
    """The operator with these credentials; :class:`AuthenticationFailed` otherwise."""
    async with sessions() as session:
        row = (
            await session.execute(
                sa.select(operators).where(operators.c.username == username.strip().lower())
            )
        ).first()
    stored = row.password_hash if row is not None else _DUMMY_HASH
    # scrypt takes tens of milliseconds of CPU: keep it off the event loop.
    ok = await asyncio.to_thread(verify_password, password, stored)
    if row is None or not ok or not row.active:
        raise AuthenticationFailed("unknown username or wrong password")
    return Principal(
        operator_id=row.operator_id,
        name=row.name,
        role=row.role,
        call_center_id=row.call_center_id,
        extension=row.extension,
    )


# --- clients -------------------------------------------------------------------------------


async def _register(session: AsyncSession, settings: BookingSettings, data: NewClient) -> str:
    profile = new_profile(
        first_name=data.first_name,
        last_name=data.last_name,
        email=data.email,
        mobile=data.mobile,
        sms_consent=data.sms_consent,
        region=settings.default_region,
        date_of_birth=data.date_of_birth,
        phones=data.phones,
    )
    client_id = repo.new_id()
    await repo.save_client(session, client_id, profile, new=True)
    await _publish(session, settings, [_client_state(ClientRegistered, client_id, profile)])
    return client_id


async def _client_for(
    session: AsyncSession,
    settings: BookingSettings,
    client_id: str | None,
    data: NewClient | None,
) -> str:
    """An existing client's id, or the id of the client registered from ``data``."""
    if client_id is not None:
        return client_id
    if data is None:
        raise InvalidRequest("give either client_id or new_client")
    return await _register(session, settings, data)


@retry_transaction()
async def register_client(
    sessions: Sessions, settings: BookingSettings, actor: Actor, data: NewClient
) -> str:
    """Register a client; publishes ``ClientRegistered``. Returns the new client id."""
    model.ensure_may_edit_clients(actor)
    async with sessions() as session, session.begin():
        return await _register(session, settings, data)


@retry_transaction()
async def update_client(
    sessions: Sessions, settings: BookingSettings, actor: Actor, cmd: UpdateClient
) -> None:
    """Change a client's details; publishes ``ClientUpdated`` with the full new state."""
    model.ensure_may_edit_clients(actor)
    async with sessions() as session, session.begin():
        current = await repo.load_client(session, cmd.client_id, for_update=True)

        def pick(new: Any, old: Any) -> Any:
            return old if new is None else new

        profile = new_profile(
            first_name=pick(cmd.first_name, current.first_name),
            last_name=pick(cmd.last_name, current.last_name),
            email=pick(cmd.email, current.email),
            mobile=pick(cmd.mobile, current.mobile),
            sms_consent=pick(cmd.sms_consent, current.sms_consent),
            date_of_birth=pick(cmd.date_of_birth, current.date_of_birth),
            phones=pick(cmd.phones, current.phones),
            region=settings.default_region,
        )
        await repo.save_client(session, cmd.client_id, profile, new=False)
        await _publish(session, settings, [_client_state(ClientUpdated, cmd.client_id, profile)])


async def preview_merge(sessions: Sessions, actor: Actor, cmd: MergeClients) -> dict[str, Any]:
    """What merging would do: both records, the primary's resulting details, and how many
    appointments move. Changes nothing."""
    model.ensure_may_edit_clients(actor)
    model.ensure_distinct_for_merge(cmd.primary_client_id, cmd.duplicate_client_id)
    async with sessions() as session:
        primary = await repo.load_client(session, cmd.primary_client_id)
        duplicate = await repo.load_client(session, cmd.duplicate_client_id)
        from switchboard_booking.adapters.tables import appointment_attendees, appointments

        moving = await session.scalar(
            sa.select(sa.func.count())
            .select_from(appointments)
            .where(appointments.c.client_id == cmd.duplicate_client_id)
        )
        attending = await session.scalar(
            sa.select(sa.func.count())
            .select_from(appointment_attendees)
            .where(appointment_attendees.c.client_id == cmd.duplicate_client_id)
        )
    return {
        "primary": _profile_dict(cmd.primary_client_id, primary),
        "duplicate": _profile_dict(cmd.duplicate_client_id, duplicate),
        "result": _profile_dict(cmd.primary_client_id, merged_profile(primary, duplicate)),
        "appointments_to_move": int(moving or 0),
        "attendances_to_move": int(attending or 0),
    }


def _profile_dict(client_id: str, p: ClientProfile) -> dict[str, Any]:
    return {
        "client_id": client_id,
        "first_name": p.first_name,
        "last_name": p.last_name,
        "display_name": p.display_name,
        "email": p.email,
        "mobile": p.mobile,
        "phones": list(p.phones),
        "sms_consent": p.sms_consent,
        "date_of_birth": p.date_of_birth,
    }


@retry_transaction()
async def merge_clients(
    sessions: Sessions, settings: BookingSettings, actor: Actor, cmd: MergeClients
) -> int:
    """Fold the duplicate into the primary in one transaction: details, phones,
    appointments, attendances, notifications; then delete the duplicate. Publishes
    ``ClientsMerged`` and the primary's ``ClientUpdated``. Returns appointments moved."""
    model.ensure_may_edit_clients(actor)
    model.ensure_distinct_for_merge(cmd.primary_client_id, cmd.duplicate_client_id)
    async with sessions() as session, session.begin():
        # Lock both rows in id order, so two merges of the same pair cannot deadlock.
        locked = {}
        for cid in sorted((cmd.primary_client_id, cmd.duplicate_client_id)):
            locked[cid] = await repo.load_client(session, cid, for_update=True)
        primary = locked[cmd.primary_client_id]
        duplicate = locked[cmd.duplicate_client_id]
        result = merged_profile(primary, duplicate)
        moved = await repo.move_client_records(
            session, cmd.duplicate_client_id, cmd.primary_client_id
        )
        await repo.save_client(session, cmd.primary_client_id, result, new=False)
        await _publish(
            session,
            settings,
            [
                ClientsMerged(
                    primary_client_id=cmd.primary_client_id,
                    duplicate_client_id=cmd.duplicate_client_id,
                    merged_at=datetime.now(UTC),
                ),
                _client_state(ClientUpdated, cmd.primary_client_id, result),
            ],
        )
    return moved


# --- appointments --------------------------------------------------------------------------


async def _candidates(
    session: AsyncSession, cmd: BookAppointment, service: model.ServiceInfo, tz: Any, now: datetime
) -> list[str]:
    """Practitioners to try, in order: the one asked for (after checking the slot fits
    them), or everyone at the clinic giving the service whose hours fit, free ones first."""
    if cmd.practitioner_id is not None:
        works, gives = await repo.practitioner_links(
            session, cmd.practitioner_id, cmd.clinic_id, cmd.service_id
        )
        days = await repo.practitioner_days(
            session, cmd.clinic_id, cmd.service_id, [cmd.practitioner_id]
        )
        model.check_slot(
            starts_at=cmd.starts_at,
            service=service,
            meeting_method=cmd.meeting_method,
            tz=tz,
            hours=days[0].hours if days else (),
            gives_service=gives,
            works_at_clinic=works,
            now=now,
        )
        return [cmd.practitioner_id]
    days = await repo.practitioner_days(session, cmd.clinic_id, cmd.service_id)
    if cmd.language is not None:
        days = [d for d in days if cmd.language in d.languages]
    when = Interval(cmd.starts_at, cmd.starts_at + service.duration)
    fitting = [d for d in days if within_working_hours(when, tz, d.hours)]
    if not fitting:
        raise InvalidRequest("no practitioner gives this service at that time")
    model.check_slot(
        starts_at=cmd.starts_at,
        service=service,
        meeting_method=cmd.meeting_method,
        tz=tz,
        hours=fitting[0].hours,
        gives_service=True,
        works_at_clinic=True,
        now=now,
    )
    busy = await repo.busy_intervals(session, [d.practitioner_id for d in fitting], when)
    return sorted((d.practitioner_id for d in fitting), key=lambda pid: bool(busy[pid]))


@retry_transaction()
async def book_appointment(
    sessions: Sessions, settings: BookingSettings, actor: Actor, cmd: BookAppointment
) -> str:
    """Book an appointment (registering new clients on the way); publishes
    ``AppointmentBooked`` (and ``ClientRegistered`` for new clients), records the
    notifications. :class:`SlotTaken` when the practitioner (or, for anyone available,
    every fitting practitioner) is already booked then."""
    model.ensure_may_book(actor)
    if (cmd.client_id is None) == (cmd.new_client is None):
        raise InvalidRequest("give either client_id or new_client")
    now = datetime.now(UTC)
    async with sessions() as session, session.begin():
        clinic = await repo.get_clinic(session, cmd.clinic_id)
        service, _ = await repo.get_service(session, cmd.service_id)
        answers = model.check_answers(service.questions, cmd.answers)
        candidates = await _candidates(session, cmd, service, clinic.tz, now)
        existing = [c for c in [cmd.client_id, *(a.client_id for a in cmd.attendees)] if c]
        await repo.ensure_clients_exist(session, existing)
        client_id = await _client_for(session, settings, cmd.client_id, cmd.new_client)
        attendee_ids = []
        for attendee in cmd.attendees:
            if (attendee.client_id is None) == (attendee.new_client is None):
                raise InvalidRequest("each attendee needs either client_id or new_client")
            attendee_ids.append(
                await _client_for(session, settings, attendee.client_id, attendee.new_client)
            )
        attendee_ids = [a for a in dict.fromkeys(attendee_ids) if a != client_id]
        appointment = Appointment(
            appointment_id=repo.new_id(),
            client_id=client_id,
            clinic_id=cmd.clinic_id,
            practitioner_id=candidates[0],
            service_id=cmd.service_id,
            meeting_method=cmd.meeting_method,
            starts_at=cmd.starts_at,
            ends_at=cmd.starts_at + service.duration,
            call_center_id=actor.call_center_id,
            operator_id=actor.operator_id,
            attendee_client_ids=tuple(attendee_ids),
            attendee_notes=cmd.attendee_notes.strip(),
            private_notes=cmd.private_notes.strip(),
            answers=answers,
            call_id=cmd.call_id,
            touch_id=cmd.touch_id,
        )
        for practitioner_id in candidates:
            appointment = replace(appointment, practitioner_id=practitioner_id)
            if await _without_overlap(
                session, partial(repo.insert_appointment, session, appointment)
            ):
                break
        else:
            raise SlotTaken(*await repo.holder_of(session, candidates[-1], appointment.interval))
        await _notify(session, "booked", appointment)
        await _publish(
            session,
            settings,
            [
                AppointmentBooked(
                    appointment_id=appointment.appointment_id,
                    client_id=client_id,
                    clinic_id=appointment.clinic_id,
                    practitioner_id=appointment.practitioner_id,
                    service_id=appointment.service_id,
                    starts_at=appointment.starts_at,
                    ends_at=appointment.ends_at,
                    call_center_id=appointment.call_center_id,
                    operator_id=actor.operator_id,
                    meeting_method=appointment.meeting_method,
                    touch_id=cmd.touch_id,
                    call_id=cmd.call_id,
                    attendee_client_ids=list(appointment.attendee_client_ids),
                )
            ],
            correlation_id=cmd.call_id,
        )
    return appointment.appointment_id


@retry_transaction()
async def reschedule_appointment(
    sessions: Sessions, settings: BookingSettings, actor: Actor, cmd: RescheduleAppointment
) -> None:
    """Move an appointment (owner's call center or an admin); publishes
    ``AppointmentRescheduled`` and records the notifications."""
    now = datetime.now(UTC)
    async with sessions() as session, session.begin():
        current = await repo.load_appointment(session, cmd.appointment_id, for_update=True)
        current.ensure_changeable_by(actor)
        practitioner_id = cmd.practitioner_id or current.practitioner_id
        clinic = await repo.get_clinic(session, current.clinic_id)
        service, _ = await repo.get_service(session, current.service_id)
        works, gives = await repo.practitioner_links(
            session, practitioner_id, current.clinic_id, current.service_id
        )
        days = await repo.practitioner_days(
            session, current.clinic_id, current.service_id, [practitioner_id]
        )
        ends_at = model.check_slot(
            starts_at=cmd.starts_at,
            service=service,
            meeting_method=current.meeting_method,
            tz=clinic.tz,
            hours=days[0].hours if days else (),
            gives_service=gives,
            works_at_clinic=works,
            now=now,
        )
        moved = current.moved(actor, cmd.starts_at, ends_at, practitioner_id)
        if not await _without_overlap(session, partial(repo.update_appointment, session, moved)):
            raise SlotTaken(*await repo.holder_of(session, practitioner_id, moved.interval))
        await _notify(session, "rescheduled", moved)
        await _publish(
            session,
            settings,
            [
                AppointmentRescheduled(
                    appointment_id=moved.appointment_id,
                    client_id=moved.client_id,
                    clinic_id=moved.clinic_id,
                    practitioner_id=moved.practitioner_id,
                    previous_starts_at=current.starts_at,
                    starts_at=moved.starts_at,
                    ends_at=moved.ends_at,
                    call_center_id=moved.call_center_id,
                    operator_id=actor.operator_id,
                )
            ],
            correlation_id=moved.call_id,
        )


@retry_transaction()
async def cancel_appointment(
    sessions: Sessions, settings: BookingSettings, actor: Actor, cmd: CancelAppointment
) -> None:
    """Cancel an appointment (owner's call center or an admin), with a reason when the
    chain requires one; publishes ``AppointmentCancelled`` and records the notifications."""
    now = datetime.now(UTC)
    async with sessions() as session, session.begin():
        current = await repo.load_appointment(session, cmd.appointment_id, for_update=True)
        current.ensure_changeable_by(actor)
        reason_id = model.check_cancellation_reason(
            cmd.reason_id,
            required=settings.cancellation_reason_required,
            active_reason_ids=await repo.active_reason_ids(session),
        )
        cancelled = current.cancelled(actor, now, reason_id, cmd.note.strip())
        await repo.update_appointment(session, cancelled)
        await _notify(session, "cancelled", cancelled)
        await _publish(
            session,
            settings,
            [
                AppointmentCancelled(
                    appointment_id=cancelled.appointment_id,
                    client_id=cancelled.client_id,
                    clinic_id=cancelled.clinic_id,
                    cancelled_at=now,
                    reason=await repo.reason_label(session, reason_id),
                    call_center_id=cancelled.call_center_id,
                    operator_id=actor.operator_id,
                )
            ],
            correlation_id=cancelled.call_id,
        )


async def availability(
    sessions: Sessions,
    settings: BookingSettings,
    *,
    clinic_id: str,
    service_id: str,
    day: Any,
    practitioner_id: str | None,
    language: str | None,
) -> tuple[Any, list[Any]]:
    """Free slots for a service at a clinic on a (clinic-local) day: ``(clinic, slots)``,
    slots per practitioner. Pool them with :func:`~..availability.pooled`."""
    from switchboard_booking.domain.availability import free_slots

    async with sessions() as session:
        clinic = await repo.get_clinic(session, clinic_id)
        service, _ = await repo.get_service(session, service_id)
        days = await repo.practitioner_days(
            session,
            clinic_id,
            service_id,
            [practitioner_id] if practitioner_id is not None else None,
        )
        window = Interval(
            datetime.combine(day, datetime.min.time(), tzinfo=clinic.tz) - timedelta(days=1),
            datetime.combine(day, datetime.min.time(), tzinfo=clinic.tz) + timedelta(days=2),
        )
        busy = await repo.busy_intervals(session, [d.practitioner_id for d in days], window)
    schedules = [
        PractitionerDay(d.practitioner_id, d.hours, busy[d.practitioner_id], d.languages)
        for d in days
    ]
    slots = free_slots(
        day,
        clinic.tz,
        service.duration,
        schedules,
        step=timedelta(minutes=settings.slot_step_minutes),
        not_before=datetime.now(UTC),
        language=language,
    )
    return clinic, slots


# --- directory (admin) ---------------------------------------------------------------------


async def _upsert(
    session: AsyncSession, table: sa.Table, key: str, key_value: str | None, values: dict[str, Any]
) -> str:
    """Insert (new id) when ``key_value`` is None, else update that row (NotFound if none)."""
    if key_value is None:
        key_value = values.pop(key, None) or repo.new_id()
        await session.execute(sa.insert(table).values({key: key_value, **values}))
        return key_value
    if values:
        result = await session.execute(
            sa.update(table).where(table.c[key] == key_value).values(**values)
        )
    else:
        result = await session.execute(sa.select(table.c[key]).where(table.c[key] == key_value))
    found = getattr(result, "rowcount", 0) if values else result.first()
    if not found:
        raise NotFound(f"no {table.name.rstrip('s').replace('_', ' ')} {key_value!r}")
    return key_value


@retry_transaction()
async def save_clinic(
    sessions: Sessions,
    settings: BookingSettings,
    actor: Actor,
    clinic_id: str | None,
    values: dict[str, Any],
) -> str:
    """Create or change a clinic (its time zone must be an IANA name); publishes
    ``ClinicChanged``."""
    model.ensure_admin(actor)
    if "time_zone" in values:
        check_time_zone(values["time_zone"])
    if "opening_hours" in values:
        check_hours(values["opening_hours"], "opens", "closes")
    async with sessions() as session, session.begin():
        cid = await _upsert(session, clinics, "clinic_id", clinic_id, values)
        row = (await session.execute(sa.select(clinics).where(clinics.c.clinic_id == cid))).one()
        await _publish(
            session,
            settings,
            [
                ClinicChanged(
                    clinic_id=cid,
                    name=row.name,
                    city=row.city,
                    address=row.address,
                    time_zone=row.time_zone,
                    active=row.active,
                )
            ],
        )
        return cid


@retry_transaction()
async def save_service(
    sessions: Sessions, actor: Actor, service_id: str | None, values: dict[str, Any]
) -> str:
    """Create or change a service (duration, meeting methods, questions)."""
    model.ensure_admin(actor)
    if "meeting_methods" in values:
        values["meeting_methods"] = check_meeting_methods(values["meeting_methods"])
    async with sessions() as session, session.begin():
        return await _upsert(session, services, "service_id", service_id, values)


@retry_transaction()
async def save_call_center(
    sessions: Sessions,
    settings: BookingSettings,
    actor: Actor,
    call_center_id: str | None,
    values: dict[str, Any],
) -> str:
    """Create or change a call center; publishes ``CallCenterChanged``."""
    model.ensure_admin(actor)
    async with sessions() as session, session.begin():
        cid = await _upsert(session, call_centers, "call_center_id", call_center_id, values)
        row = (
            await session.execute(
                sa.select(call_centers).where(call_centers.c.call_center_id == cid)
            )
        ).one()
        await _publish(
            session,
            settings,
            [
                CallCenterChanged(
                    call_center_id=cid, name=row.name, kind=row.kind, active=row.active
                )
            ],
        )
        return cid


@retry_transaction()
async def save_cancellation_reason(
    sessions: Sessions, actor: Actor, reason_id: str | None, values: dict[str, Any]
) -> str:
    """Create or change a cancellation reason (deactivate rather than delete)."""
    model.ensure_admin(actor)
    async with sessions() as session, session.begin():
        return await _upsert(session, cancellation_reasons, "reason_id", reason_id, values)


@retry_transaction()
async def save_practitioner(
    sessions: Sessions, actor: Actor, practitioner_id: str | None, values: dict[str, Any]
) -> str:
    """Create or change a practitioner; clinic, service and working-hour lists given are
    replaced whole. Working hours must be at one of the practitioner's clinics."""
    model.ensure_admin(actor)
    clinic_ids = values.pop("clinic_ids", None)
    service_ids = values.pop("service_ids", None)
    hours = values.pop("working_hours", None)
    if hours is not None:
        check_hours(hours, "starts", "ends")
    async with sessions() as session, session.begin():
        pid = await _upsert(session, practitioners, "practitioner_id", practitioner_id, values)
        await _replace_links(session, practitioner_clinics, pid, "clinic_id", clinic_ids)
        await _replace_links(session, practitioner_services, pid, "service_id", service_ids)
        if hours is not None:
            known = (
                set(clinic_ids)
                if clinic_ids is not None
                else set(
                    (
                        await session.execute(
                            sa.select(practitioner_clinics.c.clinic_id).where(
                                practitioner_clinics.c.practitioner_id == pid
                            )
                        )
                    )
                    .scalars()
                    .all()
                )
            )
            stray = sorted({h["clinic_id"] for h in hours} - known)
            if stray:
                raise InvalidRequest(
                    f"working hours at clinics the practitioner does not "
                    f"work at: {', '.join(stray)}"
                )
            await session.execute(
                sa.delete(working_hours).where(working_hours.c.practitioner_id == pid)
            )
            if hours:
                parsed = check_hours(hours, "starts", "ends")
                await session.execute(
                    sa.insert(working_hours),
                    [
                        {
                            "practitioner_id": pid,
                            "clinic_id": h["clinic_id"],
                            "weekday": w.weekday,
                            "starts": w.starts,
                            "ends": w.ends,
                        }
                        for h, w in zip(hours, parsed, strict=True)
                    ],
                )
        return pid


async def _replace_links(
    session: AsyncSession, table: sa.Table, pid: str, column: str, ids: list[str] | None
) -> None:
    if ids is None:
        return
    await session.execute(sa.delete(table).where(table.c.practitioner_id == pid))
    if ids:
        await session.execute(
            pg_insert(table).on_conflict_do_nothing(),
            [{"practitioner_id": pid, column: i} for i in dict.fromkeys(ids)],
        )


@retry_transaction()
async def save_operator(
    sessions: Sessions,
    settings: BookingSettings,
    actor: Actor,
    operator_id: str | None,
    values: dict[str, Any],
) -> str:
    """Create or change an operator (a given password is stored hashed); publishes
    ``OperatorChanged`` with what other services need."""
    model.ensure_admin(actor)
    password = values.pop("password", None)
    if password is not None:
        values["password_hash"] = await asyncio.to_thread(hash_password, password)
    elif operator_id is None:
        raise InvalidRequest("a new operator needs a password")
    if "username" in values:
        values["username"] = values["username"].strip().lower()
    async with sessions() as session, session.begin():
        oid = await _upsert(session, operators, "operator_id", operator_id, values)
        await _publish(session, settings, [await _operator_changed(session, oid)])
        return oid


async def _operator_changed(session: AsyncSession, operator_id: str) -> OperatorChanged:
    row = (
        await session.execute(sa.select(operators).where(operators.c.operator_id == operator_id))
    ).one()
    return OperatorChanged(
        operator_id=row.operator_id,
        name=row.name,
        role=row.role,
        call_center_id=row.call_center_id,
        extension=row.extension,
        active=row.active,
    )
