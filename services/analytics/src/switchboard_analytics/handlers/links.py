"""What calls learn from other entities: touches, appointments and the directory
(operators, clinics and their zones, public numbers), stored in their own tables, and every
call row that depends on them brought up to date, whichever arrived first."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from switchboard_analytics.adapters import store
from switchboard_analytics.adapters.appointments import appointment_call_ids, upsert_appointments
from switchboard_analytics.adapters.tables import clinics, dids, operators
from switchboard_analytics.handlers.projection import Projection
from switchboard_contracts import (
    AppointmentBooked,
    ClinicChanged,
    DidChanged,
    Envelope,
    OperatorChanged,
    TouchCreated,
    TouchUpdated,
)
from switchboard_runtime.consumer import PermanentError
from switchboard_runtime.directory import newest_wins, project_clinic, project_operator


async def apply_appointments(
    session: AsyncSession, states: Sequence[Mapping[str, Any]], p: Projection
) -> None:
    """Store appointments' bookings and cancellations, and refresh the conversion columns
    of the calls they count for, before and after (the call named, or the call of the
    touch named). A call or touch that arrives later takes them when it is written."""
    if not states:
        return
    ids = sorted({s["appointment_id"] for s in states})
    before = set() if p.deferred else await appointment_call_ids(session, ids)
    await upsert_appointments(session, states)
    if not p.deferred:
        calls = before | await appointment_call_ids(session, ids)
        await store.refresh_linked_columns(session, sorted(calls))


def appointment_state(envelope: Envelope[Any]) -> dict[str, Any]:
    """What an appointment event tells the conversion report."""
    event = envelope.payload
    if isinstance(event, AppointmentBooked):
        return {
            "appointment_id": event.appointment_id,
            "call_id": event.call_id,
            "touch_id": event.touch_id,
            "booked_at": envelope.occurred_at,
        }
    return {"appointment_id": event.appointment_id, "cancelled_at": event.cancelled_at}


async def apply_touches(
    session: AsyncSession, events: Sequence[TouchCreated | TouchUpdated], p: Projection
) -> None:
    """Store touches' latest states (in arrival order) and bring each affected call's row
    up to date (its latest touch, its conversion columns: the appointments booked from its
    touches): the calls the touches were linked to before, and now."""
    linked = {} if p.deferred else await store.touch_call_ids(session, [e.touch_id for e in events])
    await store.upsert_touches(session, [_touch_state(e) for e in events])
    if p.deferred:
        return
    calls = set(linked.values()) | {e.call_id for e in events if e.call_id}
    await store.refresh_linked_columns(session, sorted(calls))


def _touch_state(event: TouchCreated | TouchUpdated) -> dict[str, Any]:
    contact = event.contact
    return {
        "touch_id": event.touch_id,
        "call_id": event.call_id,
        "contact_id": contact.id if contact else None,
        "contact_kind": contact.kind if contact else None,
        "contact_name": contact.display_name if contact else None,
        "operator_id": event.operator_id,
        "version_at": event.created_at if isinstance(event, TouchCreated) else event.updated_at,
    }


async def apply_directory(session: AsyncSession, envelope: Envelope[Any], p: Projection) -> None:
    """Apply one directory event (operator, clinic): they are rare, one at a time."""
    event = envelope.payload
    if isinstance(event, OperatorChanged):
        await project_operator(session, operators, envelope)
    elif isinstance(event, ClinicChanged):
        await on_clinic_changed(session, event, envelope, p)
    elif isinstance(event, DidChanged):
        await on_did_changed(session, envelope)


async def on_did_changed(session: AsyncSession, envelope: Envelope[DidChanged]) -> None:
    """Keep a public number's description (the label of its report rows), newest wins."""
    event = envelope.payload
    values = {
        "did": event.did,
        "clinic_id": event.clinic_id,
        "description": event.description,
        "active": event.active,
        "version_at": envelope.occurred_at,
    }
    await session.execute(newest_wins(dids, values))


async def on_clinic_changed(
    session: AsyncSession, event: ClinicChanged, envelope: Envelope[Any], p: Projection
) -> None:
    """Store a clinic's name and time zone; re-time its calls if the zone they use changed.

    A zone PostgreSQL does not know (its time zone database older than the producer's)
    is refused: stored, it would make every later call of the clinic fail.
    """
    if not await store.zone_known(session, event.time_zone):
        raise PermanentError("unknown_time_zone", f"PostgreSQL does not know {event.time_zone}")
    before = await store.clinic_zone(session, event.clinic_id) or p.default_time_zone
    stored = await project_clinic(session, clinics, envelope)
    after = stored.time_zone if stored is not None else None
    if after is not None and after != before and not p.deferred:
        await store.rezone_clinic(session, event.clinic_id, after)
