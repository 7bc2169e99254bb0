"""crm-touch's events staged in the outbox, in the caller's transaction (published after
commit): caller identification and touch events."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from switchboard_contracts import (
    CallDirection,
    CallerIdentified,
    TouchContact,
    TouchCreated,
    TouchUpdated,
)
from switchboard_crm_touch.domain.touches import Touch
from switchboard_runtime.messaging import publish


async def stage_caller_identified(
    session: AsyncSession,
    *,
    call_id: str,
    direction: CallDirection,
    phone: str | None,
    contact: TouchContact | None,
    touch_id: str | None,
    at: datetime,
) -> CallerIdentified:
    """Stage ``CallerIdentified`` for an external call (keyed and correlated by call)."""
    event = CallerIdentified(
        call_id=call_id,
        direction=direction,
        phone=phone,
        contact=contact,
        touch_id=touch_id,
        identified_at=at,
    )
    await publish(session, event, occurred_at=at)
    return event


async def stage_touch_created(
    session: AsyncSession,
    touch: Touch,
    contact: TouchContact | None,
) -> TouchCreated:
    """Stage ``TouchCreated`` for a new touch (keyed by ``touch_id``, correlated by call)."""
    event = TouchCreated(
        touch_id=touch.touch_id,
        call_id=touch.call_id,
        channel=touch.channel,
        direction=touch.direction,
        contact=contact,
        phone=touch.phone,
        operator_id=touch.operator_id,
        created_at=touch.created_at,
        clinic_id=touch.clinic_id,
        extension=touch.extension,
    )
    await publish(session, event, occurred_at=touch.created_at)
    return event


async def stage_touch_updated(
    session: AsyncSession,
    touch: Touch,
    contact: TouchContact | None,
    at: datetime,
) -> TouchUpdated:
    """Stage ``TouchUpdated`` with the touch's whole state after a change made at ``at``."""
    event = TouchUpdated(
        touch_id=touch.touch_id,
        call_id=touch.call_id,
        status=touch.status,
        result=touch.result,
        operator_id=touch.operator_id,
        disposition=touch.disposition,
        talk_seconds=touch.talk_seconds,
        wait_seconds=touch.wait_seconds,
        appointment_id=touch.appointment_id,
        contact=contact,
        updated_at=at,
    )
    await publish(session, event, occurred_at=at)
    return event
