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

Modelled on Wazo's ``cel_interpretor`` (raw PBX events in, call logs out): plain functions
over plain data, no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TypeAlias

from switchboard_contracts import (
    CallAnswered,
    CallDisposition,
    CallEnded,
    CallRinging,
    CallStarted,
    CallTransferred,
)
from switchboard_phones import InvalidPhoneNumber
from switchboard_telephony.domain.model import CallState, Directory, Fact, PbxEvent, Timing

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

CallEvent: TypeAlias = CallStarted | CallRinging | CallTransferred | CallAnswered | CallEnded
"""A canonical call event, as the state machine emits it (bare payload, no envelope)."""

ANSWERED_STATUSES = frozenset({"answered", "answer"})
BUSY_STATUSES = frozenset({"busy"})
FAILED_STATUSES = frozenset({"failed", "congestion", "unavailable", "chanunavail"})
TIMEOUT_REASON = "timeout"
"""``CallEnded.end_reason`` of a call closed because its end never came."""

# Emission order of events at the same instant (start and end are placed apart).
_RANK: dict[type, int] = {CallRinging: 1, CallTransferred: 2, CallAnswered: 3}


def normalise_status(status: str | None) -> str | None:
    """The PBX's end status in one spelling: lower case, words joined by ``_``; None if blank.

    "NO ANSWER", "no-answer" and "No_Answer" all give "no_answer".
    """
    if status is None:
        return None
    word = "_".join(status.strip().lower().replace("-", " ").split())
    return word or None


def disposition_for(answered: bool, end_status: str | None) -> CallDisposition:
    """How a call ended, for ``CallEnded.disposition``.

    An answered call is "answered" (whatever the end status says). Otherwise the PBX's
    status decides: busy is "busy"; failed, congestion, unavailable and chanunavail are
    "failed"; anything else (no answer, cancel, unknown) is "missed".
    """
    status = normalise_status(end_status)
    if answered or status in ANSWERED_STATUSES:
        return "answered"
    if status in BUSY_STATUSES:
        return "busy"
    if status in FAILED_STATUSES:
        return "failed"
    return "missed"


def _whole_seconds(delta: timedelta) -> int:
    # Clocks of different PBX legs disagree; a negative span is skew, not time.
    return max(0, round(delta.total_seconds()))


def call_durations(
    started_at: datetime, answered_at: datetime | None, ended_at: datetime
) -> tuple[int, int, int]:
    """``(wait_seconds, talk_seconds, total_seconds)`` of a call, in whole seconds.

    Wait runs from the start to the answer (to the end if there was no answer), talk from
    the answer to the end. Each is rounded and clamped at 0; total is their sum.
    """
    if answered_at is None:
        return _whole_seconds(ended_at - started_at), 0, _whole_seconds(ended_at - started_at)
    wait = _whole_seconds(answered_at - started_at)
    talk = _whole_seconds(ended_at - answered_at)
    return wait, talk, wait + talk


def canonical_event_key(event: CallEvent) -> str:
    """A key naming one canonical event of one call, stable across re-emissions.

    ``"<call_id>:<event_type>"`` for the once-per-call events, with the extension for
    ``CallRinging`` and target and time for ``CallTransferred``. Callers derive envelope
    event ids from it, so that a re-emitted event is recognised downstream.
    """
    if isinstance(event, CallRinging):
        return _ringing_key(event.call_id, event.extension)
    if isinstance(event, CallTransferred):
        return _transfer_key(event.call_id, event.to_extension, event.transferred_at)
    if isinstance(event, CallStarted | CallAnswered | CallEnded):
        return f"{event.call_id}:{event.event_type}"
    raise TypeError(f"not a canonical call event: {type(event).__name__}")


def _ringing_key(call_id: str, extension: str) -> str:
    return f"{call_id}:CallRinging:{extension}"


def _transfer_key(call_id: str, to_extension: str, at: datetime) -> str:
    return f"{call_id}:CallTransferred:{_transfer_fact_key(to_extension, at)}"


