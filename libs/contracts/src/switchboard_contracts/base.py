"""The building blocks every event is made of: the ``Event`` base class and shared field types.

Contracts are data: nothing here does I/O. Every timestamp in every event is a
:data:`UtcDatetime` (timezone-aware, normalised to UTC), so a consumer never has to guess
which clock a value came from.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, ClassVar, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, StringConstraints

__all__ = [
    "CallDirection",
    "CallDisposition",
    "ClientKind",
    "ContractModel",
    "E164Phone",
    "Event",
    "NonEmptyStr",
    "Role",
    "UtcDatetime",
    "ensure_utc",
]


def ensure_utc(value: datetime) -> datetime:
    """Return ``value`` converted to UTC; reject a naive datetime.

    A naive timestamp is ambiguous (whose clock? which DST side?), so it is refused at the
    contract boundary instead of being silently read as UTC.
    """
    if value.tzinfo is None or value.tzinfo.utcoffset(value) is None:
        raise ValueError("datetime must be timezone-aware (e.g. end with 'Z' or '+00:00')")
    return value.astimezone(UTC)


UtcDatetime = Annotated[datetime, AfterValidator(ensure_utc)]
"""A timezone-aware datetime, normalised to UTC. Naive datetimes are rejected."""

NonEmptyStr = Annotated[str, StringConstraints(min_length=1)]
"""A string that must not be empty (identifiers, message keys)."""

E164Phone = Annotated[str, StringConstraints(pattern=r"^\+[1-9][0-9]{1,14}$")]
"""A phone number in E.164 form: ``+`` then up to 15 digits, no spaces."""

CallDirection = Literal["incoming", "outgoing", "internal"]
"""Who started the call: an outside number (incoming), an extension dialling out (outgoing),
or one extension calling another (internal)."""

CallDisposition = Literal["answered", "missed", "busy", "failed"]
"""How a call ended, from the caller's point of view."""

ClientKind = Literal["patient", "lead"]
"""A known patient, or a lead (someone who called but has no patient record yet)."""

Role = Literal["admin", "call_centre", "clinic_staff", "manager"]
"""An operator's role."""


class ContractModel(BaseModel):
    """Base of every model carried inside an event (nested values included).

    Unknown fields are ignored so that a consumer built against an older schema keeps
    working when a producer adds optional fields; instances are immutable.
    """

    model_config = ConfigDict(extra="ignore", frozen=True)


class Event(ContractModel):
    """Base class of every published event payload.

    Subclasses set the class variables ``event_type`` (the past-tense name written into the
    envelope) and, when a change is not backward compatible, a higher ``schema_version``.
    Instances hold only the payload; the envelope (:mod:`switchboard_contracts.envelope`)
    carries ids, timestamps and the producer.
    """

    event_type: ClassVar[str]
    schema_version: ClassVar[int] = 1
