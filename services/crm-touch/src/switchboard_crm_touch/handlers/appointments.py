"""Handlers of booking's appointments (``booking.appointments``): the appointments recorded
for contacts' timelines, and the link from an appointment to the touch it was booked from."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from switchboard_contracts import (
    AppointmentBooked,
    AppointmentCancelled,
    AppointmentRescheduled,
    Envelope,
)
from switchboard_crm_touch.adapters import contact_rows, repository
from switchboard_crm_touch.domain.touches import with_appointment
from switchboard_crm_touch.handlers.clients import claim_lead
from switchboard_crm_touch.handlers.shared import Deps, save_if_changed


async def link_appointment(
    session: AsyncSession, deps: Deps, touch_id: str, appointment_id: str, client_id: str
) -> None:
    """An appointment was booked from a touch: link them, result ``booked``; a touch with a
    lead is with the client booked for from now on (the lead is claimed by that client)."""
    await repository.update_appointment(session, appointment_id, touch_id=touch_id)
    touch = await repository.load_touch(session, touch_id, for_update=True)
    if touch is None:
        return
    await save_if_changed(session, deps, touch, with_appointment(touch, appointment_id))
    if touch.contact_id is None or touch.contact_id == client_id:
        return
    lead = await contact_rows.load_contact(session, touch.contact_id, for_update=True)
    if lead is not None and lead.is_open_lead:
        await contact_rows.ensure_contact(session, client_id, display_name=lead.display_name)
        await claim_lead(session, deps, lead.contact_id, client_id)


async def on_appointment_booked(
    session: AsyncSession, envelope: Envelope[AppointmentBooked], deps: Deps
) -> None:
    """Record the appointment (for the contact's timeline and next visit) and, when it was
    booked during a call or from a touch, link it to that touch."""
    event, occurred_at = envelope.payload, envelope.occurred_at
    client_id = await contact_rows.resolve_contact(session, event.client_id)
    fresh = await repository.save_booked(
        session,
        {
            "appointment_id": event.appointment_id,
            "client_id": client_id,
            "clinic_id": event.clinic_id,
            "practitioner_id": event.practitioner_id,
            "service_id": event.service_id,
            "starts_at": event.starts_at,
            "ends_at": event.ends_at,
            "call_center_id": event.call_center_id,
            "operator_id": event.operator_id,
            "call_id": event.call_id,
            "booked_at": occurred_at,
        },
    )
    if not fresh:
        return
    await contact_rows.mark_active(session, client_id, occurred_at)
    touch_id = None
    if event.touch_id is not None and await repository.load_touch(session, event.touch_id):
        touch_id = event.touch_id
    if touch_id is None and event.call_id is not None:
        # No touch yet is fine: the touch links the appointment when its call arrives.
        touch_id = await repository.touch_id_for_call(session, event.call_id)
    if touch_id is not None:
        await link_appointment(session, deps, touch_id, event.appointment_id, client_id)


async def on_appointment_rescheduled(
    session: AsyncSession, envelope: Envelope[AppointmentRescheduled], _deps: Deps
) -> None:
    """Move the recorded appointment to its new time."""
    event = envelope.payload
    await repository.update_appointment(
        session,
        event.appointment_id,
        starts_at=event.starts_at,
        ends_at=event.ends_at,
        practitioner_id=event.practitioner_id,
    )


async def on_appointment_cancelled(
    session: AsyncSession, envelope: Envelope[AppointmentCancelled], _deps: Deps
) -> None:
    """Mark the recorded appointment cancelled."""
    event = envelope.payload
    await repository.update_appointment(
        session,
        event.appointment_id,
        status="cancelled",
        cancelled_at=event.cancelled_at,
        cancel_reason=event.reason,
    )
