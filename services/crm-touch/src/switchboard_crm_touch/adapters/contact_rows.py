"""Contacts as the handlers load and save them: their rows and phones, leads, merges,
and the details a pop-up or a touch shows of them. Every write happens in the caller's
transaction."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard_contracts import ClientKind, ContactRef, TouchContact
from switchboard_crm_touch.adapters.tables import (
    appointments,
    clinics,
    contact_phones,
    contacts,
    touches,
)
from switchboard_crm_touch.domain.identification import Contact
from switchboard_crm_touch.domain.touches import NextVisit, Touch, key_details

#: How far a chain of merges is followed (A merged into B, B into C…) before giving up.
MAX_MERGE_HOPS = 20


@dataclass(frozen=True)
class ContactRow:
    """One row of ``contacts``."""

    contact_id: str
    kind: ClientKind
    origin: str
    display_name: str
    key_details: dict[str, str]
    status: str
    merged_into: str | None
    placeholder: bool
    lead_phone: str | None
    state_at: datetime | None
    last_active_at: datetime | None

    @property
    def is_open_lead(self) -> bool:
        """A lead crm-touch opened that nobody has claimed yet."""
        return self.kind == "lead" and self.origin == "crm" and self.status == "active"


def _contact_row(row: Any) -> ContactRow:
    data = row._mapping
    return ContactRow(**{f.name: data[f.name] for f in fields(ContactRow)})


# --- contacts ------------------------------------------------------------------------------


async def load_contact(
    session: AsyncSession, contact_id: str, *, for_update: bool = False
) -> ContactRow | None:
    """The contact with this id (merged and converted ones included), or ``None``."""
    query = sa.select(contacts).where(contacts.c.contact_id == contact_id)
    if for_update:
        query = query.with_for_update()
    row = (await session.execute(query)).first()
    return _contact_row(row) if row is not None else None


async def resolve_contact(session: AsyncSession, contact_id: str) -> str:
    """The contact ``contact_id`` lives on as, following merges and lead conversions."""
    current = contact_id
    for _ in range(MAX_MERGE_HOPS):
        into = await session.scalar(
            sa.select(contacts.c.merged_into).where(
                contacts.c.contact_id == current, contacts.c.status != "active"
            )
        )
        if into is None:
            return current
        current = into
    return current


async def save_client_state(
    session: AsyncSession,
    client_id: str,
    *,
    kind: ClientKind,
    display_name: str,
    details: Mapping[str, str],
    state_at: datetime,
) -> None:
    """Replace a client's details with booking's latest state (creating the contact)."""
    values = {
        "kind": kind,
        "display_name": display_name,
        "key_details": dict(details),
        "state_at": state_at,
        "placeholder": False,
        "updated_at": sa.func.now(),
    }
    await session.execute(
        pg_insert(contacts)
        .values(contact_id=client_id, origin="booking", last_active_at=state_at, **values)
        .on_conflict_do_update(
            index_elements=[contacts.c.contact_id],
            set_={
                **values,
                "last_active_at": sa.func.greatest(contacts.c.last_active_at, state_at),
            },
        )
    )


async def ensure_contact(
    session: AsyncSession,
    contact_id: str,
    *,
    display_name: str = "",
    status: str = "active",
    merged_into: str | None = None,
) -> None:
    """Make sure a client referred to before its record arrived exists, as a placeholder
    (or, with ``status='merged'``, as the tombstone of a client merged away)."""
    await session.execute(
        pg_insert(contacts)
        .values(
            contact_id=contact_id,
            kind="patient",
            origin="booking",
            display_name=display_name,
            placeholder=True,
            status=status,
            merged_into=merged_into,
        )
        .on_conflict_do_nothing(index_elements=[contacts.c.contact_id])
    )


async def replace_booking_phones(
    session: AsyncSession, contact_id: str, phones: Sequence[str], *, new: bool = False
) -> None:
    """Make the numbers booking gave for a client exactly ``phones`` (numbers inherited from
    a lead stay); ``new`` says the contact had no numbers yet (one round trip less)."""
    if not new:
        stale = sa.delete(contact_phones).where(
            contact_phones.c.contact_id == contact_id, contact_phones.c.source == "booking"
        )
        if phones:
            stale = stale.where(contact_phones.c.phone.not_in(list(phones)))
        await session.execute(stale)
    if phones:
        await session.execute(
            pg_insert(contact_phones)
            .values([{"phone": p, "contact_id": contact_id, "source": "booking"} for p in phones])
            .on_conflict_do_nothing()
        )


async def open_leads_for(session: AsyncSession, phones: Sequence[str]) -> list[ContactRow]:
    """Open (unclaimed) leads opened for any of ``phones``, locked, in id order."""
    if not phones:
        return []
    rows = await session.execute(
        sa.select(contacts)
        .where(
            contacts.c.lead_phone.in_(list(phones)),
            contacts.c.kind == "lead",
            contacts.c.origin == "crm",
            contacts.c.status == "active",
        )
        .order_by(contacts.c.contact_id)
        .with_for_update()
    )
    return [_contact_row(r) for r in rows]


async def open_lead(
    session: AsyncSession, new_id: str, phone: str, display_name: str, at: datetime
) -> str:
    """The id of the open lead for ``phone``, opening one (with id ``new_id``) if there is
    none. Safe against a concurrent opening: the partial unique index decides."""
    inserted = await session.scalar(
        pg_insert(contacts)
        .values(
            contact_id=new_id,
            kind="lead",
            origin="crm",
            display_name=display_name,
            lead_phone=phone,
            last_active_at=at,
        )
        .on_conflict_do_nothing(
            index_elements=[contacts.c.lead_phone],
            index_where=sa.text("status = 'active' AND lead_phone IS NOT NULL"),
        )
        .returning(contacts.c.contact_id)
    )
    lead_id = inserted or await session.scalar(
        sa.select(contacts.c.contact_id).where(
            contacts.c.lead_phone == phone, contacts.c.status == "active"
        )
    )
    if lead_id is None:  # pragma: no cover - the insert or the select always finds one
        raise RuntimeError("lead neither opened nor found")
    await session.execute(
        pg_insert(contact_phones)
        .values(phone=phone, contact_id=lead_id, source="lead")
        .on_conflict_do_nothing()
    )
    return str(lead_id)


async def retire_contact(session: AsyncSession, contact_id: str, into: str, status: str) -> None:
    """Mark a contact merged (or a lead converted) into ``into``; whatever pointed at it
    now points at ``into``."""
    await session.execute(
        contacts.update()
        .where(contacts.c.contact_id == contact_id)
        .values(status=status, merged_into=into, updated_at=sa.func.now())
    )
    await session.execute(
        contacts.update()
        .where(contacts.c.merged_into == contact_id, contacts.c.status != "active")
        .values(merged_into=into)
    )


async def move_phones(
    session: AsyncSession, from_id: str, to_id: str, *, source: str | None = None
) -> None:
    """Give ``to_id`` every number of ``from_id`` (keeping each row's source unless
    ``source`` is given); ``from_id`` keeps none."""
    moved = sa.select(
        contact_phones.c.phone,
        sa.literal(to_id),
        sa.literal(source) if source is not None else contact_phones.c.source,
    ).where(contact_phones.c.contact_id == from_id)
    await session.execute(
        pg_insert(contact_phones)
        .from_select(["phone", "contact_id", "source"], moved)
        .on_conflict_do_nothing()
    )
    await session.execute(sa.delete(contact_phones).where(contact_phones.c.contact_id == from_id))


async def mark_active(session: AsyncSession, contact_id: str, at: datetime) -> None:
    """Record that a contact was active at ``at`` (the best guess among several holders of
    a number is the most recently active)."""
    await session.execute(
        contacts.update()
        .where(contacts.c.contact_id == contact_id)
        .values(last_active_at=sa.func.greatest(contacts.c.last_active_at, at))
    )


async def contact_refs(session: AsyncSession, ids: Iterable[str]) -> dict[str, ContactRef]:
    """``ContactRef`` (id, kind, display name) of each known id."""
    wanted = list(dict.fromkeys(ids))
    if not wanted:
        return {}
    rows = await session.execute(
        sa.select(contacts.c.contact_id, contacts.c.kind, contacts.c.display_name).where(
            contacts.c.contact_id.in_(wanted)
        )
    )
    return {
        r.contact_id: ContactRef(id=r.contact_id, kind=r.kind, display_name=r.display_name)
        for r in rows
    }


@dataclass(frozen=True)
class ContactDetails:
    """A contact with what the pop-up shows besides booking's details: the next visit and
    how many touches it has had."""

    contact: Contact
    next_visit: NextVisit | None = None
    touch_count: int = 0

    def key_details(self) -> dict[str, str]:
        """The pop-up's label → value pairs for this contact."""
        return key_details(
            self.contact.key_details,
            kind=self.contact.kind,
            next_visit=self.next_visit,
            previous_calls=self.touch_count,
        )


