"""Who is told what, by which channel, when: the notification rules.

One notification per recipient (the client and every attendee), kind and channel. The
facts a message is written from (:class:`MessageFacts`) are an allow-list: the clinic,
practitioner, service, times, cancellation reason and the attendee notes, never the
private notes or the answers to the service's questions.

Consent decides the channels: email when the client has an address and has not
unsubscribed, SMS when they have a mobile and agreed to SMS. A channel that cannot be
used is still recorded, as skipped with the reason, so the client's card says why nothing
arrived.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Literal

NotificationKind = Literal["booked", "rescheduled", "cancelled", "reminder"]
Channel = Literal["email", "sms"]
Language = Literal["ru", "en"]

KINDS: tuple[NotificationKind, ...] = ("booked", "rescheduled", "cancelled", "reminder")
CHANNELS: tuple[Channel, ...] = ("email", "sms")
LANGUAGES: tuple[Language, ...] = ("ru", "en")

#: Why a queued reminder is dropped.
MOVED = "the appointment moved"
CANCELLED = "the appointment was cancelled"
TOO_LATE = "the visit had already begun"


@dataclass(frozen=True)
class Recipient:
    """A client to notify and how they may be reached."""

    client_id: str
    display_name: str
    email: str | None
    mobile: str | None
    sms_consent: bool
    email_consent: bool = True
    language: Language = "ru"


def channel_decisions(recipient: Recipient) -> list[tuple[Channel, str | None, str | None]]:
    """``(channel, address, skip_reason)`` for email and SMS: a reason when that channel
    may not be used for this recipient, else ``None``."""
    if not recipient.email:
        email: tuple[Channel, str | None, str | None] = ("email", None, "no email address")
    elif not recipient.email_consent:
        email = ("email", recipient.email, "unsubscribed from email")
    else:
        email = ("email", recipient.email, None)
    if not recipient.mobile:
        sms: tuple[Channel, str | None, str | None] = ("sms", None, "no mobile number")
    elif not recipient.sms_consent:
        sms = ("sms", recipient.mobile, "no SMS consent")
    else:
        sms = ("sms", recipient.mobile, None)
    return [email, sms]


@dataclass(frozen=True)
class MessageFacts:
    """Everything a template may show about one appointment version, for one recipient.

    Times are UTC ISO strings; the templates get them in the clinic's time zone.
    """

    recipient_name: str
    client_name: str
    clinic_name: str
    clinic_address: str
    time_zone: str
    practitioner_name: str
    service_name: str
    meeting_method: str
    starts_at: str
    ends_at: str
    previous_starts_at: str | None = None
    cancellation_reason: str | None = None
    attendee_notes: str = ""

    def as_json(self) -> dict[str, Any]:
        """The facts as stored with the notification."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> MessageFacts:
        """Facts stored by :meth:`as_json` (unknown keys ignored)."""
        known = cls.__dataclass_fields__
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass(frozen=True)
class PlannedNotification:
    """One row to write: queued (due at ``due_at``) or skipped with ``skip_reason``."""

    appointment_id: str
    appointment_version: int
    client_id: str
    kind: NotificationKind
    channel: Channel
    address: str | None
    language: Language
    facts: MessageFacts
    due_at: datetime
    skip_reason: str | None
    idempotency_key: str


def idempotency_key(
    appointment_id: str, version: int, kind: NotificationKind, client_id: str, channel: Channel
) -> str:
    """The key of one message: the same for every attempt at it, different for any other
    appointment version, kind, recipient or channel. Providers that honour idempotency keys
    drop a repeated send with it."""
    raw = f"{appointment_id}:v{version}:{kind}:{client_id}:{channel}"
    return f"{kind}-{hashlib.sha256(raw.encode()).hexdigest()[:40]}"


def plan(
    *,
    kind: NotificationKind,
    appointment_id: str,
    version: int,
    facts: MessageFacts,
    recipients: list[Recipient],
    due_at: datetime,
    skip_reason: str | None = None,
) -> list[PlannedNotification]:
    """A notification per recipient and channel; ``skip_reason`` skips them all (a
    reminder that cannot be sent in time)."""
    out = []
    for recipient in recipients:
        personal = replace(facts, recipient_name=recipient.display_name)
        for channel, address, why_not in channel_decisions(recipient):
            out.append(
                PlannedNotification(
                    appointment_id=appointment_id,
                    appointment_version=version,
                    client_id=recipient.client_id,
                    kind=kind,
                    channel=channel,
                    address=address,
                    language=recipient.language,
                    facts=personal,
                    due_at=due_at,
                    skip_reason=skip_reason or why_not,
                    idempotency_key=idempotency_key(
                        appointment_id, version, kind, recipient.client_id, channel
                    ),
                )
            )
    return out


def reminder_time(starts_at: datetime, hours_before: int) -> datetime | None:
    """When the reminder of a visit at ``starts_at`` is due; ``None`` when the clinic sends
    no reminders (0 hours)."""
    if hours_before <= 0:
        return None
    return starts_at - timedelta(hours=hours_before)


def reminder_too_late(due_at: datetime, planned_at: datetime, hours_before: int) -> str | None:
    """Why a reminder planned at ``planned_at`` is not sent at all: the appointment was
    booked (or moved) inside the reminder window, so the confirmation is the reminder."""
    if due_at <= planned_at:
        return f"booked less than {hours_before} h before the visit"
    return None


def stale_reminder(
    *,
    planned_version: int,
    current_version: int,
    current_status: str,
    starts_at: datetime,
    now: datetime,
) -> str | None:
    """Why a due reminder must not go out (checked against the appointment as it is now),
    or ``None`` to send it."""
    if current_status == "cancelled":
        return CANCELLED
    if current_version != planned_version:
        return MOVED
    if starts_at <= now:
        return TOO_LATE
    return None
