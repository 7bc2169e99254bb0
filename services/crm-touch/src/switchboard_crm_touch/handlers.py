"""crm-touch's handlers: one per consumed event and per API command.

Each gets the session of its unit of work and its dependencies as arguments, loads what it
needs, lets the domain decide, saves, and stages the touch events it causes in the outbox
of the same transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from switchboard_contracts import (
    AppointmentBooked,
    AppointmentCancelled,
    AppointmentRescheduled,
    CallAnswered,
    CallEnded,
    CallStarted,
    ClientRegistered,
    ClientsMerged,
    ClientUpdated,
    ClinicChanged,
    Envelope,
    IntegrationSettingsChanged,
    TouchContact,
)
from switchboard_crm_touch.adapters import contact_rows, events, repository
from switchboard_crm_touch.adapters.tables import clinics
from switchboard_crm_touch.domain.errors import NotFound
from switchboard_crm_touch.domain.identification import Contact, Identification, identify
from switchboard_crm_touch.domain.touches import (
    UNSET,
    CallFacts,
    Touch,
    TouchDecision,
    absorb,
    decide,
    has_progress,
    lead_display_name,
    new_touch,
    other_party,
    with_appointment,
    with_call,
    with_contact_moved,
    with_update,
)
from switchboard_crm_touch.settings import CrmTouchSettings
from switchboard_phones import distinct_numbers, try_normalise
from switchboard_runtime.directory import project_clinic
from switchboard_runtime.logging import bind_call_id, get_logger
from switchboard_runtime.messaging import Subscription

log = get_logger(__name__)

CALLTOUCH = "calltouch"


def _now() -> datetime:
    return datetime.now(UTC)


def _new_id() -> str:
    return str(uuid.uuid4())


@dataclass(frozen=True)
class Deps:
    """What handlers depend on besides the session: settings, a clock, an id source."""

    settings: CrmTouchSettings
    clock: Callable[[], datetime] = field(default=_now)
    new_id: Callable[[], str] = field(default=_new_id)


# --- shared steps --------------------------------------------------------------------------


async def _publish_updated(session: AsyncSession, deps: Deps, touch: Touch) -> None:
    now = deps.clock()
    contact = await contact_rows.touch_contact(session, touch, now)
    await events.stage_touch_updated(session, touch, contact, now)


async def _save_if_changed(session: AsyncSession, deps: Deps, old: Touch, new: Touch) -> bool:
    if new == old:
        return False
    await repository.save_touch(session, new)
    await _publish_updated(session, deps, new)
    return True


async def _move_touches(session: AsyncSession, deps: Deps, from_id: str, to_id: str) -> set[str]:
    """Every touch with ``from_id`` as contact or candidate now names ``to_id`` instead; a
    ``TouchUpdated`` for each. Returns the ids of the touches changed."""
    moved = set()
    for touch in await repository.touches_involving(session, from_id):
        if await _save_if_changed(session, deps, touch, with_contact_moved(touch, from_id, to_id)):
            moved.add(touch.touch_id)
    return moved


async def _retire_into(
    session: AsyncSession, deps: Deps, contact_id: str, into: str, status: str
) -> set[str]:
    """``contact_id`` lives on as ``into`` (a merge, or a lead claimed by a client): its
    numbers, touches and appointments go over. Returns the touches changed."""
    await contact_rows.retire_contact(session, contact_id, into, status)
    await contact_rows.move_phones(
        session, contact_id, into, source="lead" if status == "converted" else None
    )
    await repository.move_appointments(session, contact_id, into)
    return await _move_touches(session, deps, contact_id, into)


async def _claim_lead(session: AsyncSession, deps: Deps, lead_id: str, client_id: str) -> set[str]:
    """A lead turned out to be a client: link it to the client (converted), hand over its
    number and touches. Returns the touches changed."""
    log.info("crm.lead_converted", lead_id=lead_id, client_id=client_id)
    return await _retire_into(session, deps, lead_id, client_id, "converted")


# --- client directory (booking.clients) ----------------------------------------------------


async def on_client_state(
    session: AsyncSession, envelope: Envelope[ClientRegistered | ClientUpdated], deps: Deps
) -> None:
    """Replace the projection of a client with booking's full state, then let any open lead
    for one of its numbers be claimed by it (the lead was this client, calling before they
    were registered)."""
    event, occurred_at = envelope.payload, envelope.occurred_at
    current = await contact_rows.load_contact(session, event.client_id, for_update=True)
    if current is not None and current.status != "active":
        log.info("crm.client_state_ignored", client_id=event.client_id, reason=current.status)
        return
    if current is not None and current.state_at is not None and occurred_at < current.state_at:
        log.info("crm.client_state_ignored", client_id=event.client_id, reason="stale")
        return
    phones = distinct_numbers(event.phones, deps.settings.default_region)
    await contact_rows.save_client_state(
        session,
        event.client_id,
        kind=event.kind,
        display_name=event.display_name,
        details=event.key_details,
        state_at=occurred_at,
    )
    await contact_rows.replace_booking_phones(session, event.client_id, phones, new=current is None)
    changed: set[str] = set()
    for lead in await contact_rows.open_leads_for(session, phones):
        if lead.contact_id != event.client_id:
            changed |= await _claim_lead(session, deps, lead.contact_id, event.client_id)
    if current is not None and current.placeholder:
        # Its touches were published with a stand-in name; now the real one is known.
        for touch in await repository.touches_of(session, event.client_id):
            if touch.touch_id not in changed:
                await _publish_updated(session, deps, touch)


async def on_clients_merged(
    session: AsyncSession, envelope: Envelope[ClientsMerged], deps: Deps
) -> None:
    """The duplicate is gone: its numbers, touches (a ``TouchUpdated`` each) and appointments
    now belong to the primary; later events about the duplicate are ignored."""
    event = envelope.payload
    primary = await contact_rows.resolve_contact(session, event.primary_client_id)
    duplicate = event.duplicate_client_id
    if primary == duplicate:
        return  # already merged the other way round; nothing sensible left to do
    await contact_rows.ensure_contact(session, primary)
    current = await contact_rows.load_contact(session, duplicate, for_update=True)
    if current is None:
        # Merged before its registration arrived (another partition): leave a tombstone so
        # that the late registration is ignored.
        await contact_rows.ensure_contact(session, duplicate, status="merged", merged_into=primary)
        await repository.move_appointments(session, duplicate, primary)
        return
    if current.status != "active" and current.merged_into == primary:
        return
    moved = await _retire_into(session, deps, duplicate, primary, "merged")
    log.info("crm.clients_merged", primary=primary, duplicate=duplicate, touches=len(moved))


# --- calls (telephony.calls) ---------------------------------------------------------------


async def calltouch_enabled(session: AsyncSession, settings: CrmTouchSettings) -> bool:
    """Whether Calltouch touch creation is on: the last switch seen on telephony.settings,
    or ``calltouch_enabled_default`` while none was ever seen."""
    seen = await repository.integration_setting(session, CALLTOUCH)
    return seen[0] if seen is not None else settings.calltouch_enabled_default


async def on_call_event(
    session: AsyncSession, envelope: Envelope[CallStarted | CallAnswered | CallEnded], deps: Deps
) -> None:
    """Fold a call event into the call's record; when the call is first known to be
    external, identify the caller and open its one touch (while Calltouch is on), or update
    the touch it already has."""
    event = envelope.payload
    with bind_call_id(event.call_id):
        record = await repository.load_call(session, event.call_id)
        facts = absorb(record.facts, event)
        decision, touch_id = record.touch_decision, record.touch_id
        if decision is None:
            # Decided once per call; every verdict but WAIT is final, which is what keeps a
            # call at one touch however its events are duplicated or reordered.
            verdict = decide(facts, enabled=await calltouch_enabled(session, deps.settings))
            if verdict is TouchDecision.CREATE:
                touch_id = await _open_touch(session, deps, facts)
            elif verdict is TouchDecision.DISABLED:
                # No touch, but the pop-up still needs to know who is calling.
                await _identify_caller(session, deps, facts)
            if verdict is not TouchDecision.WAIT:
                decision = verdict.value
            await repository.save_call(session, repository.CallRecord(facts, decision, touch_id))
            return
        await repository.save_call(session, replace(record, facts=facts))
        if touch_id is not None:
            touch = await repository.load_touch(session, touch_id, for_update=True)
            if touch is not None:
                await _save_if_changed(session, deps, touch, with_call(touch, facts))


async def _identify_or_open_lead(
    session: AsyncSession, deps: Deps, phone: str, at: datetime
) -> tuple[Identification, dict[str, contact_rows.ContactDetails]]:
    """Who holds ``phone`` (with what the pop-up shows about them); for a number nobody
    holds, the lead opened for it (one per number: the next call from it finds that lead)."""
    held = await contact_rows.holders(session, phone, deps.clock())
    found = identify(phone, [d.contact for d in held])
    if found.known:
        return found, {d.contact.contact_id: d for d in held}
    name = lead_display_name(phone)
    lead_id = await contact_rows.open_lead(session, deps.new_id(), phone, name, at)
    log.info("crm.lead_opened", lead_id=lead_id)
    lead = contact_rows.ContactDetails(Contact(contact_id=lead_id, kind="lead", display_name=name))
    return identify(phone, [lead.contact]), {lead_id: lead}


async def _identify_caller(session: AsyncSession, deps: Deps, facts: CallFacts) -> None:
    """Publish who holds the other party's number of an external call that gets no touch
    (touch creation off): nobody → unknown; no lead is opened for a call without a touch."""
    raw = other_party(facts)
    phone = try_normalise(raw, deps.settings.default_region)
    contact = None
    if phone:
        held = await contact_rows.holders(session, phone, deps.clock())
        found = identify(phone, [d.contact for d in held])
        if found.best is not None:
            contact = contact_rows.build_contact(
                found.best.contact_id,
                [c.contact_id for c in found.matches],
                found.ambiguous,
                {d.contact.contact_id: d for d in held},
            )
    await _stage_identified(session, deps, facts, phone or raw, contact, None)


async def _stage_identified(
    session: AsyncSession,
    deps: Deps,
    facts: CallFacts,
    phone: str | None,
    contact: TouchContact | None,
    touch_id: str | None,
) -> None:
    if facts.direction is None:  # decide() only settles a call whose direction is known
        return
    await events.stage_caller_identified(
        session,
        call_id=facts.call_id,
        direction=facts.direction,
        phone=phone,
        contact=contact,
        touch_id=touch_id,
        at=deps.clock(),
    )
    log.info("crm.caller_identified", known=contact is not None, touch_id=touch_id)


async def _open_touch(session: AsyncSession, deps: Deps, facts: CallFacts) -> str:
    """Create the touch of a call decided ``CREATE``; returns its id."""
    raw = other_party(facts)
    phone = try_normalise(raw, deps.settings.default_region)
    started_at = facts.started_at or deps.clock()  # decide() only says CREATE with a start
    found, details = (
        await _identify_or_open_lead(session, deps, phone, started_at) if phone else (None, {})
    )
    touch = new_touch(deps.new_id(), facts, phone or raw, found)
    await repository.insert_touch(session, touch)
    if touch.contact_id is not None:
        await contact_rows.mark_active(session, touch.contact_id, touch.created_at)
    # Details were read before the touch existed: its previous calls are the ones counted.
    contact = contact_rows.build_touch_contact(touch, details)
    await _stage_identified(session, deps, facts, touch.phone, contact, touch.touch_id)
    await events.stage_touch_created(session, touch, contact)
    if has_progress(touch):
        # The call was answered or ended before its touch could be opened (events out of
        # order): say so right after the creation.
        await events.stage_touch_updated(session, touch, contact, deps.clock())
    log.info(
        "crm.touch_created",
        touch_id=touch.touch_id,
        contact_id=touch.contact_id,
        ambiguous=touch.ambiguous,
    )
    for link in await repository.unlinked_appointments_for_call(session, facts.call_id):
        await _link_appointment(session, deps, touch.touch_id, link.appointment_id, link.client_id)
    return touch.touch_id


# --- appointments (booking.appointments) ---------------------------------------------------


async def _link_appointment(
    session: AsyncSession, deps: Deps, touch_id: str, appointment_id: str, client_id: str
) -> None:
    """An appointment was booked from a touch: link them, result ``booked``; a touch with a
    lead is with the client booked for from now on (the lead is claimed by that client)."""
    await repository.update_appointment(session, appointment_id, touch_id=touch_id)
    touch = await repository.load_touch(session, touch_id, for_update=True)
    if touch is None:
        return
    await _save_if_changed(session, deps, touch, with_appointment(touch, appointment_id))
    if touch.contact_id is None or touch.contact_id == client_id:
        return
    lead = await contact_rows.load_contact(session, touch.contact_id, for_update=True)
    if lead is not None and lead.is_open_lead:
        await contact_rows.ensure_contact(session, client_id, display_name=lead.display_name)
        await _claim_lead(session, deps, lead.contact_id, client_id)


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
        await _link_appointment(session, deps, touch_id, event.appointment_id, client_id)


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


# --- directory and settings ----------------------------------------------------------------


async def on_clinic_changed(
    session: AsyncSession, envelope: Envelope[ClinicChanged], _deps: Deps
) -> None:
    """Remember the clinic's name and time zone (for "next visit" in local time)."""
    await project_clinic(session, clinics, envelope)