def _details_query(now: datetime, excluding_touch: str | None) -> sa.Select[Any]:
    """Contacts with their next booked visit (a lateral join) and touch count, in one
    round trip: identification is on the path of every incoming call."""
    visit = (
        sa.select(appointments.c.starts_at, clinics.c.name, clinics.c.time_zone)
        .outerjoin(clinics, clinics.c.clinic_id == appointments.c.clinic_id)
        .where(
            appointments.c.client_id == contacts.c.contact_id,
            appointments.c.status == "booked",
            appointments.c.starts_at > now,
        )
        .order_by(appointments.c.starts_at)
        .limit(1)
        .lateral("next_visit")
    )
    counted = sa.select(sa.func.count()).where(touches.c.contact_id == contacts.c.contact_id)
    if excluding_touch is not None:
        counted = counted.where(touches.c.touch_id != excluding_touch)
    return sa.select(
        contacts.c.contact_id,
        contacts.c.kind,
        contacts.c.display_name,
        contacts.c.last_active_at,
        contacts.c.key_details,
        visit.c.starts_at.label("visit_at"),
        visit.c.name.label("visit_clinic"),
        visit.c.time_zone.label("visit_zone"),
        counted.scalar_subquery().label("touch_count"),
    ).select_from(contacts.outerjoin(visit, sa.true()))


