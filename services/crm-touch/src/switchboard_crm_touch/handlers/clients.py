"""Handlers of booking's client directory (``booking.clients``): a client's state and merges,
and the steps that retire one contact into another (a merge, or a lead claimed by a client)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from switchboard_contracts import ClientRegistered, ClientsMerged, ClientUpdated, Envelope
from switchboard_crm_touch.adapters import contact_rows, repository
from switchboard_crm_touch.domain.touches import with_contact_moved
from switchboard_crm_touch.handlers.shared import Deps, publish_updated, save_if_changed
from switchboard_phones import distinct_numbers
from switchboard_runtime.logging import get_logger

log = get_logger(__package__)


async def _move_touches(session: AsyncSession, deps: Deps, from_id: str, to_id: str) -> set[str]:
    """Every touch with ``from_id`` as contact or candidate now names ``to_id`` instead; a
    ``TouchUpdated`` for each. Returns the ids of the touches changed."""
    moved = set()
    for touch in await repository.touches_involving(session, from_id):
        if await save_if_changed(session, deps, touch, with_contact_moved(touch, from_id, to_id)):
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


async def claim_lead(session: AsyncSession, deps: Deps, lead_id: str, client_id: str) -> set[str]:
    """A lead turned out to be a client: link it to the client (converted), hand over its
    number and touches. Returns the touches changed."""
    log.info("crm.lead_converted", lead_id=lead_id, client_id=client_id)
    return await _retire_into(session, deps, lead_id, client_id, "converted")


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
            changed |= await claim_lead(session, deps, lead.contact_id, event.client_id)
    if current is not None and current.placeholder:
        # Its touches were published with a stand-in name; now the real one is known.
        for touch in await repository.touches_of(session, event.client_id):
            if touch.touch_id not in changed:
                await publish_updated(session, deps, touch)


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