def _transfer_fact_key(to_extension: str, at: datetime) -> str:
    return f"{to_extension}@{at.astimezone(UTC).isoformat()}"


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
        if not _known_facts(state):
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
        extension = _ringing_extension(event, directory)
        if extension is None or not _earlier(state.ringing.get(extension), fact):
            return False
        if _ringing_key(state.call_id, extension) in state.emitted_keys:
            return False
        state.ringing[extension] = fact
    else:  # transferred
        target = _extension(event.to_extension, directory)
        if target is None:
            return False
        key = _transfer_fact_key(target, event.at)
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
    target = _extension(fact.event.extension, directory)
    if kept is None or target is None:
        return None
    kept_target = _extension(kept.event.extension, directory)
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
    key = _transfer_fact_key(target, fact.event.at)
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
            started = _started_from_fact(state.call_id, state.started.event, directory)
        elif now >= state.first_seen_at + timing.reorder_grace and _known_facts(state):
            started = _synthesised_start(state, directory)
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
        if _ringing_key(state.call_id, extension) in emitted:
            continue  # built only to be dropped below: most of a call's events come here
        ringing = CallRinging(
            call_id=state.call_id,
            extension=extension,
            ringing_at=fact.event.at,
            clinic_id=started.clinic_id or directory.extension_to_clinic.get(extension),
        )
        pending.append(_Pending.of(fact.event.at, ringing))
    for transferred in _transfer_chain(state, directory):
        pending.append(_Pending.of(transferred.transferred_at, transferred))
    if state.answered is not None and state.answered_event is None:
        answered = _answered_from_fact(state.call_id, started, state.answered.event, directory)
        pending.append(_Pending.of(answered.answered_at, answered))
    for item in sorted(p for p in pending if p.key not in emitted):
        if isinstance(item.event, CallAnswered):
            state.answered_event = item.event
        _emit(state, out, item.event)

    ended: CallEnded | None = None
    if state.ended is not None and _end_ready(state, state.ended, now, timing):
        ended = _ended_from_fact(state, state.ended.event)
    elif now >= _timeout_at(state, timing):
        ended = _timed_out(state, now)
    if ended is not None:
        state.ended_event = ended
        _emit(state, out, ended)
    return out


def _emit(state: CallState, out: list[CallEvent], event: CallEvent) -> None:
    state.emitted_keys.append(canonical_event_key(event))
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


# --- building canonical events --------------------------------------------------------------


def _party(raw: str | None, directory: Directory) -> str:
    """A caller/callee in canonical form; "" when absent or unreadable (e.g. "anonymous")."""
    if raw is None:
        return ""
    try:
        return directory.canonical(raw)
    except InvalidPhoneNumber:
        return ""


def _extension(raw: str | None, directory: Directory) -> str | None:
    """An extension field in canonical form; kept as written when it is not a number."""
    if raw is None or not raw.strip():
        return None
    try:
        return directory.canonical(raw)
    except InvalidPhoneNumber:
        return raw.strip()


def _ringing_extension(event: PbxEvent, directory: Directory) -> str | None:
    extension = _extension(event.extension, directory)
    if extension is None and event.callee and directory.is_extension(event.callee):
        extension = _party(event.callee, directory) or None
    return extension


def _build_started(
    call_id: str,
    started_at: datetime,
    caller_raw: str | None,
    callee_raw: str | None,
    did_raw: str | None,
    extension_raw: str | None,
    directory: Directory,
) -> CallStarted:
    caller = _party(caller_raw, directory)
    callee = _party(callee_raw, directory)
    direction = directory.call_direction(caller, callee)
    did = _party(did_raw, directory) or None
    if did is None and direction == "incoming" and callee and not directory.is_extension(callee):
        did = callee
    extension = _extension(extension_raw, directory)
    if direction == "internal":
        extension = caller
    elif extension is None:
        own = callee if direction == "incoming" else caller
        extension = own if own and directory.is_extension(own) else None
    clinic_id = directory.did_to_clinic.get(did) if did else None
    if clinic_id is None and extension is not None:
        clinic_id = directory.extension_to_clinic.get(extension)
    if clinic_id is None and callee and directory.is_extension(callee):
        clinic_id = directory.extension_to_clinic.get(callee)
    return CallStarted(
        call_id=call_id,
        direction=direction,
        caller=caller,
        callee=callee,
        extension=extension,
        clinic_id=clinic_id,
        started_at=started_at,
        did=did,
    )


def _started_from_fact(call_id: str, event: PbxEvent, directory: Directory) -> CallStarted:
    # Only the start's own fields: what else is known depends on arrival order, and the
    # start must read the same however the call's events arrived.
    return _build_started(
        call_id, event.at, event.caller, event.callee, event.did, event.extension, directory
    )


def _kind_rank(event: PbxEvent) -> int:
    return ("started", "ringing", "transferred", "answered", "ended").index(event.kind)


