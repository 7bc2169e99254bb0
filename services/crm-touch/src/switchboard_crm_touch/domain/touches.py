"""The touch life cycle: one touch per external call, updated as the call goes on, then
worked by operators (status, result, notes) and linked to the appointment it led to.

Call events arrive duplicated, late and out of order. Everything known about a call is
folded into :class:`CallFacts` (filling gaps, never forgetting), and a touch is decided
once per call (:func:`decide`): so whatever the order, a call gets at most one touch.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Final, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from switchboard_contracts import (
    CallAnswered,
    CallDirection,
    CallDisposition,
    CallEnded,
    CallStarted,
    ClientKind,
    TouchResult,
    TouchStatus,
)
from switchboard_crm_touch.domain.errors import InvalidRequest
from switchboard_crm_touch.domain.identification import Identification
from switchboard_phones import display

__all__ = [
    "NOTES_MAX_CHARS",
    "RESULTS",
    "STATUSES",
    "UNSET",
    "CallFacts",
    "NextVisit",
    "Touch",
    "TouchDecision",
    "absorb",
    "decide",
    "has_progress",
    "key_details",
    "lead_display_name",
    "new_touch",
    "other_party",
    "with_appointment",
    "with_call",
    "with_contact_moved",
    "with_update",
]

STATUSES: Final[tuple[str, ...]] = get_args(TouchStatus)
RESULTS: Final[tuple[str, ...]] = get_args(TouchResult)
NOTES_MAX_CHARS: Final = 4000
#: Dispositions after which nobody talked: the touch's result is "no_answer" unless set.
_UNANSWERED: Final = frozenset({"missed", "busy", "failed"})


class _Unset(enum.Enum):
    UNSET = enum.auto()


UNSET: Final = _Unset.UNSET
"""Marks a field an update leaves alone (``None`` is a value: it clears the result)."""

CallEvent = CallStarted | CallAnswered | CallEnded


@dataclass(frozen=True)
class CallFacts:
    """Everything crm-touch has learnt about one call, from whichever events arrived."""

    call_id: str
    direction: CallDirection | None = None
    caller: str | None = None
    callee: str | None = None
    extension: str | None = None
    clinic_id: str | None = None
    started_at: datetime | None = None
    answered_at: datetime | None = None
    answered_extension: str | None = None
    operator_id: str | None = None
    ended_at: datetime | None = None
    disposition: CallDisposition | None = None
    wait_seconds: int | None = None
    talk_seconds: int | None = None
    total_seconds: int | None = None


def _fill(facts: CallFacts, **values: Any) -> CallFacts:
    """``facts`` with the given values where it has none yet (first known value wins)."""
    gaps = {k: v for k, v in values.items() if v is not None and getattr(facts, k) is None}
    return replace(facts, **gaps) if gaps else facts


def absorb(facts: CallFacts | None, event: CallEvent) -> CallFacts:
    """Fold one call event into what is known of its call.

    Telephony settles each call once, so two events never disagree about a fact; an event
    seen twice, or after a later one, only fills what is still unknown. ``CallEnded`` repeats
    the start and answer, which is how a call whose ``CallStarted`` was lost is still known.
    """
    current = facts if facts is not None else CallFacts(call_id=event.call_id)
    if isinstance(event, CallStarted):
        return _fill(
            current,
            direction=event.direction,
            caller=event.caller,
            callee=event.callee,
            extension=event.extension,
            clinic_id=event.clinic_id,
            started_at=event.started_at,
        )
    if isinstance(event, CallAnswered):
        return _fill(
            current,
            answered_at=event.answered_at,
            answered_extension=event.extension,
            operator_id=event.operator_id,
        )
    started_at = event.started_at or event.ended_at - timedelta(seconds=event.total_seconds)
    return _fill(
        current,
        direction=event.direction,
        caller=event.caller,
        callee=event.callee,
        extension=event.extension,
        clinic_id=event.clinic_id,
        started_at=started_at,
        answered_at=event.answered_at,
        operator_id=event.operator_id,
        ended_at=event.ended_at,
        disposition=event.disposition,
        wait_seconds=event.wait_seconds,
        talk_seconds=event.talk_seconds,
        total_seconds=event.total_seconds,
    )


def other_party(facts: CallFacts) -> str | None:
    """The outside number of an external call: the caller of an incoming call, the callee of
    an outgoing one; ``None`` for internal calls or while the direction is unknown."""
    if facts.direction == "incoming":
        return facts.caller
    if facts.direction == "outgoing":
        return facts.callee
    return None


class TouchDecision(enum.Enum):
    """What to do about a call that has no touch yet."""

    CREATE = "create"
    #: Not enough known yet (e.g. only ``CallAnswered`` arrived): decide on a later event.
    WAIT = "wait"
    #: An internal call (extension to extension): never a touch.
    INTERNAL = "internal"
    #: Calltouch touch creation was off when the call became known: never a touch.
    DISABLED = "disabled"


def decide(facts: CallFacts, *, enabled: bool) -> TouchDecision:
    """Whether the call gets a touch. Every outcome but ``WAIT`` is final for the call."""
    if facts.direction is None or facts.started_at is None:
        return TouchDecision.WAIT
    if facts.direction == "internal":
        return TouchDecision.INTERNAL
    if not enabled:
        return TouchDecision.DISABLED
    return TouchDecision.CREATE


@dataclass(frozen=True)
class Touch:
    """crm-touch's record of one contact with a client or lead (today: one call)."""

    touch_id: str
    created_at: datetime
    call_id: str | None = None
    channel: str = "call"
    direction: CallDirection | None = None
    phone: str | None = None
    contact_id: str | None = None
    candidate_ids: tuple[str, ...] = ()
    contact_confirmed: bool = False
    status: TouchStatus = "new"
    result: TouchResult | None = None
    notes: str = ""
    operator_id: str | None = None
    extension: str | None = None
    clinic_id: str | None = None
    disposition: CallDisposition | None = None
    wait_seconds: int | None = None
    talk_seconds: int | None = None
    total_seconds: int | None = None
    answered_at: datetime | None = None
    ended_at: datetime | None = None
    appointment_id: str | None = None

    @property
    def ambiguous(self) -> bool:
        """Several contacts share the number and no operator has said which one it was."""
        return len(self.candidate_ids) > 1 and not self.contact_confirmed


