"""The call state machine: raw PBX events in, canonical call events out, once each.

The PBX lies: events come twice, late, out of order, or not at all. For one call the output
is always exactly one ``CallStarted``, then at most one ``CallAnswered``, then exactly one
``CallEnded``, with ``CallRinging``/``CallTransferred`` only between the first and the last.

* :func:`apply` feeds one raw event to its call's state and returns what became ready.
* :func:`tick` is called by a sweeper at :func:`next_deadline`: it emits what was held for a
  missing event once ``reorder_grace`` ran out, and closes calls whose end never came.

Events that cannot be emitted yet are held: everything until the call's start is known (or
synthesised from the other events after ``reorder_grace``), and an end that says the call
was answered until its answer arrives (or ``reorder_grace`` after the end). Whatever the
arrival order and duplication, if every event of a call arrives within ``reorder_grace``,
``CallStarted``, ``CallAnswered`` and ``CallEnded`` are exactly what in-order delivery gives.

This module decides what is kept and when each event goes out; :mod:`.call_builders` builds
the events from what was kept, and :mod:`.call_events` holds what is said about canonical
events themselves (keys, dispositions, durations), re-exported here with the state machine.

Modelled on Wazo's ``cel_interpretor`` (raw PBX events in, call logs out): plain functions
over plain data, no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from switchboard_contracts import CallAnswered, CallEnded, CallRinging, CallTransferred
from switchboard_telephony.domain.call_builders import (
    answered_from_fact,
    ended_from_fact,
    known_facts,
    read_extension,
    ringing_extension,
    started_from_fact,
    synthesised_start,
    timed_out,
    transfer_chain,
)
from switchboard_telephony.domain.call_events import (
    ANSWERED_STATUSES,
    BUSY_STATUSES,
    FAILED_STATUSES,
    TIMEOUT_REASON,
    CallEvent,
    call_durations,
    canonical_event_key,
    disposition_for,
    normalise_status,
    ringing_key,
    transfer_fact_key,
)
from switchboard_telephony.domain.call_state import CallState
from switchboard_telephony.domain.config import Directory, Timing
from switchboard_telephony.domain.pbx_events import Fact, PbxEvent

__all__ = [
    "ANSWERED_STATUSES",
    "BUSY_STATUSES",
    "FAILED_STATUSES",
    "TIMEOUT_REASON",
    "CallEvent",
    "apply",
    "apply_many",
    "call_durations",
    "canonical_event_key",
    "disposition_for",
    "next_deadline",
    "normalise_status",
    "tick",
]

# Emission order of events at the same instant (start and end are placed apart).
_RANK: dict[type, int] = {CallRinging: 1, CallTransferred: 2, CallAnswered: 3}


def _utc_now(now: datetime) -> datetime:
    if now.tzinfo is None or now.tzinfo.utcoffset(now) is None:
        raise ValueError("now must be timezone-aware")
    return now.astimezone(UTC)


# --- applying events ------------------------------------------------------------------------


def apply(
    state: CallState | None,
    event: PbxEvent,
    directory: Directory,
    now: datetime,
    timing: Timing,
) -> tuple[CallState, list[CallEvent]]:
    """Feed one raw PBX event to its call; return the new state and the events to publish.

    ``state`` is the call's stored state (None for a call not seen before) and is not
    changed. ``now`` is the processing time. A duplicate (``source_key`` already seen) or an
    event for a call already ended changes nothing but the state's counters. Anything that
    was due by ``now`` (as in :func:`tick`) is emitted too.
    """
    now = _utc_now(now)
    state = _own_copy(state, event, now)
    return state, _apply_in_place(state, event, directory, now, timing)


def apply_many(
    states: Mapping[str, CallState],
    events: Sequence[PbxEvent],
    directory: Directory,
    received_at: Sequence[datetime],
    timing: Timing,
) -> tuple[dict[str, CallState], list[CallEvent]]:
    """:func:`apply` over a batch of events of any calls, in arrival order.

    ``states`` (the stored states by call id) is not changed; ``received_at`` is each
    event's processing time. Returns the new state of every call an event touched and
    everything emitted, in order: the same as :func:`apply` one event at a time, with
    each call's state copied once per batch instead of once per event.
    """
    touched: dict[str, CallState] = {}
    emitted: list[CallEvent] = []
    for event, received in zip(events, received_at, strict=True):
        now = _utc_now(received)
        state = touched.get(event.call_id)
        if state is None:
            state = touched[event.call_id] = _own_copy(states.get(event.call_id), event, now)
        emitted += _apply_in_place(state, event, directory, now, timing)
    return touched, emitted


def _own_copy(state: CallState | None, event: PbxEvent, now: datetime) -> CallState:
    """A state of the event's call that the caller may change: a copy, or a new one."""
    if state is None:
        return CallState(call_id=event.call_id, first_seen_at=now)
    if state.call_id != event.call_id:
        raise ValueError(f"event of call {event.call_id!r} applied to call {state.call_id!r}")
    return state.copy()


