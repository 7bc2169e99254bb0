"""Sending one notification: the message handed to a channel, how a channel says it failed,
and what a failure means for the notification (retry later, or give up with the reason).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from switchboard_booking.domain.notifications import Channel


@dataclass(frozen=True)
class OutgoingMessage:
    """What a channel sends: to one address, with the notification's idempotency key."""

    channel: Channel
    to: str
    subject: str
    body: str
    idempotency_key: str
    #: Email only: where the client stops emails (also sent as List-Unsubscribe).
    unsubscribe_url: str = ""


class SendFailed(Exception):
    """A channel could not send. ``temporary``: worth another try later (the server is
    down, busy or timed out); otherwise it will never work (an address refused, a
    message the provider rejects). ``reason`` names what happened, never a secret."""

    def __init__(self, reason: str, *, temporary: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.temporary = temporary


@dataclass(frozen=True)
class Outcome:
    """What becomes of a notification after an attempt."""

    status: Literal["sent", "queued", "failed", "skipped"]
    reason: str | None
    next_attempt_at: datetime | None = None


def after_failure(
    error: SendFailed,
    *,
    attempts: int,
    max_attempts: int,
    retry_in_seconds: float,
    now: datetime,
) -> Outcome:
    """A temporary failure is tried again after ``retry_in_seconds`` until ``max_attempts``
    attempts were made; a permanent one fails at once. The reason is kept either way."""
    if not error.temporary:
        return Outcome("failed", error.reason)
    if attempts >= max_attempts:
        return Outcome("failed", f"gave up after {attempts} attempts: {error.reason}")
    return Outcome(
        "queued",
        f"attempt {attempts} failed, retrying: {error.reason}",
        now + timedelta(seconds=retry_in_seconds),
    )
