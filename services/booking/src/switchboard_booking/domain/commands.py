"""Commands: what an operator asks booking to do, already parsed at the edge."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime


@dataclass(frozen=True)
class NewClient:
    """Details of a client to register (on their own, or while booking)."""

    first_name: str
    last_name: str
    email: str | None = None
    mobile: str | None = None
    sms_consent: bool = False
    date_of_birth: date | None = None
    phones: tuple[str, ...] = ()
    #: The language of their notifications; None: the chain's default.
    language: str | None = None
    email_consent: bool = True


@dataclass(frozen=True)
class UpdateClient:
    """Change some of a client's details; fields left ``None`` stay as they are."""

    client_id: str
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    mobile: str | None = None
    sms_consent: bool | None = None
    date_of_birth: date | None = None
    phones: tuple[str, ...] | None = None
    language: str | None = None
    email_consent: bool | None = None


@dataclass(frozen=True)
class MergeClients:
    """Fold ``duplicate_client_id`` into ``primary_client_id``."""

    primary_client_id: str
    duplicate_client_id: str


@dataclass(frozen=True)
class Attendee:
    """An extra attendee: an existing client or a new one."""

    client_id: str | None = None
    new_client: NewClient | None = None


@dataclass(frozen=True)
class BookAppointment:
    """Book a service at a clinic; ``practitioner_id=None`` means anyone available
    (optionally speaking ``language``)."""

    service_id: str
    clinic_id: str
    meeting_method: str
    starts_at: datetime
    practitioner_id: str | None = None
    language: str | None = None
    client_id: str | None = None
    new_client: NewClient | None = None
    attendees: tuple[Attendee, ...] = ()
    attendee_notes: str = ""
    private_notes: str = ""
    answers: Mapping[str, str] = field(default_factory=dict)
    call_id: str | None = None
    touch_id: str | None = None


@dataclass(frozen=True)
class RescheduleAppointment:
    """Move an appointment to ``starts_at`` (and optionally another practitioner)."""

    appointment_id: str
    starts_at: datetime
    practitioner_id: str | None = None


@dataclass(frozen=True)
class CancelAppointment:
    """Cancel an appointment, with a reason from the configured list."""

    appointment_id: str
    reason_id: str | None = None
    note: str = ""
