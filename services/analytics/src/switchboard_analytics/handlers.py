"""Analytics' handlers: one function per consumed event, projecting it into the call log,
the roll-ups and the projections they read (touches, tags, operators, clinics).

Events of one call (one touch, one clinic) arrive in order, but across topics and
entities anything goes: a touch before its call, a clinic's time zone after its calls,
a call-back before the missed call it calls back. So each handler stores what it learnt
in its own table and brings every row that depends on it up to date, whichever came
first; the end state depends only on the set of events, never on their order.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from switchboard_analytics.adapters import store
from switchboard_analytics.domain.callback import (
    DEFAULT_WINDOW,
    CallFacts,
    find_callback,
    is_missed_incoming,
    reached_number,
)
from switchboard_contracts import (
    CallAnswered,
    CallEnded,
    CallStarted,
    CallTagged,
    ClinicChanged,
    Envelope,
    OperatorChanged,
    TouchCreated,
    TouchUpdated,
)
from switchboard_runtime.consumer import PermanentError


@dataclass(frozen=True)
class Projection:
    """How events are projected: the defaults and rules the handlers need."""

    default_time_zone: str = "Europe/Moscow"
    callback_window: timedelta = DEFAULT_WINDOW
    # Serialise transactions of concurrent consumers (replicas) with an advisory lock;
    # a rebuild writes into tables nobody else writes and needs none.
    serialise: bool = True
    # Store facts only: derived columns, call-backs and roll-ups are left for
    # :func:`finish_deferred` (a rebuild's replay: one set-based pass instead of per event).
    deferred: bool = False


async def project_event(session: AsyncSession, envelope: Envelope[Any], p: Projection) -> None:
    """Apply one consumed event (any topic) in the caller's transaction."""
    event = envelope.payload
    if p.serialise:
        await store.lock_projection(session)
    if isinstance(event, CallStarted):
        await on_call_started(session, event, p)
    elif isinstance(event, CallAnswered):
        await store.record_answer(session, event.call_id, event.answered_at, event.operator_id)
    elif isinstance(event, CallEnded):
        await on_call_ended(session, event, p)
    elif isinstance(event, CallTagged):
        await store.upsert_tags(
            session, event.call_id, event.source, event.tags, event.tagged_at,
            refresh_call=not p.deferred,
        )  # fmt: skip
    elif isinstance(event, TouchCreated | TouchUpdated):
        await on_touch(session, event, p)
    elif isinstance(event, OperatorChanged):
        await store.upsert_operator(
            session,
            {
                "operator_id": event.operator_id,
                "name": event.name,
                "role": event.role,
                "extension": event.extension,
                "active": event.active,
                "version_at": envelope.occurred_at,
            },
        )
    elif isinstance(event, ClinicChanged):
        await on_clinic_changed(session, event, envelope, p)
    # Anything else on these topics (ringing, transfers, appointments…) is not needed here.


async def on_call_started(session: AsyncSession, event: CallStarted, p: Projection) -> None:
    """A new call row (not in the log until it ends); nothing if the call has one."""
    await store.insert_call_if_new(
        session,
        {
            "call_id": event.call_id,
            "started_at": event.started_at,
            "call_type": event.direction,
            "src": event.caller,
            "dst": event.callee,
            "extension": event.extension,
            "clinic_id": event.clinic_id,
        },
        p.default_time_zone,
    )


async def on_call_ended(session: AsyncSession, event: CallEnded, p: Projection) -> None:
    """Settle a call row, count it in the roll-ups, and apply the called-back rule both ways:
    to this call if it is a missed one, and to the missed calls this call may call back."""
    existing = await store.get_call(session, event.call_id)
    row: dict[str, Any] = {k: existing[k] for k in store.CALL_COLUMNS} if existing else {}
    # CallEnded carries the call's whole story; what it does not know, earlier events may.
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
    row.update({k: v for k, v in known.items() if v is not None})
    row.setdefault("started_at", event.started_at or event.ended_at)
    row.setdefault("call_type", event.direction or "incoming")
    row.setdefault("src", event.caller or "")
    row.setdefault("dst", event.callee or "")
    row.update(
        call_id=event.call_id,
        ended_at=event.ended_at,
        disposition=event.disposition,
        wait_seconds=event.wait_seconds,
        talk_seconds=event.talk_seconds,
        total_seconds=event.total_seconds,
        recording_url=event.recording_url,
        end_reason=event.end_reason,
    )
    facts = store.facts_of(row)
    if p.deferred:
        row.update(called_back=False, callback_call_id=None, callback_delay_seconds=None)
        await store.write_call(session, row, p.default_time_zone)
        return
    callback = None
    if is_missed_incoming(facts):
        after, until = facts.started_at, facts.started_at + p.callback_window
        callback = find_callback(
            facts,
            await store.callback_candidates(session, facts.src, after, until),
            p.callback_window,
        )
    row.update(
        called_back=callback is not None,
        callback_call_id=callback.call_id if callback else None,
        callback_delay_seconds=callback.delay_seconds if callback else None,
    )

    if existing is not None and existing["ended_at"] is not None:
        await store.count_call(session, event.call_id, -1)
    await store.write_call(session, row, p.default_time_zone)
    await store.count_call(session, event.call_id, 1)

    # This call may call back earlier missed calls (and, if it was settled before with
    # other facts, may no longer call back the ones it did).
    reached = [facts]
    if existing is not None and existing["ended_at"] is not None:
        reached.append(store.facts_of(existing))
    for candidate in reached:
        if reached_number(candidate) is not None:
            await refresh_missed_before(session, candidate, p.callback_window)


