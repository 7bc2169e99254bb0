"""Handlers of raw PBX events: each batch through the call state machine, in the consumer's
transaction; the sweeper's round over calls whose deadline passed.

What the state machine emits is staged in the outbox in that same transaction, with each
ended call's Callmarker delivery when Callmarker is enabled.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from switchboard_contracts import CallEnded, Envelope, make_envelope
from switchboard_runtime.logging import bind_call_id, get_logger
from switchboard_runtime.messaging import publish
from switchboard_telephony.adapters import callmarker, calls_repository, directory_repository
from switchboard_telephony.domain.calls import (
    apply_many,
    canonical_event_key,
    next_deadline,
    tick,
)
from switchboard_telephony.domain.config import Directory, Timing
from switchboard_telephony.domain.pbx_events import PbxEvent

__all__ = ["call_envelopes", "handle_pbx_event", "handle_pbx_events", "sweep_due_calls"]

# Every handler module logs under the package's name (log filters select on it).
log = get_logger(__package__)

# Canonical event ids are derived from the call and the event kind, so that even a
# re-emission (say, after a restore) carries the id downstream consumers already saw.
_EVENT_NAMESPACE = uuid.UUID("5b0c6d1e-3f0a-4c55-9d7e-2a1f0e9c7b11")
_NAMESPACE_BYTES = _EVENT_NAMESPACE.bytes


def _event_id(key: str) -> uuid.UUID:
    """The envelope event id of the canonical event named ``key``:
    ``uuid.uuid5(<telephony's namespace>, key)``, with the namespace's bytes read once
    (``uuid5`` reads them, and imports its hash, on every call: a third of its cost)."""
    digest = hashlib.sha1(_NAMESPACE_BYTES + key.encode(), usedforsecurity=False).digest()
    return uuid.UUID(bytes=digest[:16], version=5)


_TIME_FIELDS = ("started_at", "ringing_at", "transferred_at", "answered_at", "ended_at")


#: Event class → the field holding when it happened (getattr of a field a pydantic model
#: lacks is slow, so each class is looked at once).
_TIME_FIELD: dict[type[Any], str] = {}


def _occurred_at(event: Any) -> datetime:
    cls = type(event)
    name = _TIME_FIELD.get(cls)
    if name is None:
        name = next((n for n in _TIME_FIELDS if n in cls.model_fields), None)
        if name is None:
            raise ValueError(f"{cls.__name__} has no time")
        _TIME_FIELD[cls] = name
    return getattr(event, name)  # type: ignore[no-any-return]


def call_envelopes(
    events: Iterable[Any], recorded_at: datetime | None = None
) -> list[Envelope[Any]]:
    """Canonical call events in their envelopes, each with the id derived from its key,
    recorded at ``recorded_at`` (now when not given)."""
    recorded_at = recorded_at or datetime.now(UTC)
    return [
        make_envelope(
            e,
            producer="telephony",
            occurred_at=_occurred_at(e),
            correlation_id=e.call_id,
            event_id=_event_id(canonical_event_key(e)),
            recorded_at=recorded_at,
        )
        for e in events
    ]


async def _publish_call_events(
    session: AsyncSession, emitted: Sequence[Any], now: datetime
) -> None:
    """Stage the canonical events and, for each ended call, its Callmarker delivery."""
    await publish(session, *call_envelopes(emitted, now))
    ended = [e for e in emitted if isinstance(e, CallEnded)]
    if ended and await directory_repository.integration_enabled(session, "callmarker"):
        for event in ended:
            await callmarker.stage(session, event.call_id, event.model_dump(mode="json"), now)


async def handle_pbx_event(
    session: AsyncSession,
    event: PbxEvent,
    *,
    directory: Directory,
    timing: Timing,
    now: datetime,
) -> None:
    """Feed one raw PBX event to its call's state machine; stage what it emits."""
    await handle_pbx_events(session, [event], directory=directory, timing=timing, now=now)


async def handle_pbx_events(
    session: AsyncSession,
    events: Sequence[PbxEvent],
    *,
    directory: Directory,
    timing: Timing,
    now: datetime,
    received_at: Sequence[datetime] | None = None,
) -> None:
    """Feed a batch of raw PBX events, in arrival order, to their calls' state machines.

    The batch's calls are locked and loaded in one statement and saved in one, and what
    the state machines emit is staged together: the same result as one event at a time,
    in a handful of round trips instead of several per event. ``received_at`` (one per
    event) is when each event counts as received, ``now`` when not given.
    """
    stored = await calls_repository.load_many_for_update(session, [e.call_id for e in events])
    # The state machine writes no log line: no call id to bind per event.
    states, emitted = apply_many(
        stored,
        events,
        directory,
        [now] * len(events) if received_at is None else received_at,
        timing,
    )
    await calls_repository.save_many(
        session, [(cid, state, next_deadline(state, timing)) for cid, state in states.items()]
    )
    await _publish_call_events(session, emitted, now)
    if emitted:
        log.info("telephony.call_events", calls=len(states), events=len(emitted))


async def sweep_due_calls(
    session: AsyncSession,
    *,
    directory: Directory,
    timing: Timing,
    now: datetime,
) -> int:
    """Let the state machine act on calls whose deadline passed (held events, timeouts)."""
    due = await calls_repository.due(session, now)
    for call_id, state in due:
        with bind_call_id(call_id):
            state, emitted = tick(state, directory, now, timing)
            await calls_repository.save(session, call_id, state, next_deadline(state, timing))
            await _publish_call_events(session, emitted, now)
    return len(due)
