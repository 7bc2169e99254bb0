"""What the handlers load and save besides contacts (``contact_rows``): calls, touches,
appointment links, and integration settings. Every write happens in the caller's
transaction."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard_crm_touch.adapters.tables import (
    appointments,
    calls,
    integration_settings,
    touches,
)
from switchboard_crm_touch.domain.touches import CallFacts, Touch

# --- calls ---------------------------------------------------------------------------------

_FACT_FIELDS = tuple(f.name for f in fields(CallFacts))


@dataclass(frozen=True)
class CallRecord:
    """What is known of a call and what was decided about its touch."""

    facts: CallFacts
    touch_decision: str | None
    touch_id: str | None


async def load_call(session: AsyncSession, call_id: str) -> CallRecord:
    """The call's record, created empty if new, locked for the rest of the transaction (so
    two replicas never both decide the same call). One round trip: an upsert that touches
    nothing still locks the existing row, like ``SELECT … FOR UPDATE``."""
    stmt = pg_insert(calls).values(call_id=call_id)
    row = (
        await session.execute(
            stmt.on_conflict_do_update(
                index_elements=[calls.c.call_id], set_={"call_id": stmt.excluded.call_id}
            ).returning(*calls.c)
        )
    ).one()
    data = row._mapping
    return CallRecord(
        facts=CallFacts(**{name: data[name] for name in _FACT_FIELDS}),
        touch_decision=data["touch_decision"],
        touch_id=data["touch_id"],
    )


async def save_call(session: AsyncSession, record: CallRecord) -> None:
    """Store what is known of a call and the decision about its touch."""
    values = {name: getattr(record.facts, name) for name in _FACT_FIELDS if name != "call_id"}
    await session.execute(
        calls.update()
        .where(calls.c.call_id == record.facts.call_id)
        .values(
            **values,
            touch_decision=record.touch_decision,
            touch_id=record.touch_id,
            updated_at=sa.func.now(),
        )
    )


# --- touches -------------------------------------------------------------------------------

_TOUCH_FIELDS = tuple(f.name for f in fields(Touch))


def touch_from_row(row: Any) -> Touch:
    """A :class:`Touch` from a ``touches`` row."""
    data = dict(row._mapping)
    data["candidate_ids"] = tuple(data.get("candidate_ids") or ())
    return Touch(**{name: data[name] for name in _TOUCH_FIELDS})


def _touch_values(touch: Touch) -> dict[str, Any]:
    values = {name: getattr(touch, name) for name in _TOUCH_FIELDS}
    values["candidate_ids"] = list(touch.candidate_ids)
    return values


async def insert_touch(session: AsyncSession, touch: Touch) -> None:
    """Store a new touch."""
    await session.execute(sa.insert(touches).values(**_touch_values(touch)))


async def save_touch(session: AsyncSession, touch: Touch) -> None:
    """Store a touch's new state."""
    values = _touch_values(touch)
    values.pop("touch_id")
    await session.execute(
        touches.update()
        .where(touches.c.touch_id == touch.touch_id)
        .values(**values, updated_at=sa.func.now())
    )


async def load_touch(
    session: AsyncSession, touch_id: str, *, for_update: bool = False
) -> Touch | None:
    """The touch with this id, or ``None``."""
    query = sa.select(touches).where(touches.c.touch_id == touch_id)
    if for_update:
        query = query.with_for_update()
    row = (await session.execute(query)).first()
    return touch_from_row(row) if row is not None else None


async def touch_id_for_call(session: AsyncSession, call_id: str) -> str | None:
    """The id of the touch of a call, if it has one."""
    value = await session.scalar(sa.select(touches.c.touch_id).where(touches.c.call_id == call_id))
    return str(value) if value is not None else None


async def touches_involving(session: AsyncSession, contact_id: str) -> list[Touch]:
    """Touches with ``contact_id`` as their contact or a candidate, locked, in id order."""
    rows = await session.execute(
        sa.select(touches)
        .where(
            sa.or_(
                touches.c.contact_id == contact_id,
                touches.c.candidate_ids.contains([contact_id]),
            )
        )
        .order_by(touches.c.touch_id)
        .with_for_update()
    )
    return [touch_from_row(r) for r in rows]


async def touches_of(session: AsyncSession, contact_id: str) -> list[Touch]:
    """Touches whose contact is ``contact_id``, in id order."""
    rows = await session.execute(
        sa.select(touches).where(touches.c.contact_id == contact_id).order_by(touches.c.touch_id)
    )
    return [touch_from_row(r) for r in rows]


# --- appointments --------------------------------------------------------------------------


@dataclass(frozen=True)
class AppointmentLink:
    """An appointment as far as the call → booking link is concerned."""

    appointment_id: str
    client_id: str
    call_id: str | None
    touch_id: str | None


async def save_booked(session: AsyncSession, values: Mapping[str, Any]) -> bool:
    """Record a booked appointment; ``False`` if it was already recorded."""
    inserted = await session.scalar(
        pg_insert(appointments)
        .values(**values)
        .on_conflict_do_nothing(index_elements=[appointments.c.appointment_id])
        .returning(appointments.c.appointment_id)
    )
    return inserted is not None


async def update_appointment(session: AsyncSession, appointment_id: str, **values: Any) -> None:
    """Change a recorded appointment (rescheduled, cancelled, linked to a touch)."""
    await session.execute(
        appointments.update()
        .where(appointments.c.appointment_id == appointment_id)
        .values(**values, updated_at=sa.func.now())
    )


async def unlinked_appointments_for_call(
    session: AsyncSession, call_id: str
) -> list[AppointmentLink]:
    """Appointments booked during a call that had no touch yet when they arrived."""
    rows = await session.execute(
        sa.select(
            appointments.c.appointment_id,
            appointments.c.client_id,
            appointments.c.call_id,
            appointments.c.touch_id,
        )
        .where(appointments.c.call_id == call_id, appointments.c.touch_id.is_(None))
        .order_by(appointments.c.booked_at, appointments.c.appointment_id)
    )
    return [AppointmentLink(**r._mapping) for r in rows]


async def move_appointments(session: AsyncSession, from_id: str, to_id: str) -> None:
    """Appointments of a merged-away client now belong to the primary."""
    await session.execute(
        appointments.update().where(appointments.c.client_id == from_id).values(client_id=to_id)
    )


# --- clinics and settings ------------------------------------------------------------------


async def save_integration_setting(
    session: AsyncSession, integration: str, enabled: bool, changed_at: datetime
) -> None:
    """Remember an integration's switch, unless a later change is already known (settings
    events may arrive out of order)."""
    stmt = pg_insert(integration_settings).values(
        integration=integration, enabled=enabled, changed_at=changed_at
    )
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=[integration_settings.c.integration],
            set_={"enabled": enabled, "changed_at": changed_at},
            where=integration_settings.c.changed_at <= changed_at,
        )
    )


async def integration_setting(
    session: AsyncSession, integration: str
) -> tuple[bool, datetime] | None:
    """``(enabled, changed_at)`` of an integration, or ``None`` if no change was ever seen."""
    row = (
        await session.execute(
            sa.select(integration_settings.c.enabled, integration_settings.c.changed_at).where(
                integration_settings.c.integration == integration
            )
        )
    ).first()
    return (bool(row.enabled), row.changed_at) if row is not None else None