def _apply_in_place(
    state: CallState, event: PbxEvent, directory: Directory, now: datetime, timing: Timing
) -> list[CallEvent]:
    if event.source_key in state.seen_keys:
        state.duplicate_events += 1
        return []
    state.seen_keys.add(event.source_key)
    if state.settled:
        state.late_events += 1
        return []
    if not _record(state, Fact(event=event, received_at=now), directory):
        state.ignored_events += 1
    return _advance(state, directory, now, timing)


def tick(
    state: CallState, directory: Directory, now: datetime, timing: Timing
) -> tuple[CallState, list[CallEvent]]:
    """Emit what became due by ``now`` for a call that received no event.

    Synthesises ``CallStarted`` when no start came within ``reorder_grace`` of the first
    event, releases an end held for a missing answer after ``reorder_grace``, and closes a
    call with no end ``no_end_timeout`` after its start as failed (end reason "timeout").
    ``state`` is not changed; call it at :func:`next_deadline`, or any time (it is a no-op
    when nothing is due).
    """
    state = state.copy()
    return state, _advance(state, directory, _utc_now(now), timing)


def next_deadline(state: CallState, timing: Timing) -> datetime | None:
    """When :func:`tick` should next look at this call; None once the call is settled."""
    if state.settled:
        return None
    if state.started_event is None:
        if not known_facts(state):
            return None  # nothing usable yet: nothing to do until an event brings some
        return state.first_seen_at + timing.reorder_grace
    deadlines = [_timeout_at(state, timing)]
    if (
        state.ended is not None
        and state.answered_event is None
        and _end_expects_answer(state.ended)
    ):
        deadlines.append(state.ended.received_at + timing.reorder_grace)
    return min(deadlines)


def _earlier(kept: Fact | None, new: Fact) -> bool:
    """Whether ``new`` should replace ``kept``: earliest time wins, then the smaller key,
    so the same set of facts keeps the same one in any arrival order."""
    if kept is None:
        return True
    return (new.event.at, new.event.source_key) < (kept.event.at, kept.event.source_key)


def _record(state: CallState, fact: Fact, directory: Directory) -> bool:
    """Keep ``fact`` in ``state``; False when it tells nothing that can still matter."""
    event = fact.event
    if event.kind == "started":
        if state.started_event is not None or not _earlier(state.started, fact):
            return False
        state.started = fact
    elif event.kind == "answered":
        moved = _record_answer_elsewhere(state, fact, directory)
        if moved is not None:
            return moved
        if state.answered_event is not None or not _earlier(state.answered, fact):
            return False
        state.answered = fact
    elif event.kind == "ended":
        if not _earlier(state.ended, fact):
            return False
        state.ended = fact
    elif event.kind == "ringing":
        extension = ringing_extension(event, directory)
        if extension is None or not _earlier(state.ringing.get(extension), fact):
            return False
        if ringing_key(state.call_id, extension) in state.emitted_keys:
            return False
        state.ringing[extension] = fact
    else:  # transferred
        target = read_extension(event.to_extension, directory)
        if target is None:
            return False
        key = transfer_fact_key(target, event.at)
        if key in state.transfers:
            return False
        state.transfers[key] = fact
    return True