async def on_settings_changed(
    session: AsyncSession, envelope: Envelope[IntegrationSettingsChanged], _deps: Deps
) -> None:
    """Remember an integration's switch (crm-touch acts on Calltouch's)."""
    event = envelope.payload
    await repository.save_integration_setting(
        session, event.integration, event.enabled, event.changed_at
    )
    log.info("crm.integration_switched", integration=event.integration, enabled=event.enabled)


# --- the subscription ---------------------------------------------------------------------

#: crm-touch's whole subscription: one consumer group over every input topic, so within a
#: replica events are applied one after the other (no two handlers race for one touch).
#: Other events on these topics (ringing, transfers, tags, operators) are skipped.
SUBSCRIPTION: Subscription[Deps] = Subscription(
    group="crm-touch",
    handlers={
        IntegrationSettingsChanged: on_settings_changed,
        ClinicChanged: on_clinic_changed,
        ClientRegistered: on_client_state,
        ClientUpdated: on_client_state,
        ClientsMerged: on_clients_merged,
        CallStarted: on_call_event,
        CallAnswered: on_call_event,
        CallEnded: on_call_event,
        AppointmentBooked: on_appointment_booked,
        AppointmentRescheduled: on_appointment_rescheduled,
        AppointmentCancelled: on_appointment_cancelled,
    },
)
SUBSCRIPTIONS = (SUBSCRIPTION,)


# --- commands (API) ------------------------------------------------------------------------


async def update_touch(
    session: AsyncSession,
    deps: Deps,
    touch_id: str,
    *,
    status: Any = UNSET,
    result: Any = UNSET,
    notes: Any = UNSET,
    contact_id: Any = UNSET,
) -> Touch:
    """An operator sets a touch's status, result, notes or actual contact; publishes
    ``TouchUpdated`` when anything changed. :class:`NotFound` for an unknown touch."""
    touch = await repository.load_touch(session, touch_id, for_update=True)
    if touch is None:
        raise NotFound("no such touch")
    updated = with_update(touch, status=status, result=result, notes=notes, contact_id=contact_id)
    if updated.contact_id != touch.contact_id and updated.contact_id is not None:
        await contact_rows.mark_active(session, updated.contact_id, deps.clock())
    await _save_if_changed(session, deps, touch, updated)
    return updated
