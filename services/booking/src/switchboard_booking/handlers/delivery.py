"""Sending due notifications: claim, check, render, send, record.

Exactly once, across replicas and restarts:

* a worker claims due rows with ``FOR UPDATE SKIP LOCKED`` (no two workers take the same
  row) and moves them a lease ahead, in a transaction of its own that commits before any
  send; a worker killed after the claim leaves the row to be claimed again once the lease
  ends, and nothing was sent;
* each send carries the notification's idempotency key (per appointment version, kind,
  recipient and channel), so a worker killed after sending and before recording sends the
  same message again only to a provider that ignores the key (SMTP, Twilio: see their
  adapters);
* a reminder is checked against the appointment as it is now: moved or cancelled, it is
  skipped, not sent;
* a temporary failure is retried after the runtime's :class:`RetryPolicy` delay (a row's
  ``next_attempt_at``, not a sleep); a permanent one is recorded as failed with the reason.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from jinja2 import TemplateError

from switchboard_booking.adapters import notifications_repository as repo
from switchboard_booking.adapters import templates_repository
from switchboard_booking.adapters.channels import Senders
from switchboard_booking.adapters.notifications_repository import DueNotification
from switchboard_booking.domain.delivery import Outcome, OutgoingMessage, SendFailed, after_failure
from switchboard_booking.domain.notifications import stale_reminder
from switchboard_booking.domain.templates import Rendered, render, variables
from switchboard_booking.domain.unsubscribe import make_token
from switchboard_booking.handlers.shared import Deps
from switchboard_booking.settings import BookingSettings
from switchboard_runtime.logging import get_logger
from switchboard_runtime.retrying import RetryPolicy

log = get_logger(__name__)


def retry_policy(settings: BookingSettings) -> RetryPolicy:
    """The back-off between attempts at one notification (scheduled in its row)."""
    return RetryPolicy(
        first_delay=settings.notifications_retry_first_seconds,
        max_delay=settings.notifications_retry_max_seconds,
        jitter=0.2,
    )


def unsubscribe_url(settings: BookingSettings, client_id: str, email: str) -> str:
    """The link in an email that stops emails to that client at that address."""
    token = make_token(client_id, email, settings.auth_secret.get_secret_value())
    return f"{settings.public_url.rstrip('/')}/api/booking/unsubscribe/{token}"


async def deliver_due(deps: Deps, senders: Senders) -> int:
    """Claim the notifications due now (by ``deps.clock``) and send them concurrently;
    returns how many were claimed."""
    settings = deps.settings
    async with deps.sessions() as session, session.begin():
        due = await repo.claim_due(
            session,
            deps.clock(),
            limit=settings.notifications_batch_size,
            lease=timedelta(seconds=settings.notifications_lease_seconds),
        )
    await asyncio.gather(*(_deliver_one(deps, senders, n) for n in due))
    return len(due)


async def _reminder_obstacle(deps: Deps, n: DueNotification) -> str | None:
    async with deps.sessions() as session:
        appointment = await repo.appointment_now(session, n.appointment_id)
    return stale_reminder(
        planned_version=n.appointment_version,
        current_version=appointment.version,
        current_status=appointment.status,
        starts_at=appointment.starts_at,
        now=deps.clock(),
    )


async def _rendered(deps: Deps, n: DueNotification, link: str) -> Rendered:
    """The text to send: as rendered at the first attempt, so every retry sends the same."""
    if n.body is not None:
        return Rendered(n.subject or "", n.body)
    async with deps.sessions() as session:
        template = await templates_repository.template_for(
            session, n.clinic_id, n.kind, n.channel, n.language
        )
    rendered = render(template, variables(n.facts, n.language, link))
    if link and link not in rendered.body:
        # Every email carries the link, whatever the clinic's template says.
        footer = "Отписаться от писем" if n.language == "ru" else "Stop these emails"
        rendered = Rendered(rendered.subject, f"{rendered.body}\n\n{footer}: {link}")
    return rendered


async def _deliver_one(deps: Deps, senders: Senders, n: DueNotification) -> None:
    settings = deps.settings
    rendered: Rendered | None = None
    provider_id: str | None = None
    try:
        if n.kind == "reminder":
            obstacle = await _reminder_obstacle(deps, n)
            if obstacle is not None:
                await _record(deps, n, Outcome("skipped", obstacle))
                return
        link = unsubscribe_url(settings, n.client_id, n.address) if n.channel == "email" else ""
        try:
            rendered = await _rendered(deps, n, link)
        except TemplateError as exc:
            raise SendFailed(f"template error: {exc}", temporary=False) from exc
        message = OutgoingMessage(
            channel=n.channel,  # type: ignore[arg-type]
            to=n.address,
            subject=rendered.subject,
            body=rendered.body,
            idempotency_key=n.idempotency_key,
            unsubscribe_url=link,
        )
        # Well inside the lease: no other worker may take the row while this send runs.
        async with asyncio.timeout(settings.notifications_lease_seconds / 2):
            provider_id = await senders[n.channel].send(message)  # type: ignore[index]
        outcome = Outcome("sent", None)
    except SendFailed as exc:
        outcome = _failed(deps, n, exc)
    except TimeoutError:
        outcome = _failed(deps, n, SendFailed("the send timed out", temporary=True))
    await _record(deps, n, outcome, rendered=rendered, provider_id=provider_id)
    log.info(
        "notification.attempted",
        notification_id=n.notification_id,
        kind=n.kind,
        channel=n.channel,
        status=outcome.status,
        attempt=n.attempts,
        reason=outcome.reason,
    )


def _failed(deps: Deps, n: DueNotification, error: SendFailed) -> Outcome:
    settings = deps.settings
    return after_failure(
        error,
        attempts=n.attempts,
        max_attempts=settings.notifications_max_attempts,
        retry_in_seconds=retry_policy(settings).delay(n.attempts),
        now=deps.clock(),
    )


async def _record(
    deps: Deps,
    n: DueNotification,
    outcome: Outcome,
    *,
    rendered: Rendered | None = None,
    provider_id: str | None = None,
) -> None:
    async with deps.sessions() as session, session.begin():
        await repo.record(
            session,
            n.notification_id,
            status=outcome.status,
            reason=outcome.reason,
            now=deps.clock(),
            next_attempt_at=outcome.next_attempt_at,
            subject=rendered.subject if rendered else None,
            body=rendered.body if rendered else None,
            provider_message_id=provider_id,
        )