async def refresh_missed_before(
    session: AsyncSession, candidate: CallFacts, window: timedelta
) -> None:
    """Re-apply the called-back rule to the missed calls ``candidate`` may call back."""
    number = reached_number(candidate)
    if number is None:
        return
    missed = await store.missed_calls_from(
        session, number, candidate.started_at - window, candidate.started_at
    )
    if not missed:
        return
    first = min(m["started_at"] for m in missed)
    last = max(m["started_at"] for m in missed)
    candidates = await store.callback_candidates(session, number, first, last + window)
    changes = []
    for row in missed:
        callback = find_callback(store.facts_of(row), candidates, window)
        wanted = {
            "called_back": callback is not None,
            "callback_call_id": callback.call_id if callback else None,
            "callback_delay_seconds": callback.delay_seconds if callback else None,
        }
        if any(row[k] != v for k, v in wanted.items()):
            changes.append({"call_id": row["call_id"], **wanted})
    await store.set_callbacks(session, changes)


async def on_touch(
    session: AsyncSession, event: TouchCreated | TouchUpdated, p: Projection
) -> None:
    """Store a touch's latest state and copy it onto the call it belongs to."""
    version_at = event.created_at if isinstance(event, TouchCreated) else event.updated_at
    previous_call_id = None if p.deferred else await store.touch_call_id(session, event.touch_id)
    contact = event.contact
    await store.upsert_touch(
        session,
        {
            "touch_id": event.touch_id,
            "call_id": event.call_id,
            "contact_id": contact.id if contact else None,
            "contact_kind": contact.kind if contact else None,
            "contact_name": contact.display_name if contact else None,
            "operator_id": event.operator_id,
            "version_at": version_at,
        },
    )
    if p.deferred:
        return
    for call_id in sorted({c for c in (previous_call_id, event.call_id) if c}):
        await store.refresh_touch_columns(session, call_id)


async def on_clinic_changed(
    session: AsyncSession, event: ClinicChanged, envelope: Envelope[Any], p: Projection
) -> None:
    """Store a clinic's name and time zone; re-time its calls if the zone they use changed.

    A zone PostgreSQL does not know (its time zone database older than the producer's)
    is refused: stored, it would make every later call of the clinic fail.
    """
    if not await store.zone_known(session, event.time_zone):
        raise PermanentError("unknown_time_zone", f"PostgreSQL does not know {event.time_zone}")
    before = await store.clinic_zone(session, event.clinic_id) or p.default_time_zone
    after = await store.upsert_clinic(
        session,
        {
            "clinic_id": event.clinic_id,
            "name": event.name,
            "time_zone": event.time_zone,
            "active": event.active,
            "version_at": envelope.occurred_at,
        },
    )
    if after is not None and after != before and not p.deferred:
        await store.rezone_clinic(session, event.clinic_id, after)


async def finish_deferred(sessions: async_sessionmaker[AsyncSession], p: Projection) -> None:
    """Bring tables filled in ``deferred`` mode to what event-by-event projection gives:
    every call row's derived columns, the called-back rule over every missed call, the
    roll-ups from the call log. Afterwards events can be applied in the normal mode."""
    async with sessions() as session, session.begin():
        await store.refresh_all_derived(session, p.default_time_zone)
    async with sessions() as reader, reader.begin(), sessions() as writer, writer.begin():
        changes: list[dict[str, Any]] = []
        group: list[Any] = []
        async for row in await store.stream_callback_facts(reader):
            if group and row["number"] != group[0]["number"]:
                changes += _callbacks_of(group, p.callback_window)
                group = []
            group.append(row)
            if len(changes) >= 5000:
                await store.write_callbacks(writer, changes)
                changes = []
        changes += _callbacks_of(group, p.callback_window)
        await store.write_callbacks(writer, changes)
    async with sessions() as session, session.begin():
        await store.rebuild_rollups(session)


def _callbacks_of(rows: list[Any], window: timedelta) -> list[dict[str, Any]]:
    """Called-back columns that change, for one number's calls (ordered by start)."""
    facts = [store.facts_of(row) for row in rows]
    candidates = [f for f in facts if reached_number(f) is not None]
    starts = [f.started_at for f in candidates]
    changes = []
    for row, missed in zip(rows, facts, strict=True):
        if not is_missed_incoming(missed):
            continue
        # Only the calls within the window can qualify: a number may have thousands.
        first = bisect.bisect_right(starts, missed.started_at)
        last = bisect.bisect_right(starts, missed.started_at + window)
        callback = find_callback(missed, candidates[first:last], window)
        wanted = {
            "called_back": callback is not None,
            "callback_call_id": callback.call_id if callback else None,
            "callback_delay_seconds": callback.delay_seconds if callback else None,
        }
        if any(row[k] != v for k, v in wanted.items()):
            changes.append({"call_id": missed.call_id, **wanted})
    return changes