def _details(row: Any) -> ContactDetails:
    return ContactDetails(
        contact=Contact(
            contact_id=row.contact_id,
            kind=row.kind,
            display_name=row.display_name,
            last_active_at=row.last_active_at,
            key_details=row.key_details or {},
        ),
        next_visit=NextVisit(row.visit_at, row.visit_clinic, row.visit_zone)
        if row.visit_at is not None
        else None,
        touch_count=int(row.touch_count or 0),
    )


async def holders(session: AsyncSession, phone: str, now: datetime) -> list[ContactDetails]:
    """The active contacts holding ``phone`` (E.164), with their details, in no order."""
    query = (
        _details_query(now, None)
        .join(contact_phones, contact_phones.c.contact_id == contacts.c.contact_id)
        .where(contact_phones.c.phone == phone, contacts.c.status == "active")
    )
    return [_details(r) for r in await session.execute(query)]


async def contact_details(
    session: AsyncSession,
    ids: Iterable[str],
    now: datetime,
    *,
    excluding_touch: str | None = None,
) -> dict[str, ContactDetails]:
    """Details of each known contact of ``ids`` (merged ones too); the touch count leaves
    out touch ``excluding_touch``."""
    wanted = list(dict.fromkeys(ids))
    if not wanted:
        return {}
    query = _details_query(now, excluding_touch).where(contacts.c.contact_id.in_(wanted))
    return {d.contact.contact_id: d for d in map(_details, await session.execute(query))}


def build_contact(
    contact_id: str | None,
    candidate_ids: Sequence[str],
    ambiguous: bool,
    details: Mapping[str, ContactDetails],
) -> TouchContact | None:
    """The ``contact`` of crm-touch's events from its contacts' details: who the call is
    with, what the pop-up shows about them, and the other candidates when the number is
    shared."""
    found = details.get(contact_id or "")
    if found is None:
        return None
    candidates = [details[c].contact for c in candidate_ids if c in details]
    return TouchContact(
        id=found.contact.contact_id,
        kind=found.contact.kind,
        display_name=found.contact.display_name,
        key_details=found.key_details(),
        ambiguous=ambiguous,
        candidates=[
            ContactRef(id=c.contact_id, kind=c.kind, display_name=c.display_name)
            for c in candidates
        ]
        if len(candidate_ids) > 1
        else [],
    )


def build_touch_contact(touch: Touch, details: Mapping[str, ContactDetails]) -> TouchContact | None:
    """The ``contact`` of a touch's events (see :func:`build_contact`)."""
    return build_contact(touch.contact_id, touch.candidate_ids, touch.ambiguous, details)


async def touch_contact(session: AsyncSession, touch: Touch, now: datetime) -> TouchContact | None:
    """The ``contact`` of a touch's events, loaded (see :func:`build_touch_contact`)."""
    if touch.contact_id is None:
        return None
    ids = [touch.contact_id, *(touch.candidate_ids if len(touch.candidate_ids) > 1 else ())]
    details = await contact_details(session, ids, now, excluding_touch=touch.touch_id)
    return build_touch_contact(touch, details)
