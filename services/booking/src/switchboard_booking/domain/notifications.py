"""What a client is told when an appointment is booked, moved or cancelled.

The content rule: attendee notes are shared with everyone notified; private appointment
notes (and answers to the service's questions) never leave booking.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal
from zoneinfo import ZoneInfo

from switchboard_booking.domain.model import Appointment

NotificationKind = Literal["booked", "rescheduled", "cancelled"]


@dataclass(frozen=True)
class Recipient:
    """A client to notify and how to reach them."""

    client_id: str
    display_name: str
    email: str | None
    mobile: str | None
    sms_consent: bool

    @property
    def channel(self) -> tuple[str, str | None]:
        """SMS when the client agreed to it, else email, else the log only."""
        if self.mobile and self.sms_consent:
            return "sms", self.mobile
        if self.email:
            return "email", self.email
        return "log", None


@dataclass(frozen=True)
class AppointmentContext:
    """Names a notification shows (the appointment itself holds only ids)."""

    clinic_name: str
    clinic_address: str
    time_zone: str
    practitioner_name: str
    service_name: str


@dataclass(frozen=True)
class Notification:
    """One notification record: to whom, how, and what it says."""

    client_id: str
    kind: NotificationKind
    channel: str
    address: str | None
    content: dict[str, str]


_TITLES = {
    "booked": "Your appointment is booked",
    "rescheduled": "Your appointment has moved",
    "cancelled": "Your appointment is cancelled",
}


def _local(at: datetime, tz: str) -> str:
    return at.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M")


def notifications_for(
    kind: NotificationKind,
    appointment: Appointment,
    context: AppointmentContext,
    recipients: list[Recipient],
) -> list[Notification]:
    """One notification per recipient (the client and every attendee).

    The content carries the clinic, practitioner, service, local time and the attendee
    notes — by construction nothing else of the appointment.
    """
    when = _local(appointment.starts_at, context.time_zone)
    content = {
        "title": _TITLES[kind],
        "clinic": context.clinic_name,
        "address": context.clinic_address,
        "practitioner": context.practitioner_name,
        "service": context.service_name,
        "meeting_method": appointment.meeting_method,
        "starts_at_local": when,
        "time_zone": context.time_zone,
        "attendee_notes": appointment.attendee_notes,
    }
    text = (
        f"{_TITLES[kind]}: {context.service_name} with {context.practitioner_name} at "
        f"{context.clinic_name}, {when} ({context.time_zone})."
    )
    if appointment.attendee_notes:
        text += f" Notes: {appointment.attendee_notes}"
    out = []
    for recipient in recipients:
        channel, address = recipient.channel
        out.append(
            Notification(
                recipient.client_id,
                kind,
                channel,
                address,
                {**content, "recipient": recipient.display_name, "text": text},
            )
        )
    return out
