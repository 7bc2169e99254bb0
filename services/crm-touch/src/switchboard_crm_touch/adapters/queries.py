"""Read models for the API: identification, the touch list, one touch, a contact and its
timeline, and the Calltouch switch, as typed rows."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard_crm_touch.adapters import contact_rows, repository
from switchboard_crm_touch.adapters.tables import appointments, contact_phones, contacts, touches
from switchboard_crm_touch.domain.identification import identify
from switchboard_crm_touch.domain.touches import Touch


@dataclass(frozen=True)
class ContactSummary:
    """A contact as lists show it."""

    id: str
    kind: str
    display_name: str


@dataclass(frozen=True)
class IdentifiedContact:
    """A contact holding a number, with what the pop-up shows about them."""

    id: str
    kind: str
    display_name: str
    key_details: dict[str, str]


@dataclass(frozen=True)
class IdentifyResult:
    """Who holds a number: ``contact`` is the best guess, ``candidates`` every holder."""

    phone: str
    known: bool
    ambiguous: bool
    contact: IdentifiedContact | None
    candidates: list[IdentifiedContact]


async def identify_phone(session: AsyncSession, phone: str, now: datetime) -> IdentifyResult:
    """Identify ``phone`` (E.164) against the directory projection (one round trip)."""
    held = {d.contact.contact_id: d for d in await contact_rows.holders(session, phone, now)}
    found = identify(phone, [d.contact for d in held.values()])
    ranked = [
        IdentifiedContact(
            id=c.contact_id,
            kind=c.kind,
            display_name=c.display_name,
            key_details=held[c.contact_id].key_details(),
        )
        for c in found.matches
    ]
    return IdentifyResult(
        phone=phone,
        known=found.known,
        ambiguous=found.ambiguous,
        contact=ranked[0] if ranked else None,
        candidates=ranked,
    )


@dataclass(frozen=True)
class TouchView:
    """One touch as the API shows it."""

    touch_id: str
    call_id: str | None
    channel: str
    direction: str | None
    phone: str | None
    contact: ContactSummary | None
    ambiguous: bool
    candidates: list[ContactSummary]
    status: str
    result: str | None
    notes: str
    operator_id: str | None
    extension: str | None
    clinic_id: str | None
    disposition: str | None
    wait_seconds: int | None
    talk_seconds: int | None
    total_seconds: int | None
    answered_at: datetime | None
    ended_at: datetime | None
    appointment_id: str | None
    created_at: datetime
    updated_at: datetime


async def _views(session: AsyncSession, rows: list[Any]) -> list[TouchView]:
    loaded = [(repository.touch_from_row(r), r.updated_at) for r in rows]
    ids = {c for t, _ in loaded for c in (*t.candidate_ids, t.contact_id) if c}
    refs = await contact_rows.contact_refs(session, ids)

    def summary(contact_id: str | None) -> ContactSummary | None:
        ref = refs.get(contact_id or "")
        return ContactSummary(ref.id, ref.kind, ref.display_name) if ref is not None else None

    def view(t: Touch, updated_at: datetime) -> TouchView:
        return TouchView(
            touch_id=t.touch_id,
            call_id=t.call_id,
            channel=t.channel,
            direction=t.direction,
            phone=t.phone,
            contact=summary(t.contact_id),
            ambiguous=t.ambiguous,
            candidates=[s for s in map(summary, t.candidate_ids) if s is not None],
            status=t.status,
            result=t.result,
            notes=t.notes,
            operator_id=t.operator_id,
            extension=t.extension,
            clinic_id=t.clinic_id,
            disposition=t.disposition,
            wait_seconds=t.wait_seconds,
            talk_seconds=t.talk_seconds,
            total_seconds=t.total_seconds,
            answered_at=t.answered_at,
            ended_at=t.ended_at,
            appointment_id=t.appointment_id,
            created_at=t.created_at,
            updated_at=updated_at,
        )

    return [view(t, u) for t, u in loaded]


async def get_touch(session: AsyncSession, touch_id: str) -> TouchView | None:
    """One touch, or ``None``."""
    rows = list(await session.execute(sa.select(touches).where(touches.c.touch_id == touch_id)))
    views = await _views(session, rows)
    return views[0] if views else None


@dataclass(frozen=True)
class TouchFilter:
    """What the touch list may be narrowed by (every given criterion must hold)."""

    contact_id: str | None = None
    operator_id: str | None = None
    call_id: str | None = None
    statuses: frozenset[str] = frozenset()
    results: frozenset[str] = frozenset()
    period_from: datetime | None = None
    period_to: datetime | None = None


def encode_cursor(created_at: datetime, touch_id: str) -> str:
    """An opaque cursor pointing after the touch (newest first order)."""
    raw = json.dumps([created_at.isoformat(), touch_id]).encode()
    return base64.urlsafe_b64encode(raw).decode()


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    """Read a cursor made by :func:`encode_cursor`; ``ValueError`` when it is not one."""
    try:
        created, touch_id = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        return datetime.fromisoformat(created), str(touch_id)
    except Exception as exc:
        raise ValueError("invalid cursor") from exc


async def touch_page(
    session: AsyncSession, flt: TouchFilter, *, limit: int, cursor: str | None
) -> tuple[list[TouchView], str | None]:
    """One page of touches, newest first, and the cursor of the next page."""
    c = touches.c
    query = sa.select(touches)
    if flt.contact_id is not None:
        query = query.where(c.contact_id == flt.contact_id)
    if flt.operator_id is not None:
        query = query.where(c.operator_id == flt.operator_id)
    if flt.call_id is not None:
        query = query.where(c.call_id == flt.call_id)
    if flt.statuses:
        query = query.where(c.status.in_(sorted(flt.statuses)))
    if flt.results:
        query = query.where(c.result.in_(sorted(flt.results)))
    if flt.period_from is not None:
        query = query.where(c.created_at >= flt.period_from)
    if flt.period_to is not None:
        query = query.where(c.created_at < flt.period_to)
    if cursor is not None:
        created, touch_id = decode_cursor(cursor)
        query = query.where(sa.tuple_(c.created_at, c.touch_id) < sa.tuple_(created, touch_id))
    query = query.order_by(c.created_at.desc(), c.touch_id.desc()).limit(limit + 1)
    rows = list(await session.execute(query))
    views = await _views(session, rows[:limit])
    last = views[-1] if len(rows) > limit else None
    return views, encode_cursor(last.created_at, last.touch_id) if last else None


@dataclass(frozen=True)
class ContactView:
    """A contact with its numbers; ``merged_into`` says where a merged one went."""

    id: str
    kind: str
    origin: str
    display_name: str
    status: str
    merged_into: str | None
    phones: list[str]
    key_details: dict[str, str]


async def get_contact(session: AsyncSession, contact_id: str, now: datetime) -> ContactView | None:
    """One contact (merged ones included), or ``None``."""
    row = await contact_rows.load_contact(session, contact_id)
    if row is None:
        return None
    phones = (
        await session.scalars(
            sa.select(contact_phones.c.phone)
            .where(contact_phones.c.contact_id == contact_id)
            .order_by(contact_phones.c.phone)
        )
    ).all()
    details = (await contact_rows.contact_details(session, [contact_id], now))[contact_id]
    return ContactView(
        id=row.contact_id,
        kind=row.kind,
        origin=row.origin,
        display_name=row.display_name,
        status=row.status,
        merged_into=row.merged_into,
        phones=list(phones),
        key_details=details.key_details(),
    )


@dataclass(frozen=True)
class TimelineEntry:
    """One thing that happened with a contact: a touch or an appointment."""

    type: str
    at: datetime
    touch: TouchView | None = None
    appointment: dict[str, Any] | None = field(default=None)


async def timeline(session: AsyncSession, contact_id: str, *, limit: int) -> list[TimelineEntry]:
    """A contact's touches (at their start) and appointments (at their booking), newest
    first, at most ``limit`` of each kind."""
    touch_rows = list(
        await session.execute(
            sa.select(touches)
            .where(touches.c.contact_id == contact_id)
            .order_by(touches.c.created_at.desc(), touches.c.touch_id.desc())
            .limit(limit)
        )
    )
    entries = [
        TimelineEntry("touch", v.created_at, touch=v) for v in await _views(session, touch_rows)
    ]
    a = appointments.c
    appointment_rows = await session.execute(
        sa.select(
            a.appointment_id,
            a.client_id,
            a.clinic_id,
            a.practitioner_id,
            a.service_id,
            a.starts_at,
            a.ends_at,
            a.status,
            a.call_center_id,
            a.operator_id,
            a.call_id,
            a.touch_id,
            a.booked_at,
            a.cancelled_at,
            a.cancel_reason,
        )
        .where(a.client_id == contact_id)
        .order_by(a.booked_at.desc(), a.appointment_id.desc())
        .limit(limit)
    )
    entries += [
        TimelineEntry("appointment", r.booked_at, appointment=dict(r._mapping))
        for r in appointment_rows
    ]
    entries.sort(key=lambda e: e.at, reverse=True)
    return entries


async def merged_into(session: AsyncSession, contact_id: str) -> str | None:
    """Where a merged or converted contact lives on now (``None`` if it is active)."""
    status = await session.scalar(
        sa.select(contacts.c.status).where(contacts.c.contact_id == contact_id)
    )
    if status is None or status == "active":
        return None
    return await contact_rows.resolve_contact(session, contact_id)
