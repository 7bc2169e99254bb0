"""Canonical call events, published by telephony on ``telephony.calls`` and keyed by ``call_id``.

PBX adapters normalise whatever their PBX sends into these; telephony's state machine emits
each of them at most once per call. Phone numbers are E.164 for external parties and the bare
extension (``"101"``) for internal ones.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field, NonNegativeInt

from switchboard_contracts.base import (
    CallDirection,
    CallDisposition,
    Event,
    NonEmptyStr,
    UtcDatetime,
)

__all__ = [
    "CallAnswered",
    "CallClaimed",
    "CallEnded",
    "CallRinging",
    "CallStarted",
    "CallTagged",
    "CallTransferred",
]


class CallStarted(Event):
    """A call began: the PBX saw the first leg of a new call."""

    event_type: ClassVar[str] = "CallStarted"

    call_id: NonEmptyStr = Field(description="Telephony's id of the call; the message key.")
    direction: CallDirection
    caller: str = Field(description="E.164 for an outside number, the bare extension if internal.")
    callee: str = Field(description="E.164 for an outside number, the bare extension if internal.")
    extension: str | None = Field(
        default=None,
        description="The extension that rings (incoming) or dials (outgoing).",
    )
    clinic_id: str | None = Field(default=None, description="Clinic routed to (from the DID).")
    started_at: UtcDatetime
    did: str | None = Field(default=None, description="The dialled number (E.164), if known.")


class CallRinging(Event):
    """An extension started ringing for a call (there may be several per call)."""

    event_type: ClassVar[str] = "CallRinging"

    call_id: NonEmptyStr
    extension: str
    ringing_at: UtcDatetime
    clinic_id: str | None = None


class CallTransferred(Event):
    """A call moved from one extension to another."""

    event_type: ClassVar[str] = "CallTransferred"

    call_id: NonEmptyStr
    from_extension: str
    to_extension: str
    transferred_at: UtcDatetime


class CallAnswered(Event):
    """A call was answered (emitted once per call, for the first answer)."""

    event_type: ClassVar[str] = "CallAnswered"

    call_id: NonEmptyStr
    answered_at: UtcDatetime
    extension: str | None = Field(default=None, description="The extension that picked up.")
    operator_id: str | None = Field(default=None, description="The operator, when known.")


class CallEnded(Event):
    """A call is settled: its outcome and durations are final.

    The fields after ``end_reason`` repeat what the earlier events of the call said, so that
    projections (call log, reports) need no join; they are optional, ``None`` when unknown.
    """

    event_type: ClassVar[str] = "CallEnded"

    call_id: NonEmptyStr
    ended_at: UtcDatetime
    disposition: CallDisposition
    wait_seconds: NonNegativeInt = Field(description="From start until answer (or end if none).")
    talk_seconds: NonNegativeInt = Field(description="From answer until end; 0 if unanswered.")
    total_seconds: NonNegativeInt = Field(description="From start until end.")
    recording_url: str | None = None
    end_reason: str | None = Field(
        default=None,
        description='Why it ended when not by hang-up, e.g. "timeout" when closed by telephony.',
    )
    direction: CallDirection | None = None
    caller: str | None = None
    callee: str | None = None
    extension: str | None = None
    clinic_id: str | None = None
    started_at: UtcDatetime | None = None
    answered_at: UtcDatetime | None = None
    operator_id: str | None = None


class CallTagged(Event):
    """Tags were attached to a call by an integration (e.g. Callmarker's speech analytics)."""

    event_type: ClassVar[str] = "CallTagged"

    call_id: NonEmptyStr
    tags: list[str]
    source: str = Field(description='Who tagged the call, e.g. "callmarker".')
    tagged_at: UtcDatetime


class CallClaimed(Event):
    """An operator took a ringing call from the console ("I'll take it").

    Published by notify on ``notify.claims`` (keyed by ``call_id``), not by telephony: it
    records who the call's admin is, so analytics can show it even before the PBX reports
    who picked up.
    """

    event_type: ClassVar[str] = "CallClaimed"

    call_id: NonEmptyStr
    operator_id: NonEmptyStr
    claimed_at: UtcDatetime
    extension: str | None = Field(
        default=None, description="The extension the operator took the call on, if known."
    )
