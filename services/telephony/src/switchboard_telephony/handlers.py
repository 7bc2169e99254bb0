"""Telephony's handlers: one per consumed message kind, dependencies as arguments."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from switchboard_contracts import TELEPHONY_CALLS, Envelope, make_envelope
from switchboard_runtime.logging import bind_call_id, get_logger
from switchboard_runtime.outbox import add_events
from switchboard_runtime.settings import ServiceSettings
from switchboard_telephony.adapters import calls_repository
from switchboard_telephony.domain.calls import apply, canonical_event_key, next_deadline, tick
from switchboard_telephony.domain.model import Directory, PbxEvent, Timing

log = get_logger(__name__)

# Canonical event ids are derived from the call and the event kind, so that even a
# re-emission (say, after a restore) carries the id downstream consumers already saw.
_EVENT_NAMESPACE = uuid.UUID("5b0c6d1e-3f0a-4c55-9d7e-2a1f0e9c7b11")
_TIME_FIELDS = ("started_at", "ringing_at", "transferred_at", "answered_at", "ended_at")


def _occurred_at(event: Any) -> datetime:
    for name in _TIME_FIELDS:
        value = getattr(event, name, None)
        if value is not None:
            return value  # type: ignore[no-any-return]
    raise ValueError(f"{type(event).__name__} has no time")


def _envelopes(events: Iterable[Any]) -> list[tuple[str, str, Envelope[Any]]]:
    return [
        (
            TELEPHONY_CALLS,
            e.call_id,
            make_envelope(
                e,
                producer="telephony",
                occurred_at=_occurred_at(e),
                correlation_id=e.call_id,
                event_id=uuid.uuid5(_EVENT_NAMESPACE, canonical_event_key(e)),
            ),
        )
        for e in events
    ]


async def handle_pbx_event(
    session: AsyncSession,
    event: PbxEvent,
    *,
    directory: Directory,
    timing: Timing,
    now: datetime,
    settings: ServiceSettings,
) -> None:
    """Feed one raw PBX event to its call's state machine; stage what it emits."""
    with bind_call_id(event.call_id):
        state = await calls_repository.load_for_update(session, event.call_id)
        state, emitted = apply(state, event, directory, now, timing)
        await calls_repository.save(session, event.call_id, state, next_deadline(state, timing))
        await add_events(session, settings, _envelopes(emitted))
        if emitted:
            log.info("telephony.call_events", kinds=[type(e).__name__ for e in emitted])


async def sweep_due_calls(
    session: AsyncSession,
    *,
    directory: Directory,
    timing: Timing,
    now: datetime,
    settings: ServiceSettings,
) -> int:
    """Let the state machine act on calls whose deadline passed (held events, timeouts)."""
    due = await calls_repository.due(session, now)
    for call_id, state in due:
        with bind_call_id(call_id):
            state, emitted = tick(state, directory, now, timing)
            await calls_repository.save(session, call_id, state, next_deadline(state, timing))
            await add_events(session, settings, _envelopes(emitted))
    return len(due)
