"""Building canonical call events from the facts the state machine kept about a call.

Each function reads a call's :class:`~.call_state.CallState` (or one kept
:class:`~.pbx_events.PbxEvent`) and the :class:`~.config.Directory`, and returns the event as
it is to be published: ``CallStarted`` from the start or, when none came, synthesised from
the other events; ``CallAnswered``; the ``CallTransferred`` chain; ``CallEnded`` from the end
or a timeout.
Numbers are read into their canonical form here. The state machine (:mod:`.calls`) decides
when each is built. Plain functions over plain data, no I/O.
"""

from __future__ import annotations

from datetime import datetime

from switchboard_contracts import (
    CallAnswered,
    CallDisposition,
    CallEnded,
    CallStarted,
    CallTransferred,
)
from switchboard_phones import InvalidPhoneNumber
from switchboard_telephony.domain.call_events import (
    TIMEOUT_REASON,
    call_durations,
    call_summary,
    disposition_for,
    normalise_status,
    whole_seconds,
)
from switchboard_telephony.domain.call_state import CallState
from switchboard_telephony.domain.config import Directory
from switchboard_telephony.domain.pbx_events import PbxEvent

__all__ = [
    "answered_from_fact",
    "ended_from_fact",
    "known_facts",
    "read_extension",
    "ringing_extension",
    "started_from_fact",
    "synthesised_start",
    "timed_out",
    "transfer_chain",
]


def _party(raw: str | None, directory: Directory) -> str:
    """A caller/callee in canonical form; "" when absent or unreadable (e.g. "anonymous")."""
    if raw is None:
        return ""
    try:
        return directory.canonical(raw)
    except InvalidPhoneNumber:
        return ""


def read_extension(raw: str | None, directory: Directory) -> str | None:
    """An extension field in canonical form; kept as written when it is not a number."""
    if raw is None or not raw.strip():
        return None
    try:
        return directory.canonical(raw)
    except InvalidPhoneNumber:
        return raw.strip()


def ringing_extension(event: PbxEvent, directory: Directory) -> str | None:
    """The extension a ringing event rings: its ``extension``, else its callee when that is
    an extension; None when it names none."""
    extension = read_extension(event.extension, directory)
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
    extension = read_extension(extension_raw, directory)
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


def started_from_fact(call_id: str, event: PbxEvent, directory: Directory) -> CallStarted:
    """``CallStarted`` of the call from its kept start event."""
    # Only the start's own fields: what else is known depends on arrival order, and the
    # start must read the same however the call's events arrived.
    return _build_started(
        call_id, event.at, event.caller, event.callee, event.did, event.extension, directory
    )


def _kind_rank(event: PbxEvent) -> int:
    return ("started", "ringing", "transferred", "answered", "ended").index(event.kind)


def known_facts(state: CallState) -> list[PbxEvent]:
    """Every kept event of the call, earliest first (ties in a fixed order)."""
    facts = [f.event for f in (state.started, state.answered, state.ended) if f is not None]
    facts += [f.event for f in state.ringing.values()]
    facts += [f.event for f in state.transfers.values()]
    return sorted(facts, key=lambda e: (e.at, _kind_rank(e), e.source_key))


def synthesised_start(state: CallState, directory: Directory) -> CallStarted:
    """A start made up from the other events: the earliest time, numbers from whichever
    event (earliest first) carried them."""
    facts = known_facts(state)

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


def answered_from_fact(
    call_id: str, started: CallStarted, event: PbxEvent, directory: Directory
) -> CallAnswered:
    """``CallAnswered`` from an answer event: by its extension, else by whoever the call
    rang (the callee of an internal call, else the call's extension)."""
    extension = read_extension(event.extension, directory)
    if extension is None:
        # An internal call is picked up by the callee; otherwise by the call's extension.
        extension = started.callee if started.direction == "internal" else started.extension
    return CallAnswered(
        call_id=call_id,
        answered_at=event.at,
        extension=extension or None,
        operator_id=event.operator_id or None,
    )


def transfer_chain(state: CallState, directory: Directory) -> list[CallTransferred]:
    """The call's transfers in time order, each from whoever had the call at the time.

    An explicit transfer's source is its ``extension``, else the holder: the previous
    transfer's target, else the answering extension once answered, else the call's own
    extension. A move (a later answer elsewhere, kept by the state machine as a transfer)
    to the extension that already holds the call says nothing new and is left out.
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
                holder = answered_from_fact(state.call_id, started, answer, directory).extension
            else:
                holder = started.extension
        if event.kind == "answered":
            target = read_extension(event.extension, directory)
            source = holder
        else:
            target = read_extension(event.to_extension, directory)
            source = read_extension(event.extension, directory) or holder
        assert target is not None  # the state machine keeps only transfers with a target
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
        total = whole_seconds(ended_at - started.started_at)
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
        **call_summary(started, answered),
    )


def ended_from_fact(state: CallState, event: PbxEvent) -> CallEnded:
    """``CallEnded`` from the call's kept end event and the events already emitted."""
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


def timed_out(state: CallState, now: datetime) -> CallEnded:
    """``CallEnded`` of a call closed at ``now`` because its end never came: failed,
    end reason "timeout"."""
    return _ended(state, now, "failed", None, TIMEOUT_REASON)
