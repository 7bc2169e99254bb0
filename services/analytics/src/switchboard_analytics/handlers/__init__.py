"""Analytics' handlers: one function per consumed event, projecting it into the call log,
the roll-ups and the projections they read (touches, tags, operators, clinics): call
events in :mod:`.calls`, touches, appointments and the directory in :mod:`.links`, the
batch that dispatches them and the subscriptions here.

Events of one call (one touch, one clinic) arrive in order, but across topics and
entities anything goes: a touch before its call, a clinic's time zone after its calls,
a call-back before the missed call it calls back. So each handler stores what it learnt
in its own table and brings every row that depends on it up to date, whichever came
first; the end state depends only on the set of events, never on their order.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from switchboard_analytics.adapters import store
from switchboard_analytics.adapters.audit import store_audit
from switchboard_analytics.handlers.calls import apply_calls, finish_deferred
from switchboard_analytics.handlers.links import (
    apply_appointments,
    apply_directory,
    apply_touches,
    appointment_state,
)
from switchboard_analytics.handlers.projection import CallEvent, Projection, TouchEvent
from switchboard_contracts import (
    AppointmentBooked,
    AppointmentCancelled,
    AuditRecorded,
    CallAnswered,
    CallEnded,
    CallStarted,
    CallTagged,
    ClinicChanged,
    DidChanged,
    Envelope,
    OperatorChanged,
    TouchCreated,
    TouchUpdated,
)
from switchboard_runtime.messaging import Subscription, after_commit

__all__ = [
    "AUDIT_SUBSCRIPTION",
    "SUBSCRIPTION",
    "SUBSCRIPTIONS",
    "Projection",
    "finish_deferred",
    "project_batch",
    "project_event",
]


async def project_event(session: AsyncSession, envelope: Envelope[Any], p: Projection) -> None:
    """Apply one consumed event (any topic) in the caller's transaction: a batch of one."""
    await project_batch(session, [envelope], p)


async def project_batch(
    session: AsyncSession, envelopes: Sequence[Envelope[Any]], p: Projection
) -> None:
    """Apply a batch of consumed events (any topics, arrival order) in the caller's
    transaction.

    The events of each kind are applied together, in a few multi-row statements: call
    events (the bulk of the traffic) by :func:`apply_calls`, touch events by
    :func:`apply_touches`, tags by ``store.upsert_tags``; directory events (rare) one by
    one, before them.
    """
    if not envelopes:
        return
    if p.serialise:
        await store.lock_projection(session)
    if p.committed is not None:
        after_commit(session, p.committed)
    # The end state depends on the set of events, not on their order across kinds (see
    # the module doc), so a batch is applied kind by kind, each kind in arrival order: a
    # Kafka batch interleaves its topics' partitions, and runs in arrival order would be
    # many and short. Directory events first (a clinic's zone before its calls saves
    # re-timing them), then touches and tags, then calls: a call row written after its
    # touch and tags takes them in the same write, instead of a second write that also
    # moves an ended call between roll-up rows.
    runs: dict[str, list[Any]] = {"touches": [], "tags": [], "calls": []}
    booked: list[dict[str, Any]] = []
    for envelope in envelopes:
        kind = _run_kind(envelope.payload)
        if kind == "directory":
            await apply_directory(session, envelope, p)
        elif kind == "appointments":
            booked.append(appointment_state(envelope))
        elif kind is not None:
            # Anything else on these topics (ringing, transfers…) is not needed here.
            runs[kind].append(envelope.payload)
    await apply_appointments(session, booked, p)
    for run in runs.values():
        if run:
            await _apply_run(session, run, p)


def _run_kind(event: Any) -> str | None:
    """Which run an event joins (``directory`` events are applied one by one), or
    ``None`` for an event the projection does not use."""
    if isinstance(event, CallEvent):
        return "calls"
    if isinstance(event, TouchEvent):
        return "touches"
    if isinstance(event, CallTagged):
        return "tags"
    if isinstance(event, OperatorChanged | ClinicChanged | DidChanged):
        return "directory"
    if isinstance(event, AppointmentBooked | AppointmentCancelled):
        return "appointments"
    return None


async def _apply_run(session: AsyncSession, run: list[Any], p: Projection) -> None:
    if isinstance(run[0], CallEvent):
        await apply_calls(session, run, p)
    elif isinstance(run[0], TouchEvent):
        await apply_touches(session, run, p)
    else:
        await store.upsert_tags(
            session,
            [
                {"call_id": e.call_id, "source": e.source, "tags": e.tags, "tagged_at": e.tagged_at}
                for e in run
            ],
            refresh_calls=not p.deferred,
        )


#: analytics' whole subscription (group ``analytics.calls``): one consumer group applies
#: whole batches, since calls of every partition share numbers, touches and roll-ups. Other events
#: on these topics (ringing, transfers, caller identification…) are not needed here.
SUBSCRIPTION: Subscription[Projection] = Subscription(
    group="analytics.calls",
    events=(
        CallStarted,
        CallAnswered,
        CallEnded,
        CallTagged,
        TouchCreated,
        TouchUpdated,
        OperatorChanged,
        ClinicChanged,
        DidChanged,
        AppointmentBooked,
        AppointmentCancelled,
    ),
    batch=project_batch,
)


async def on_audit_recorded(
    session: AsyncSession, envelope: Envelope[AuditRecorded], _deps: None
) -> None:
    """Keep an audited action of any service (once per event id, whatever the deliveries)."""
    await store_audit(session, [envelope])


#: The audit trail (group ``analytics.audit``): every service's audited actions, kept in
#: ``audit_records``. A group of its own, so that the trail never waits for the projection
#: (nor a rebuild for the trail).
AUDIT_SUBSCRIPTION: Subscription[None] = Subscription(
    group="analytics.audit",
    handlers={AuditRecorded: on_audit_recorded},
)
SUBSCRIPTIONS = (SUBSCRIPTION, AUDIT_SUBSCRIPTION)