def _record_answer_elsewhere(state: CallState, fact: Fact, directory: Directory) -> bool | None:
    """Keep an answer by another extension than the kept answer's as the call moving there.

    PBXes that report each leg (cloud PBXs, a ``<Dial>`` per target) tell a transfer as a
    second answer. The earliest answer stays the answer; a later one by another extension
    is kept as a move (emitted as ``CallTransferred`` unless the call is already there).
    None when ``fact`` is not such an answer (the ordinary rules apply).
    """
    kept = state.answered
    target = read_extension(fact.event.extension, directory)
    if kept is None or target is None:
        return None
    kept_target = read_extension(kept.event.extension, directory)
    if kept_target is None or kept_target == target:
        return None
    if (fact.event.at, fact.event.source_key) > (kept.event.at, kept.event.source_key):
        return _record_move(state, fact, target)
    if state.answered_event is not None:
        return False  # earlier than the answer already published: too late to change it
    state.answered = fact
    _record_move(state, kept, kept_target)
    return True


def _record_move(state: CallState, fact: Fact, target: str) -> bool:
    key = transfer_fact_key(target, fact.event.at)
    if key in state.transfers:
        return False
    state.transfers[key] = fact
    return True


# --- emitting -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, order=True)
class _Pending:
    """An event waiting to go out, ordered by when it happened."""

    at: datetime
    rank: int
    key: str
    event: CallEvent = field(compare=False)

    @classmethod
    def of(cls, at: datetime, event: CallRinging | CallTransferred | CallAnswered) -> _Pending:
        return cls(at, _RANK[type(event)], canonical_event_key(event), event)


def _advance(
    state: CallState, directory: Directory, now: datetime, timing: Timing
) -> list[CallEvent]:
    """Emit, in order, everything ``state`` makes ready by ``now``; update ``state``."""
    out: list[CallEvent] = []
    if state.settled:
        return out

    if state.started_event is None:
        if state.started is not None:
            started = started_from_fact(state.call_id, state.started.event, directory)
        elif now >= state.first_seen_at + timing.reorder_grace and known_facts(state):
            started = synthesised_start(state, directory)
            state.start_synthesised = True
        else:
            return out  # hold everything until the start (or the grace period's end)
        state.started_event = started
        _emit(state, out, started)
    started = state.started_event

    # Ringing, transfers and the answer go out in the order they happened, whatever the
    # order they arrived in; what was already emitted is not emitted again.
    emitted = set(state.emitted_keys)
    pending: list[_Pending] = []
    for extension, fact in state.ringing.items():
        if ringing_key(state.call_id, extension) in emitted:
            continue  # built only to be dropped below: most of a call's events come here
        ringing = CallRinging(
            call_id=state.call_id,
            extension=extension,
            ringing_at=fact.event.at,
            clinic_id=started.clinic_id or directory.extension_to_clinic.get(extension),
        )
        pending.append(_Pending.of(fact.event.at, ringing))
    for transferred in transfer_chain(state, directory):
        pending.append(_Pending.of(transferred.transferred_at, transferred))
    if state.answered is not None and state.answered_event is None:
        answered = answered_from_fact(state.call_id, started, state.answered.event, directory)
        pending.append(_Pending.of(answered.answered_at, answered))
    for item in sorted(p for p in pending if p.key not in emitted):
        if isinstance(item.event, CallAnswered):
            state.answered_event = item.event
        _emit(state, out, item.event, item.key)

    ended: CallEnded | None = None
    if state.ended is not None and _end_ready(state, state.ended, now, timing):
        ended = ended_from_fact(state, state.ended.event)
    elif now >= _timeout_at(state, timing):
        ended = timed_out(state, now)
    if ended is not None:
        state.ended_event = ended
        _emit(state, out, ended)
    return out


def _emit(state: CallState, out: list[CallEvent], event: CallEvent, key: str | None = None) -> None:
    state.emitted_keys.append(canonical_event_key(event) if key is None else key)
    out.append(event)


def _end_expects_answer(ended: Fact) -> bool:
    # An end that says "answered" means an answer event exists somewhere; an end with no
    # status might be either, so it waits too rather than call an answered call missed.
    status = normalise_status(ended.event.end_status)
    return status is None or status in ANSWERED_STATUSES


def _end_ready(state: CallState, ended: Fact, now: datetime, timing: Timing) -> bool:
    return (
        state.answered_event is not None
        or not _end_expects_answer(ended)
        or now >= ended.received_at + timing.reorder_grace
    )


def _timeout_at(state: CallState, timing: Timing) -> datetime:
    assert state.started_event is not None
    # Counted from when the call was first seen too: after a consumer backlog the start of
    # an old call is processed long after it happened, and its end is right behind it.
    return max(state.started_event.started_at, state.first_seen_at) + timing.no_end_timeout
