"""The called-back rule: pure functions over plain call facts, no I/O.

A missed incoming call is *called back* when, within a window after it started (24 h by
default), either an outgoing call to the same number starts, or an incoming call from that
number starts and is answered. The earliest such call is the call-back; the delay is the
time between the two calls' starts, in whole seconds (rounded down).

Only settled (ended) calls take part: a call that has not ended has no disposition yet, so
whether it is missed, or an answered call from the number, is not known.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

DEFAULT_WINDOW = timedelta(hours=24)
"""How long after a missed call a call to or from the number still counts as calling back."""


@dataclass(frozen=True)
class CallFacts:
    """What the rule needs to know about one settled call."""

    call_id: str
    call_type: str
    disposition: str
    src: str
    dst: str
    started_at: datetime


@dataclass(frozen=True)
class CallBack:
    """The call that called a missed call back, and how long after it started."""

    call_id: str
    delay_seconds: int


def is_missed_incoming(call: CallFacts) -> bool:
    """Whether ``call`` is a missed incoming call (the kind that wants calling back)."""
    return call.call_type == "incoming" and call.disposition == "missed"


def reached_number(call: CallFacts) -> str | None:
    """The outside number ``call`` connected the clinic with, if it can call a number back.

    An outgoing call reaches its callee (whether or not it was answered); an answered
    incoming call reaches its caller. Any other call reaches nobody.
    """
    if call.call_type == "outgoing":
        return call.dst or None
    if call.call_type == "incoming" and call.disposition == "answered":
        return call.src or None
    return None


def find_callback(
    missed: CallFacts, calls: Iterable[CallFacts], window: timedelta = DEFAULT_WINDOW
) -> CallBack | None:
    """The call among ``calls`` that called ``missed`` back, or ``None``.

    ``missed`` must be a missed incoming call (otherwise ``None``). A candidate qualifies
    when it reaches the missed call's caller number and starts strictly after the missed
    call and at most ``window`` after it. The earliest qualifying call wins; ties go to the
    smallest ``call_id`` so that the answer does not depend on the order of ``calls``.
    """
    if not is_missed_incoming(missed) or not missed.src:
        return None
    best: tuple[timedelta, str] | None = None
    for call in calls:
        if call.call_id == missed.call_id or reached_number(call) != missed.src:
            continue
        delay = call.started_at - missed.started_at
        if delay <= timedelta(0) or delay > window:
            continue
        if best is None or (delay, call.call_id) < best:
            best = (delay, call.call_id)
    if best is None:
        return None
    delay, call_id = best
    return CallBack(call_id=call_id, delay_seconds=int(delay.total_seconds()))


def may_call_back(candidate: CallFacts, missed: CallFacts, window: timedelta) -> bool:
    """Whether ``candidate`` is close enough to ``missed`` to be its call-back.

    The cheap pre-check a projection uses to find which missed calls a newly settled call
    may affect; :func:`find_callback` then decides.
    """
    number = reached_number(candidate)
    if number is None or not is_missed_incoming(missed) or number != missed.src:
        return False
    delay = candidate.started_at - missed.started_at
    return timedelta(0) < delay <= window