def _known_facts(state: CallState) -> list[PbxEvent]:
    """Every kept event of the call, earliest first (ties in a fixed order)."""
    facts = [f.event for f in (state.started, state.answered, state.ended) if f is not None]
    facts += [f.event for f in state.ringing.values()]
    facts += [f.event for f in state.transfers.values()]
    return sorted(facts, key=lambda e: (e.at, _kind_rank(e), e.source_key))


def _synthesised_start(state: CallState, directory: Directory) -> CallStarted:
    """A start made up from the other events: the earliest time, numbers from whichever
    event (earliest first) carried them."""
    facts = _known_facts(state)

    def first(name: str) -> str | None:
        for event in facts:
            value = getattr(event, name)
            if value:
                return str(value)
        return None

    return _build_started(
        state.call_id,
        facts[0].at,
        first("caller"),
        first("callee"),
        first("did"),
        first("extension"),
        directory,
    )


def _answered_from_fact(
    call_id: str, started: CallStarted, event: PbxEvent, directory: Directory
) -> CallAnswered:
    extension = _extension(event.extension, directory)
    if extension is None:
        # An internal call is picked up by the callee; otherwise by the call's extension.
        extension = started.callee if started.direction == "internal" else started.extension
    return CallAnswered(
        call_id=call_id,
        answered_at=event.at,
        extension=extension or None,
        operator_id=event.operator_id or None,
    )


def _transfer_chain(state: CallState, directory: Directory) -> list[CallTransferred]:
    """The call's transfers in time order, each from whoever had the call at the time.

    An explicit transfer's source is its ``extension``, else the holder: the previous
    transfer's target, else the answering extension once answered, else the call's own
    extension. A move (a later answer elsewhere, see :func:`_record_answer_elsewhere`) to
    the extension that already holds the call says nothing new and is left out.
    """
    started = state.started_event
    assert started is not None
    # Read from the kept answer, not the emitted one, which may be going out in this batch.
    answer = state.answered.event if state.answered is not None else None
    holder: str | None = None
    out: list[CallTransferred] = []
    for fact in sorted(state.transfers.values(), key=lambda f: (f.event.at, f.event.source_key)):
        event = fact.event
        if holder is None:
            if answer is not None and answer.at <= event.at:
                holder = _answered_from_fact(state.call_id, started, answer, directory).extension
            else:
                holder = started.extension
        if event.kind == "answered":
            target = _extension(event.extension, directory)
            source = holder
        else:
            target = _extension(event.to_extension, directory)
            source = _extension(event.extension, directory) or holder
        assert target is not None  # _record keeps only transfers with a target
        if event.kind == "answered" and target == holder:
            continue
        out.append(
            CallTransferred(
                call_id=state.call_id,
                from_extension=source or "",
                to_extension=target,
                transferred_at=event.at,
            )
        )
        holder = target
    return out


def _ended(
    state: CallState,
    ended_at: datetime,
    disposition: CallDisposition,
    recording_url: str | None,
    end_reason: str | None,
    answer_time_unknown: bool = False,
) -> CallEnded:
    started = state.started_event
    answered = state.answered_event
    assert started is not None
    if answer_time_unknown:
        # The end says "answered" but no answer event came: the ring time is short next to
        # the talk time, so the whole call counts as talk rather than as a long wait.
        total = _whole_seconds(ended_at - started.started_at)
        wait, talk = 0, total
    else:
        wait, talk, total = call_durations(
            started.started_at, answered.answered_at if answered else None, ended_at
        )
    return CallEnded(
        call_id=state.call_id,
        ended_at=ended_at,
        disposition=disposition,
        wait_seconds=wait,
        talk_seconds=talk,
        total_seconds=total,
        recording_url=recording_url,
        end_reason=end_reason,
        direction=started.direction,
        caller=started.caller,
        callee=started.callee,
        extension=answered.extension if answered and answered.extension else started.extension,
        clinic_id=started.clinic_id,
        started_at=started.started_at,
        answered_at=answered.answered_at if answered else None,
        operator_id=answered.operator_id if answered else None,
    )


def _ended_from_fact(state: CallState, event: PbxEvent) -> CallEnded:
    answered = state.answered_event is not None
    disposition = disposition_for(answered, event.end_status)
    status = normalise_status(event.end_status)
    return _ended(
        state,
        event.at,
        disposition,
        event.recording_url or None,
        # The PBX's word says why an unanswered call ended (e.g. "cancel" vs "no_answer").
        end_reason=None if disposition == "answered" else status,
        answer_time_unknown=disposition == "answered" and not answered,
    )


def _timed_out(state: CallState, now: datetime) -> CallEnded:
    return _ended(state, now, "failed", None, TIMEOUT_REASON)
