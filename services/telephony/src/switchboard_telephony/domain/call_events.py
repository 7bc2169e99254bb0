"""Canonical call events: what the state machine emits, and the rules read off them.

:data:`CallEvent` is any of them; :func:`canonical_event_key` names one event of one call
(envelope event ids are derived from it); :func:`disposition_for` and
:func:`call_durations` give ``CallEnded``'s disposition and durations from the PBX's
word and the call's times. Plain functions over plain data, no I/O.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, TypeAlias

from switchboard_contracts import (
    CallAnswered,
    CallDisposition,
    CallEnded,
    CallRinging,
    CallStarted,
    CallTransferred,
)

__all__ = [
    "ANSWERED_STATUSES",
    "BUSY_STATUSES",
    "FAILED_STATUSES",
    "TIMEOUT_REASON",
    "CallEvent",
    "call_durations",
    "call_summary",
    "canonical_event_key",
    "disposition_for",
    "normalise_status",
    "ringing_key",
    "transfer_fact_key",
    "whole_seconds",
]

CallEvent: TypeAlias = CallStarted | CallRinging | CallTransferred | CallAnswered | CallEnded
"""A canonical call event, as the state machine emits it (bare payload, no envelope)."""

ANSWERED_STATUSES = frozenset({"answered", "answer"})
BUSY_STATUSES = frozenset({"busy"})
FAILED_STATUSES = frozenset({"failed", "congestion", "unavailable", "chanunavail"})
TIMEOUT_REASON = "timeout"
"""``CallEnded.end_reason`` of a call closed because its end never came."""


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


def whole_seconds(delta: timedelta) -> int:
    """A span in whole seconds, rounded; a negative span counts as 0."""
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
        return whole_seconds(ended_at - started_at), 0, whole_seconds(ended_at - started_at)
    wait = whole_seconds(answered_at - started_at)
    talk = whole_seconds(ended_at - answered_at)
    return wait, talk, wait + talk


def call_summary(started: CallStarted, answered: CallAnswered | None) -> dict[str, Any]:
    """The fields of ``CallEnded`` that repeat the call's earlier events (so that projections
    need no join): direction, numbers, clinic and start from ``CallStarted``; the answering
    extension (else the call's own), answer time and operator from ``CallAnswered``."""
    return {
        "direction": started.direction,
        "caller": started.caller,
        "callee": started.callee,
        "extension": (answered.extension if answered and answered.extension else started.extension),
        "clinic_id": started.clinic_id,
        "started_at": started.started_at,
        "answered_at": answered.answered_at if answered else None,
        "operator_id": answered.operator_id if answered else None,
    }


def canonical_event_key(event: CallEvent) -> str:
    """A key naming one canonical event of one call, stable across re-emissions.

    ``"<call_id>:<event_type>"`` for the once-per-call events, with the extension for
    ``CallRinging`` and target and time for ``CallTransferred``. Callers derive envelope
    event ids from it, so that a re-emitted event is recognised downstream.
    """
    if isinstance(event, CallRinging):
        return ringing_key(event.call_id, event.extension)
    if isinstance(event, CallTransferred):
        return _transfer_key(event.call_id, event.to_extension, event.transferred_at)
    if isinstance(event, CallStarted | CallAnswered | CallEnded):
        return f"{event.call_id}:{event.event_type}"
    raise TypeError(f"not a canonical call event: {type(event).__name__}")


def ringing_key(call_id: str, extension: str) -> str:
    """:func:`canonical_event_key` of the call's ``CallRinging`` at ``extension``."""
    return f"{call_id}:CallRinging:{extension}"


def _transfer_key(call_id: str, to_extension: str, at: datetime) -> str:
    return f"{call_id}:CallTransferred:{transfer_fact_key(to_extension, at)}"


def transfer_fact_key(to_extension: str, at: datetime) -> str:
    """How a call's state keys a transfer (or move) to ``to_extension`` at ``at``."""
    return f"{to_extension}@{at.astimezone(UTC).isoformat()}"
