"""crm-touch's events on ``crm.touches``: who each call is with, and the touches.

``CallerIdentified`` (keyed by ``call_id``) says who is behind the other party's number of
every external call, whether or not touch creation is on. A touch is crm-touch's record of
one contact with a client or lead (today: one per call while touch creation is on): who it
was, what came of it, and the appointment it led to (``TouchCreated`` / ``TouchUpdated``,
keyed by ``touch_id``).
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
    "CallerIdentified",
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


class CallerIdentified(Event):
    """Who is behind the other party's number of an external call, decided once per call
    when crm-touch first learns the call's direction and start.

    Published for every external call whether touch creation is on or off. ``contact`` is
    ``None`` when nobody holds the number (or it is withheld or not a number): the pop-up
    shows the number as unknown. While touch creation is on, an unknown caller gets a lead,
    so ``contact`` is that lead and ``touch_id`` the call's touch. Later changes of who the
    call is with (a merge, a lead claimed, an operator choosing a candidate) come as
    ``TouchUpdated``; ``identified_at`` orders this event against them.
    """

    event_type: ClassVar[str] = "CallerIdentified"

    call_id: NonEmptyStr
    direction: CallDirection
    phone: str | None = Field(
        default=None, description="The other party's number (E.164 when it is one)."
    )
    contact: TouchContact | None = Field(
        default=None, description="The identified client or lead; None: unknown caller."
    )
    touch_id: str | None = Field(
        default=None, description="The call's touch, when touch creation is on."
    )
    identified_at: UtcDatetime
