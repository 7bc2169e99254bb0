"""Handlers of telephony's call events (``telephony.calls``): whether Calltouch touches are
on, identifying the caller, and opening or updating each external call's one touch."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from switchboard_contracts import CallAnswered, CallEnded, CallStarted, Envelope, TouchContact
from switchboard_crm_touch.adapters import contact_rows, events, repository
from switchboard_crm_touch.domain.identification import Contact, Identification, identify
from switchboard_crm_touch.domain.touches import (
    CallFacts,
    TouchDecision,
    absorb,
    decide,
    has_progress,
    lead_display_name,
    new_touch,
    other_party,
    with_call,
)
from switchboard_crm_touch.handlers.appointments import link_appointment
from switchboard_crm_touch.handlers.shared import Deps, save_if_changed
from switchboard_crm_touch.settings import CrmTouchSettings
from switchboard_phones import try_normalise
from switchboard_runtime.logging import bind_call_id, get_logger

log = get_logger(__package__)

CALLTOUCH = "calltouch"


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
                await save_if_changed(session, deps, touch, with_call(touch, facts))


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
        await link_appointment(session, deps, touch.touch_id, link.appointment_id, link.client_id)
    return touch.touch_id
