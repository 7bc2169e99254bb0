"""Touch events, published by crm-touch on ``crm.touches`` and keyed by ``touch_id``.

A touch is crm-touch's record of one contact with a client or lead (today: one per call):
who it was, what came of it, and the appointment it led to.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, NonNegativeInt

from switchboard_contracts.base import (
    CallDirection,
    CallDisposition,
    ClientKind,
    ContractModel,
    Event,
    NonEmptyStr,
    UtcDatetime,
)

__all__ = [
    "ContactRef",
    "TouchContact",
    "TouchCreated",
    "TouchResult",
    "TouchStatus",
    "TouchUpdated",
]

TouchStatus = Literal["new", "in_progress", "done"]
"""Where the operator is with a touch."""

TouchResult = Literal["booked", "information", "complaint", "no_answer", "other"]
"""What came of a touch."""


class ContactRef(ContractModel):
    """A client or lead a phone number might belong to (a candidate when ambiguous)."""

    id: NonEmptyStr
    kind: ClientKind
    display_name: str


class TouchContact(ContractModel):
    """Who a touch is with, as identified from the phone number.

    When the number matches several clients, ``ambiguous`` is true, ``candidates`` lists them
    and ``id`` is the best guess (the most recently active one).
    """

    id: NonEmptyStr
    kind: ClientKind
    display_name: str
    key_details: dict[str, str] = Field(
        default_factory=dict, description="Label → value pairs the incoming-call pop-up shows."
    )
    ambiguous: bool = False
    candidates: list[ContactRef] = Field(default_factory=list)


class TouchCreated(Event):
    """A touch was opened (for a call: when it started, with the caller identified)."""

    event_type: ClassVar[str] = "TouchCreated"

    touch_id: NonEmptyStr
    call_id: str | None = None
    channel: str = Field(default="call", description='How the contact happened, e.g. "call".')
    direction: CallDirection | None = None
    contact: TouchContact | None = Field(
        default=None, description="The identified client or lead; None if not identified."
    )
    phone: str | None = Field(default=None, description="The other party's number.")
    operator_id: str | None = None
    created_at: UtcDatetime
    clinic_id: str | None = None
    extension: str | None = Field(default=None, description="The extension the call rang on.")


class TouchUpdated(Event):
    """A touch changed; carries the touch's state after the change.

    Consumers replace their copy with these values rather than merging; ``None`` means
    not set (yet).
    """

    event_type: ClassVar[str] = "TouchUpdated"

    touch_id: NonEmptyStr
    call_id: str | None = None
    status: TouchStatus | None = None
    result: TouchResult | None = None
    operator_id: str | None = None
    disposition: CallDisposition | None = None
    talk_seconds: NonNegativeInt | None = None
    wait_seconds: NonNegativeInt | None = None
    appointment_id: str | None = None
    contact: TouchContact | None = None
    updated_at: UtcDatetime
