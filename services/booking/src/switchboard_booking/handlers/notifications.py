"""Planning notifications from booking's own appointment events.

Booking publishes ``AppointmentBooked`` / ``Rescheduled`` / ``Cancelled`` through its outbox;
this subscription (consumer group ``booking.notifications``) reads them back and writes the
notification rows: the confirmation to send now and the reminder due before the visit, one
per recipient and channel, each with its idempotency key. The runtime records each
``event_id`` in the same transaction, and the keys are unique, so an event read twice
plans nothing twice. The delivery worker (``handlers.delivery``) sends what is due.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from switchboard_booking.adapters import notifications_repository as repo
from switchboard_booking.adapters.notifications_repository import AppointmentNow
from switchboard_booking.domain.errors import NotFound
from switchboard_booking.domain.notifications import (
    CANCELLED,
    MOVED,
    MessageFacts,
    NotificationKind,
    PlannedNotification,
    Recipient,
    plan,
    reminder_time,
    reminder_too_late,
)
from switchboard_booking.handlers.shared import Deps
from switchboard_contracts import (
    AppointmentBooked,
    AppointmentCancelled,
    AppointmentRescheduled,
    Envelope,
)
from switchboard_runtime.logging import get_logger
from switchboard_runtime.messaging import Subscription, after_commit

log = get_logger(__name__)


def _reminders(
    appointment: AppointmentNow,
    version: int,
    facts: MessageFacts,
    people: list[Recipient],
    starts_at: datetime,
    planned_at: datetime,
) -> list[PlannedNotification]:
    """The reminders of this version, if it is still the appointment's current one (a later
    change plans its own) and the clinic sends reminders."""
    if appointment.version != version or appointment.status != "booked":
        return []
    hours = appointment.reminder_hours_before
    due = reminder_time(starts_at, hours)
    if due is None:
        return []
    too_late = reminder_too_late(due, planned_at, hours)
    return plan(
        kind="reminder",
        appointment_id=appointment.appointment_id,
        version=version,
        facts=facts,
        recipients=people,
        due_at=planned_at if too_late else due,
        skip_reason=too_late,
    )


async def _tell(
    session: AsyncSession,
    deps: Deps,
    envelope: Envelope[Any],
    kind: NotificationKind,
    appointment: AppointmentNow,
    version: int,
    facts: MessageFacts,
    people: list[Recipient],
    *,
    remind_for: datetime | None = None,
) -> None:
    """Plan the ``kind`` message to each of ``people`` (and, given the visit's start, its
    reminders) and write them; the delivery worker is woken after the commit when one is
    due now."""
    planned = plan(
        kind=kind,
        appointment_id=appointment.appointment_id,
        version=version,
        facts=facts,
        recipients=people,
        due_at=envelope.occurred_at,
    )
    if remind_for is not None:
        planned += _reminders(appointment, version, facts, people, remind_for, envelope.occurred_at)
    now = deps.clock()
    await repo.insert_planned(session, planned, now)
    # The worker is woken only for something to send now: skipped rows and reminders due
    # later would cost it a claim query per event for nothing (its poll finds them).
    if any(p.skip_reason is None and p.due_at <= now for p in planned):
        after_commit(session, deps.wake_delivery)


async def on_booked(
    session: AsyncSession, envelope: Envelope[AppointmentBooked], deps: Deps
) -> None:
    """The confirmation to the client and every attendee, and the reminder."""
    event = envelope.payload
    found = await _appointment(
        session,
        event.appointment_id,
        practitioner_id=event.practitioner_id,
        starts_at=event.starts_at,
        ends_at=event.ends_at,
        recipient_ids=[event.client_id, *event.attendee_client_ids],
    )
    if found is None:
        return
    appointment, facts, reachable = found
    await _tell(
        session,
        deps,
        envelope,
        "booked",
        appointment,
        event.version or 1,
        facts,
        repo.in_order(reachable, [event.client_id, *event.attendee_client_ids]),
        remind_for=event.starts_at,
    )


async def on_rescheduled(
    session: AsyncSession, envelope: Envelope[AppointmentRescheduled], deps: Deps
) -> None:
    """The new time (and the old one) to everyone; the old reminder dropped, a new one
    planned."""
    event = envelope.payload
    found = await _appointment(
        session,
        event.appointment_id,
        practitioner_id=event.practitioner_id,
        starts_at=event.starts_at,
        ends_at=event.ends_at,
        previous_starts_at=event.previous_starts_at,
    )
    if found is None:
        return
    appointment, facts, reachable = found
    version = event.version or appointment.version
    await repo.skip_queued_reminders(
        session, event.appointment_id, below_version=version, reason=MOVED, now=deps.clock()
    )
    await _tell(
        session,
        deps,
        envelope,
        "rescheduled",
        appointment,
        version,
        facts,
        repo.in_order(reachable, [appointment.client_id, *appointment.attendee_client_ids]),
        remind_for=event.starts_at,
    )


async def on_cancelled(
    session: AsyncSession, envelope: Envelope[AppointmentCancelled], deps: Deps
) -> None:
    """The cancellation (with the reason's label) to everyone; queued reminders dropped."""
    event = envelope.payload
    found = await _appointment(
        session,
        event.appointment_id,
        practitioner_id=None,
        starts_at=None,
        ends_at=None,
        cancellation_reason=event.reason,
    )
    if found is None:
        return
    appointment, facts, reachable = found
    version = event.version or appointment.version
    await repo.skip_queued_reminders(
        session, event.appointment_id, below_version=version, reason=CANCELLED, now=deps.clock()
    )
    await _tell(
        session,
        deps,
        envelope,
        "cancelled",
        appointment,
        version,
        facts,
        repo.in_order(reachable, [appointment.client_id, *appointment.attendee_client_ids]),
    )


async def _appointment(
    session: AsyncSession, appointment_id: str, **version: Any
) -> tuple[AppointmentNow, MessageFacts, dict[str, Recipient]] | None:
    """The appointment as it stands now, the facts of the event's ``version`` of it and
    its recipients (:func:`..notifications_repository.appointment_and_facts`); ``None``
    (nothing to tell anyone) when booking does not know it: an event about another
    deployment's appointment, or one read from a topic whose database was reset."""
    try:
        return await repo.appointment_and_facts(session, appointment_id, **version)
    except NotFound:
        log.info("notification.unknown_appointment", appointment_id=appointment_id)
        return None


SUBSCRIPTION: Subscription[Deps] = Subscription(
    group="booking.notifications",
    handlers={
        AppointmentBooked: on_booked,
        AppointmentRescheduled: on_rescheduled,
        AppointmentCancelled: on_cancelled,
    },
)
