"""The one interface every channel adapter has, and the channels built from settings."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from switchboard_booking.adapters.email_smtp import SmtpSender
from switchboard_booking.adapters.sms_gateways import NoSms, TwilioSms, WebhookSms
from switchboard_booking.domain.delivery import OutgoingMessage
from switchboard_booking.domain.notifications import Channel
from switchboard_booking.settings import BookingSettings


class Sender(Protocol):
    """A channel adapter: sends one message, returns the provider's id for it, or raises
    :class:`~switchboard_booking.domain.delivery.SendFailed` (temporary or permanent)."""

    async def send(self, message: OutgoingMessage) -> str: ...

    async def aclose(self) -> None: ...


Senders = Mapping[Channel, Sender]


def build_senders(settings: BookingSettings) -> dict[Channel, Sender]:
    """Email over SMTP, and SMS through the configured gateway."""
    sms: Sender
    if settings.sms_provider == "webhook":
        sms = WebhookSms(settings)
    elif settings.sms_provider == "twilio":
        sms = TwilioSms(settings)
    else:
        sms = NoSms()
    return {"email": SmtpSender(settings), "sms": sms}


async def close_senders(senders: Senders) -> None:
    """Close every channel's connections."""
    for sender in senders.values():
        await sender.aclose()
