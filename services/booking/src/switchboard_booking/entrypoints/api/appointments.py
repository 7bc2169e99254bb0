"""Appointments: free slots, booking, the day's calendar, rescheduling, cancelling."""

from dataclasses import asdict
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, status

from switchboard_booking.adapters import appointments_queries
from switchboard_booking.domain import commands
from switchboard_booking.domain.availability import pooled
from switchboard_booking.domain.errors import InvalidRequest
from switchboard_booking.domain.model import Actor
from switchboard_booking.entrypoints.api.bodies import BookBody, CancelBody, RescheduleBody
from switchboard_booking.entrypoints.api.guards import Guards
from switchboard_booking.handlers import appointments
from switchboard_booking.handlers.shared import Deps


def router(deps: Deps, guards: Guards) -> APIRouter:
    """``/availability`` and every ``/appointments`` endpoint; each needs a session."""
    CurrentActor = Annotated[Actor, Depends(guards.actor)]
    sessions = deps.sessions
    router = APIRouter(
        prefix="/api/booking", tags=["appointments"], dependencies=[Depends(guards.principal)]
    )

    async def view(appointment_id: str, who: Actor) -> dict[str, Any]:
        async with sessions() as session:
            return (
                await appointments_queries.appointment_view(session, appointment_id, who)
            ).as_dict()

    @router.get("/availability")
    async def availability(
        clinic_id: str,
        service_id: str,
        day: Annotated[date, Query(alias="date")],
        practitioner_id: str | None = None,
        language: str | None = None,
    ) -> dict[str, Any]:
        """Free start times for a service at a clinic on a clinic-local day: per
        practitioner (``slots``) and pooled (``anyone_available``)."""
        clinic, slots = await appointments.availability(
            deps,
            clinic_id=clinic_id,
            service_id=service_id,
            day=day,
            practitioner_id=practitioner_id,
            language=language,
        )
        return {
            "clinic_id": clinic.clinic_id,
            "time_zone": clinic.time_zone,
            "date": day.isoformat(),
            "slots": [asdict(s) for s in slots],
            "anyone_available": [asdict(s) for s in pooled(slots)],
        }

    @router.post("/appointments", status_code=status.HTTP_201_CREATED)
    async def book(body: BookBody, who: CurrentActor) -> dict[str, Any]:
        """Book an appointment; publishes ``AppointmentBooked`` (and ``ClientRegistered``
        for each new client)."""
        return (await appointments.book_appointment(deps, who, body.command())).as_dict()

    @router.get("/appointments")
    async def list_day(
        who: CurrentActor,
        day: Annotated[date, Query(alias="date")],
        clinic_id: str | None = None,
        practitioner_id: str | None = None,
        include_cancelled: bool = False,
    ) -> dict[str, Any]:
        """A clinic-local day's appointments at a clinic and/or of a practitioner, whoever
        booked them, in start order."""
        if clinic_id is None and practitioner_id is None:
            raise InvalidRequest("give clinic_id or practitioner_id")
        async with sessions() as session:
            rows = await appointments_queries.day_appointments(
                session,
                day=day,
                clinic_id=clinic_id,
                practitioner_id=practitioner_id,
                actor=who,
                include_cancelled=include_cancelled,
            )
        return {"date": day.isoformat(), "items": [r.as_dict() for r in rows]}

    @router.get("/appointments/{appointment_id}")
    async def get_appointment(appointment_id: str, who: CurrentActor) -> dict[str, Any]:
        """One appointment, with whether the caller may change it (``editable``)."""
        return await view(appointment_id, who)

    @router.post("/appointments/{appointment_id}/reschedule")
    async def reschedule(
        appointment_id: str, body: RescheduleBody, who: CurrentActor
    ) -> dict[str, Any]:
        """Move an appointment; publishes ``AppointmentRescheduled``."""
        await appointments.reschedule_appointment(
            deps,
            who,
            commands.RescheduleAppointment(appointment_id, body.starts_at, body.practitioner_id),
        )
        return await view(appointment_id, who)

    @router.post("/appointments/{appointment_id}/cancel")
    async def cancel(appointment_id: str, body: CancelBody, who: CurrentActor) -> dict[str, Any]:
        """Cancel an appointment; publishes ``AppointmentCancelled``."""
        await appointments.cancel_appointment(
            deps, who, commands.CancelAppointment(appointment_id, body.reason_id, body.note)
        )
        return await view(appointment_id, who)

    return router
