"""Booking events: appointments, clients and the operator directory, published by booking.

Appointment events go to ``booking.appointments`` keyed by ``appointment_id``; client events to
``booking.clients`` keyed by ``client_id`` (``ClientsMerged`` by ``primary_client_id``);
``OperatorChanged`` to ``booking.directory`` keyed by ``operator_id``.
"""

from __future__ import annotations

from datetime import date
from typing import ClassVar, Literal, Self

from pydantic import Field, field_validator, model_validator

from switchboard_contracts.base import (
    ClientKind,
    E164Phone,
    Event,
    NonEmptyStr,
    Role,
    UtcDatetime,
)

__all__ = [
    "AppointmentBooked",
    "AppointmentCancelled",
    "AppointmentRescheduled",
    "CallCenterChanged",
    "ClientRegistered",
    "ClientUpdated",
    "ClientsMerged",
    "ClinicChanged",
    "OperatorChanged",
]


class AppointmentBooked(Event):
    """An appointment was booked (by an operator, possibly during a call)."""

    event_type: ClassVar[str] = "AppointmentBooked"

    appointment_id: NonEmptyStr
    client_id: str
    clinic_id: str
    practitioner_id: str
    service_id: str
    starts_at: UtcDatetime
    ends_at: UtcDatetime
    call_center_id: str | None = Field(
        default=None, description="The call center that booked it (only it may edit it)."
    )
    operator_id: str | None = Field(default=None, description="The operator who booked it.")
    meeting_method: str | None = Field(default=None, description='E.g. "in_person", "video".')
    touch_id: str | None = Field(default=None, description="The touch it was booked from.")
    call_id: str | None = Field(default=None, description="The call it was booked during.")
    attendee_client_ids: list[str] = Field(
        default_factory=list, description="Further attendees besides client_id."
    )
    version: int | None = Field(
        default=None,
        ge=1,
        description="The appointment's version after this change (1 when booked, +1 per change).",
    )

    @model_validator(mode="after")
    def _ends_after_start(self) -> Self:
        if self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        return self


class AppointmentRescheduled(Event):
    """An appointment moved to another time (and possibly another practitioner)."""

    event_type: ClassVar[str] = "AppointmentRescheduled"

    appointment_id: NonEmptyStr
    client_id: str
    clinic_id: str
    practitioner_id: str
    previous_starts_at: UtcDatetime
    starts_at: UtcDatetime
    ends_at: UtcDatetime
    call_center_id: str | None = None
    operator_id: str | None = Field(default=None, description="The operator who moved it.")
    version: int | None = Field(
        default=None,
        ge=1,
        description="The appointment's version after this change (1 when booked, +1 per change).",
    )

    @model_validator(mode="after")
    def _ends_after_start(self) -> Self:
        if self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        return self


class AppointmentCancelled(Event):
    """An appointment was cancelled."""

    event_type: ClassVar[str] = "AppointmentCancelled"

    appointment_id: NonEmptyStr
    client_id: str
    clinic_id: str
    cancelled_at: UtcDatetime
    reason: str | None = Field(default=None, description="The cancellation reason, if given.")
    call_center_id: str | None = None
    operator_id: str | None = Field(default=None, description="The operator who cancelled it.")
    version: int | None = Field(
        default=None,
        ge=1,
        description="The appointment's version after this change (1 when booked, +1 per change).",
    )


class _ClientState(Event):
    """The full state of a client record (both registration and update carry all of it).

    Consumers replace their copy with it rather than merging, so events applied twice or
    a missed update never leave a half-updated record.
    """

    client_id: NonEmptyStr
    kind: ClientKind = "patient"
    first_name: str = ""
    last_name: str = ""
    display_name: str
    phones: list[E164Phone] = Field(default_factory=list, description="E.164 numbers.")
    email: str | None = None
    date_of_birth: date | None = None
    key_details: dict[str, str] = Field(
        default_factory=dict,
        description="Label → value pairs an incoming-call pop-up shows (e.g. next visit).",
    )
    sms_consent: bool = False


class ClientRegistered(_ClientState):
    """A new client (patient or lead) was registered."""

    event_type: ClassVar[str] = "ClientRegistered"


class ClientUpdated(_ClientState):
    """A client's details changed; carries the client's full new state."""

    event_type: ClassVar[str] = "ClientUpdated"


class ClientsMerged(Event):
    """A duplicate client record was merged into the primary one and no longer exists."""

    event_type: ClassVar[str] = "ClientsMerged"

    primary_client_id: NonEmptyStr
    duplicate_client_id: NonEmptyStr
    merged_at: UtcDatetime

    @model_validator(mode="after")
    def _distinct(self) -> Self:
        if self.primary_client_id == self.duplicate_client_id:
            raise ValueError("a client cannot be merged into itself")
        return self


class OperatorChanged(Event):
    """An operator was created or changed (name, role, call center, extension, active)."""

    event_type: ClassVar[str] = "OperatorChanged"

    operator_id: NonEmptyStr
    name: str
    role: Role
    call_center_id: str | None = None
    extension: str | None = Field(default=None, description="The operator's usual extension.")
    active: bool = True


class ClinicChanged(Event):
    """A clinic (location) was created or changed; reports group by its time zone."""

    event_type: ClassVar[str] = "ClinicChanged"

    clinic_id: NonEmptyStr
    name: str
    city: str | None = None
    address: str | None = None
    time_zone: str = Field(description="IANA time zone name, e.g. Europe/Moscow.")
    active: bool = True

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError("unknown IANA time zone") from exc
        return value


class CallCenterChanged(Event):
    """A call center was created or changed."""

    event_type: ClassVar[str] = "CallCenterChanged"

    call_center_id: NonEmptyStr
    name: str
    kind: Literal["internal", "external"] = "internal"
    active: bool = True