def new_touch(
    touch_id: str, facts: CallFacts, phone: str | None, identification: Identification | None
) -> Touch:
    """The touch of a call just decided ``CREATE``; ``phone`` is the other party's number
    (E.164 when it is one) and ``identification`` who holds it (``None``: nobody could)."""
    if facts.started_at is None:
        raise ValueError("a touch needs the call's start time")
    best = identification.best if identification is not None else None
    touch = Touch(
        touch_id=touch_id,
        created_at=facts.started_at,
        call_id=facts.call_id,
        direction=facts.direction,
        phone=phone,
        contact_id=best.contact_id if best is not None else None,
        candidate_ids=tuple(c.contact_id for c in identification.matches)
        if identification is not None
        else (),
        extension=facts.extension,
        clinic_id=facts.clinic_id,
    )
    return with_call(touch, facts)


def with_call(touch: Touch, facts: CallFacts) -> Touch:
    """``touch`` updated with what is known of its call (operator, outcome, durations).

    A call that ended without anybody talking gets the result ``no_answer`` unless an
    operator or a booking already set one.
    """
    result = touch.result
    if result is None and facts.disposition in _UNANSWERED:
        result = "no_answer"
    return replace(
        touch,
        operator_id=facts.operator_id or touch.operator_id,
        extension=touch.extension or facts.answered_extension or facts.extension,
        clinic_id=touch.clinic_id or facts.clinic_id,
        disposition=facts.disposition or touch.disposition,
        wait_seconds=_first(facts.wait_seconds, touch.wait_seconds),
        talk_seconds=_first(facts.talk_seconds, touch.talk_seconds),
        total_seconds=_first(facts.total_seconds, touch.total_seconds),
        answered_at=facts.answered_at or touch.answered_at,
        ended_at=facts.ended_at or touch.ended_at,
        result=result,
    )


def _first(*values: int | None) -> int | None:
    return next((v for v in values if v is not None), None)


