"""Analytics' handlers: call events into the call log projection."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard_analytics.adapters.tables import call_log
from switchboard_contracts import CallAnswered, CallEnded, CallStarted, Envelope


async def project_call_event(session: AsyncSession, envelope: Envelope[Any]) -> None:
    """Apply one canonical call event to the call log (events of a call come in order)."""
    event = envelope.payload
    if isinstance(event, CallStarted):
        await session.execute(
            pg_insert(call_log)
            .values(
                call_id=event.call_id,
                started_at=event.started_at,
                call_type=event.direction,
                src=event.caller,
                dst=event.callee,
                extension=event.extension,
                clinic_id=event.clinic_id,
            )
            .on_conflict_do_nothing()
        )
    elif isinstance(event, CallAnswered):
        await session.execute(
            call_log.update()
            .where(call_log.c.call_id == event.call_id)
            .values(answered_at=event.answered_at, operator_id=event.operator_id)
        )
    elif isinstance(event, CallEnded):
        final = {
            "ended_at": event.ended_at,
            "disposition": event.disposition,
            "wait_seconds": event.wait_seconds,
            "talk_seconds": event.talk_seconds,
            "total_seconds": event.total_seconds,
            "recording_url": event.recording_url,
            "end_reason": event.end_reason,
        }
        # CallEnded carries the call's whole story, so a log row is complete even if
        # this projection never saw the earlier events (say, after a retention cut).
        known = {
            "started_at": event.started_at,
            "call_type": event.direction,
            "src": event.caller,
            "dst": event.callee,
            "extension": event.extension,
            "clinic_id": event.clinic_id,
            "answered_at": event.answered_at,
            "operator_id": event.operator_id,
        }
        final.update({k: v for k, v in known.items() if v is not None})
        stmt = pg_insert(call_log).values(
            call_id=event.call_id,
            **{
                "started_at": event.started_at or event.ended_at,
                "call_type": event.direction or "incoming",
                "src": event.caller or "",
                "dst": event.callee or "",
                **final,
            },
        )
        await session.execute(
            stmt.on_conflict_do_update(index_elements=[call_log.c.call_id], set_=final)
        )
