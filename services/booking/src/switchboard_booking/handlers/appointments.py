"""Booking, moving and cancelling appointments, and the free slots to book from."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from switchboard_booking.adapters import appointments_repository as repo
from switchboard_booking.adapters import (
    clients_repository,
    directory_facts,
)
from switchboard_booking.adapters.appointments_queries import AppointmentRow
from switchboard_booking.adapters.directory_facts import Chosen, ClinicInfo
from switchboard_booking.adapters.ids import new_id
from switchboard_booking.domain import model
from switchboard_booking.domain.availability import (
    Interval,
    PractitionerDay,
    Slot,
    free_slots,
    within_working_hours,
)
from switchboard_booking.domain.commands import (
    BookAppointment,
    CancelAppointment,
    RescheduleAppointment,
)
from switchboard_booking.domain.errors import InvalidRequest, NotFound, SlotTaken
from switchboard_booking.domain.model import Actor, Appointment
from switchboard_booking.handlers import absences
from switchboard_booking.handlers.clients import client_for
from switchboard_booking.handlers.shared import Deps
from switchboard_contracts import (
    AppointmentBooked,
    AppointmentCancelled,
    AppointmentRescheduled,
    Envelope,
    make_envelope,
)
from switchboard_runtime.db import retry_transaction
from switchboard_runtime.messaging import publish


def _check_chosen(
    practitioner_id: str, chosen: Chosen, meeting_method: str, starts_at: datetime, now: datetime
) -> datetime:
    """Check that the slot from ``starts_at`` fits the practitioner (their links, hours and
    time off, read with the clinic) and the clinic; returns its end."""
    if chosen.at is None:
        raise NotFound(f"no practitioner {practitioner_id!r}")
    clinic = chosen.clinic
    return model.check_slot(
        starts_at=starts_at,
        service=chosen.service,
        meeting_method=meeting_method,
        tz=clinic.tz,
        hours=chosen.at.hours,
        gives_service=chosen.at.gives_service,
        works_at_clinic=chosen.at.works_at_clinic,
        now=now,
        opening_hours=clinic.opening_hours,
        away=absences.away_from(clinic, chosen.absences, chosen.closures),
    )


async def _candidates(
    session: AsyncSession,
    cmd: BookAppointment,
    service: model.ServiceInfo,
    clinic: ClinicInfo,
    chosen: Chosen | None,
    now: datetime,
) -> list[str]:
    """Practitioners to try, in order: the one asked for (after checking the slot fits
    them), or everyone at the clinic giving the service whose hours fit and who is not
    away, free ones first. The clinic must be open then."""
    tz = clinic.tz
    when = Interval(cmd.starts_at, cmd.starts_at + service.duration)
    if cmd.practitioner_id is not None:
        assert chosen is not None
        _check_chosen(cmd.practitioner_id, chosen, cmd.meeting_method, cmd.starts_at, now)
        return [cmd.practitioner_id]
    days = await directory_facts.practitioner_days(session, cmd.clinic_id, cmd.service_id)
    if cmd.language is not None:
        days = [d for d in days if cmd.language in d.languages]
    off = await absences.away(session, clinic, [d.practitioner_id for d in days], when)
    fitting = [
        d
        for d in days
        if within_working_hours(when, tz, d.hours)
        and not any(when.overlaps(o) for o in off[d.practitioner_id])
    ]
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
        opening_hours=clinic.opening_hours,
        away=off[fitting[0].practitioner_id],
    )
    busy = await repo.busy_intervals(session, [d.practitioner_id for d in fitting], when)
    return sorted((d.practitioner_id for d in fitting), key=lambda pid: bool(busy[pid]))


def _existing_clients(cmd: BookAppointment) -> list[str]:
    """The clients a booking names by id: the client and attendees, without repeats."""
    ids = [c for c in [cmd.client_id, *(a.client_id for a in cmd.attendees)] if c]
    return list(dict.fromkeys(ids))


async def _clients_of(
    session: AsyncSession, deps: Deps, cmd: BookAppointment, chosen: Chosen | None
) -> list[str]:
    """The appointment's client and then its other attendees (existing ones checked, new
    ones registered), without repeats. With a chosen practitioner the existing ones were
    looked up by the first statement (``chosen``)."""
    existing = _existing_clients(cmd)
    if chosen is None:
        await clients_repository.ensure_clients_exist(session, existing)
    else:
        clients_repository.ensure_found(existing, chosen.clients_found)
    client_id = await client_for(session, deps, cmd.client_id, cmd.new_client)
    attendee_ids = []
    for attendee in cmd.attendees:
        if (attendee.client_id is None) == (attendee.new_client is None):
            raise InvalidRequest("each attendee needs either client_id or new_client")
        attendee_ids.append(
            await client_for(session, deps, attendee.client_id, attendee.new_client)
        )
    return [client_id, *(a for a in dict.fromkeys(attendee_ids) if a != client_id)]


def _registers(cmd: BookAppointment) -> bool:
    """Whether the booking registers new clients (the client or an attendee)."""
    return cmd.new_client is not None or any(a.new_client is not None for a in cmd.attendees)


def _booked(deps: Deps, appointment: Appointment, cmd: BookAppointment) -> Envelope[Any]:
    """The ``AppointmentBooked`` envelope of ``appointment``, as ``publish`` would make it."""
    return make_envelope(
        AppointmentBooked(
            appointment_id=appointment.appointment_id,
            client_id=appointment.client_id,
            clinic_id=appointment.clinic_id,
            practitioner_id=appointment.practitioner_id,
            service_id=appointment.service_id,
            starts_at=appointment.starts_at,
            ends_at=appointment.ends_at,
            call_center_id=appointment.call_center_id,
            operator_id=appointment.operator_id,
            meeting_method=appointment.meeting_method,
            touch_id=cmd.touch_id,
            call_id=cmd.call_id,
            attendee_client_ids=list(appointment.attendee_client_ids),
            version=appointment.version,
        ),
        producer=deps.settings.service_name,
        occurred_at=datetime.now(UTC),
        correlation_id=cmd.call_id,
    )


@retry_transaction()
async def book_appointment(deps: Deps, actor: Actor, cmd: BookAppointment) -> AppointmentRow:
    """Book an appointment (registering new clients on the way); publishes
    ``AppointmentBooked`` (and ``ClientRegistered`` for new clients); the notifications
    follow from that event (``handlers.notifications``). :class:`SlotTaken` when the
    practitioner (or, for anyone available, every fitting practitioner) is already booked
    then. Returns the appointment as ``actor`` sees it."""
    model.ensure_may_book(actor)
    if (cmd.client_id is None) == (cmd.new_client is None):
        raise InvalidRequest("give either client_id or new_client")
    now = deps.clock()
    async with deps.sessions() as session, session.begin():
        if not _registers(cmd):
            # The booking then writes in one statement (appointment, attendees, event:
            # repo.insert_appointment), atomic alone; what it reads before needs no
            # snapshot of its own (READ COMMITTED reads each statement anew anyway). No
            # BEGIN and COMMIT: two round trips of a booking's four.
            await session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
        chosen = None
        if cmd.practitioner_id is None:
            clinic, service = await directory_facts.get_clinic_and_service(
                session, cmd.clinic_id, cmd.service_id
            )
        else:
            chosen = await directory_facts.clinic_service_and_practitioner(
                session,
                cmd.clinic_id,
                cmd.service_id,
                cmd.practitioner_id,
                cmd.starts_at,
                _existing_clients(cmd),
            )
            clinic, service = chosen.clinic, chosen.service
        answers = model.check_answers(service.questions, cmd.answers)
        candidates = await _candidates(session, cmd, service, clinic, chosen, now)
        client_id, *attendee_ids = await _clients_of(session, deps, cmd, chosen)
        appointment = Appointment(
            appointment_id=new_id(),
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
            booked = _booked(deps, appointment, cmd)
            if view := await repo.insert_appointment(session, appointment, actor, booked):
                break
        else:
            raise SlotTaken(*await repo.holder_of(session, candidates[-1], appointment.interval))
    # Committed: the relay publishes the event now (woken here, not by an after-commit
    # hook: registering one per session costs more than the wake).
    deps.wake_relay()
    return view


@retry_transaction()
async def reschedule_appointment(deps: Deps, actor: Actor, cmd: RescheduleAppointment) -> None:
    """Move an appointment (owner's call center or an admin); publishes
    ``AppointmentRescheduled`` (the notifications follow from it)."""
    now = deps.clock()
    async with deps.sessions() as session, session.begin():
        current = await repo.load_appointment(session, cmd.appointment_id, for_update=True)
        current.ensure_changeable_by(actor)
        practitioner_id = cmd.practitioner_id or current.practitioner_id
        chosen = await directory_facts.clinic_service_and_practitioner(
            session, current.clinic_id, current.service_id, practitioner_id, cmd.starts_at
        )
        ends_at = _check_chosen(practitioner_id, chosen, current.meeting_method, cmd.starts_at, now)
        moved = current.moved(actor, cmd.starts_at, ends_at, practitioner_id)
        if not await repo.move_appointment(session, moved):
            raise SlotTaken(*await repo.holder_of(session, practitioner_id, moved.interval))
        await publish(
            session,
            *[
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
                    version=moved.version,
                )
            ],
            correlation_id=moved.call_id,
        )


@retry_transaction()
async def cancel_appointment(deps: Deps, actor: Actor, cmd: CancelAppointment) -> None:
    """Cancel an appointment (owner's call center or an admin), with a reason when the
    chain requires one; publishes ``AppointmentCancelled`` (the notifications follow from
    it)."""
    now = datetime.now(UTC)
    async with deps.sessions() as session, session.begin():
        current = await repo.load_appointment(session, cmd.appointment_id, for_update=True)
        current.ensure_changeable_by(actor)
        reason_id = model.check_cancellation_reason(
            cmd.reason_id,
            required=deps.settings.cancellation_reason_required,
            active_reason_ids=await repo.active_reason_ids(session),
        )
        cancelled = current.cancelled(actor, now, reason_id, cmd.note.strip())
        await repo.update_appointment(session, cancelled)
        await publish(
            session,
            *[
                AppointmentCancelled(
                    appointment_id=cancelled.appointment_id,
                    client_id=cancelled.client_id,
                    clinic_id=cancelled.clinic_id,
                    cancelled_at=now,
                    reason=await repo.reason_label(session, reason_id),
                    call_center_id=cancelled.call_center_id,
                    operator_id=actor.operator_id,
                    version=cancelled.version,
                )
            ],
            correlation_id=cancelled.call_id,
        )


async def availability(
    deps: Deps,
    *,
    clinic_id: str,
    service_id: str,
    day: date,
    practitioner_id: str | None,
    language: str | None,
) -> tuple[ClinicInfo, list[Slot]]:
    """Free slots for a service at a clinic on a (clinic-local) day: ``(clinic, slots)``,
    slots per practitioner. Pool them with :func:`~..availability.pooled`."""
    async with deps.sessions() as session:
        clinic, service = await directory_facts.get_clinic_and_service(
            session, clinic_id, service_id
        )
        days = await directory_facts.practitioner_days(
            session,
            clinic_id,
            service_id,
            [practitioner_id] if practitioner_id is not None else None,
        )
        window = Interval(
            datetime.combine(day, datetime.min.time(), tzinfo=clinic.tz) - timedelta(days=1),
            datetime.combine(day, datetime.min.time(), tzinfo=clinic.tz) + timedelta(days=2),
        )
        ids = [d.practitioner_id for d in days]
        busy = await repo.busy_intervals(session, ids, window)
        off = await absences.away(session, clinic, ids, window)
    # Absences and closed days take slots away exactly as appointments do.
    schedules = [
        PractitionerDay(
            d.practitioner_id,
            d.hours,
            (*busy[d.practitioner_id], *off[d.practitioner_id]),
            d.languages,
        )
        for d in days
    ]
    slots = free_slots(
        day,
        clinic.tz,
        service.duration,
        schedules,
        step=timedelta(minutes=deps.settings.slot_step_minutes),
        not_before=deps.clock(),
        language=language,
        opening_hours=clinic.opening_hours,
    )
    return clinic, slots