def with_update(
    touch: Touch,
    *,
    status: TouchStatus | _Unset = UNSET,
    result: TouchResult | _Unset | None = UNSET,
    notes: str | _Unset = UNSET,
    contact_id: str | _Unset = UNSET,
) -> Touch:
    """An operator's change: status, result (``None`` clears it), notes, or which of the
    candidates the caller really was (that settles an ambiguous touch).

    Any status may follow any other (a done touch can be reopened). Raises
    :class:`InvalidRequest` for an unknown status or result, notes over
    :data:`NOTES_MAX_CHARS`, or a contact that is not one of the touch's candidates.
    """
    changes: dict[str, Any] = {}
    if status is not UNSET:
        if status not in STATUSES:
            raise InvalidRequest(f"status must be one of {', '.join(STATUSES)}")
        changes["status"] = status
    if result is not UNSET:
        if result is not None and result not in RESULTS:
            raise InvalidRequest(f"result must be one of {', '.join(RESULTS)} (or null)")
        changes["result"] = result
    if notes is not UNSET:
        text = notes.strip()
        if len(text) > NOTES_MAX_CHARS:
            raise InvalidRequest(f"notes must be at most {NOTES_MAX_CHARS} characters")
        changes["notes"] = text
    if contact_id is not UNSET:
        allowed = set(touch.candidate_ids) | ({touch.contact_id} if touch.contact_id else set())
        if contact_id not in allowed:
            raise InvalidRequest("contact_id must be one of the touch's candidates")
        changes["contact_id"] = contact_id
        changes["contact_confirmed"] = True
    return replace(touch, **changes) if changes else touch


def with_appointment(touch: Touch, appointment_id: str) -> Touch:
    """The touch an appointment was booked from: linked to it (the first one booked during the
    touch stays the linked one) and its result ``booked``."""
    return replace(touch, appointment_id=touch.appointment_id or appointment_id, result="booked")


def with_contact_moved(touch: Touch, from_id: str, to_id: str) -> Touch:
    """``touch`` after contact ``from_id`` became ``to_id`` (a merge, or a lead that turned
    out to be a client): the contact and the candidates are renamed, repeats dropped."""
    if from_id == to_id:
        return touch
    candidates = tuple(dict.fromkeys(to_id if c == from_id else c for c in touch.candidate_ids))
    contact_id = to_id if touch.contact_id == from_id else touch.contact_id
    return replace(touch, contact_id=contact_id, candidate_ids=candidates)


def has_progress(touch: Touch) -> bool:
    """Whether ``touch`` holds more than ``TouchCreated`` says (its call was answered or
    ended, a result or appointment is set), so a ``TouchUpdated`` must follow the creation."""
    return (
        touch.status != "new"
        or touch.result is not None
        or touch.disposition is not None
        or touch.answered_at is not None
        or touch.appointment_id is not None
        or bool(touch.notes)
    )


def lead_display_name(phone: str) -> str:
    """The name of a lead opened for an unknown number, until somebody knows better."""
    return f"Lead {display(phone)}"


@dataclass(frozen=True)
class NextVisit:
    """A contact's next booked appointment, for the pop-up."""

    starts_at: datetime
    clinic_name: str | None = None
    time_zone: str | None = None


def _visit_text(visit: NextVisit) -> str:
    try:
        zone = ZoneInfo(visit.time_zone) if visit.time_zone else None
    except (ZoneInfoNotFoundError, ValueError):
        zone = None
    if zone is None:
        text = f"{visit.starts_at.astimezone(ZoneInfo('UTC')):%Y-%m-%d %H:%M} UTC"
    else:
        text = f"{visit.starts_at.astimezone(zone):%Y-%m-%d %H:%M}"
    return f"{text}, {visit.clinic_name}" if visit.clinic_name else text


def key_details(
    base: Mapping[str, str],
    *,
    kind: ClientKind,
    next_visit: NextVisit | None,
    previous_calls: int,
) -> dict[str, str]:
    """What the incoming-call pop-up shows about a contact: crm-touch's own facts (next
    visit in the clinic's local time, previous calls, lead status) and booking's
    ``key_details``, which win on a shared label."""
    details: dict[str, str] = {}
    if kind == "lead":
        details["Status"] = "Lead: no patient record yet"
    if next_visit is not None:
        details["Next visit"] = _visit_text(next_visit)
    if previous_calls > 0:
        details["Previous calls"] = str(previous_calls)
    details.update(base)
    return details
