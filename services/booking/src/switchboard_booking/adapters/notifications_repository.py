"""Notification rows: planning them, claiming the due ones, recording what happened; the
facts and recipients they are written from.

Claims are ``FOR UPDATE SKIP LOCKED``, so any number of workers (every booking replica)
share the queue without taking the same row; a claim moves the row's ``next_attempt_at``
a lease ahead, so a worker that dies mid-send leaves it to another once the lease ends.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import JSONB, aggregate_order_by
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard_booking.adapters.ids import new_id
from switchboard_booking.adapters.prepared import Prepared
from switchboard_booking.adapters.tables import (
    appointment_attendees,
    appointments,
    clients,
    clinics,
    notifications,
    practitioners,
    services,
)
from switchboard_booking.domain.errors import NotFound
from switchboard_booking.domain.notifications import (
    Language,
    MessageFacts,
    PlannedNotification,
    Recipient,
)

# --- what notifications are written from ---------------------------------------------------


def in_order(reachable: Mapping[str, Recipient], client_ids: Sequence[str]) -> list[Recipient]:
    """How to reach each of the clients (in the given order, without repeats) among
    those :func:`appointment_and_facts` found."""
    return [reachable[cid] for cid in dict.fromkeys(client_ids) if cid in reachable]


@dataclass(frozen=True)
class AppointmentNow:
    """An appointment as it is in the database, with what planning needs of its clinic."""

    appointment_id: str
    client_id: str
    clinic_id: str
    attendee_client_ids: tuple[str, ...]
    status: str
    version: int
    starts_at: datetime
    reminder_hours_before: int


def _appointment_now_query() -> sa.Select[Any]:
    a = appointments.c
    attendee = appointment_attendees.c
    return (
        sa.select(
            a.appointment_id,
            a.client_id,
            a.clinic_id,
            a.status,
            a.version,
            a.starts_at,
            clinics.c.reminder_hours_before,
            # The attendees in the same statement (a correlated array).
            sa.select(sa.func.array_agg(aggregate_order_by(attendee.client_id, attendee.client_id)))
            .where(attendee.appointment_id == a.appointment_id)
            .scalar_subquery()
            .label("attendee_client_ids"),
        )
        .join(clinics, clinics.c.clinic_id == a.clinic_id)
        .where(a.appointment_id == sa.bindparam("appointment_id"))
    )


_APPOINTMENT_NOW = _appointment_now_query()


async def appointment_now(session: AsyncSession, appointment_id: str) -> AppointmentNow:
    """The appointment's current state, or :class:`NotFound`."""
    row = (await session.execute(_APPOINTMENT_NOW, {"appointment_id": appointment_id})).first()
    if row is None:
        raise NotFound(f"no appointment {appointment_id!r}")
    return _appointment_of(row)


def _appointment_of(row: Any) -> AppointmentNow:
    return AppointmentNow(
        row.appointment_id,
        row.client_id,
        row.clinic_id,
        tuple(row.attendee_client_ids or ()),
        row.status,
        row.version,
        row.starts_at,
        row.reminder_hours_before,
    )


def _reachable_query() -> sa.ColumnElement[Any]:
    # The clients the event names and the appointment's own, as an array of records
    # (correlated to the appointment read beside it).
    a, c = appointments.c, clients.alias("reachable").c
    attendees = (
        sa.select(appointment_attendees.c.client_id)
        .where(appointment_attendees.c.appointment_id == a.appointment_id)
        .correlate(appointments)
    )
    named = sa.bindparam("recipient_ids", type_=postgresql.ARRAY(sa.Text))
    return sa.func.array(
        sa.select(
            sa.func.row(
                c.client_id,
                c.first_name,
                c.last_name,
                c.email,
                c.mobile,
                c.sms_consent,
                c.email_consent,
                c.language,
            )
        )
        # One array of ids, so that the clients are read by their primary key.
        .where(
            c.client_id
            == sa.any_(
                sa.func.array_cat(
                    sa.func.array_append(named, a.client_id),
                    sa.func.array(attendees.scalar_subquery()),
                    type_=postgresql.ARRAY(sa.Text),
                )
            )
        )
        .scalar_subquery()
    )


def _appointment_and_facts_query() -> sa.Select[Any]:
    # The appointment as it stands and the names its messages need, in one statement:
    # every appointment event reads both.
    a = appointments.c
    client = clients.alias("client")
    practitioner = practitioners.alias("practitioner")
    return (
        _appointment_now_query()
        .add_columns(
            (client.c.first_name + " " + client.c.last_name).label("client_name"),
            clinics.c.name.label("clinic_name"),
            clinics.c.address,
            clinics.c.time_zone,
            practitioner.c.name.label("practitioner_name"),
            services.c.name.label("service_name"),
            a.meeting_method,
            a.ends_at,
            a.attendee_notes,
        )
        .add_columns(_reachable_query().label("reachable"))
        .join(client, client.c.client_id == a.client_id)
        .join(services, services.c.service_id == a.service_id)
        .join(
            practitioner,
            practitioner.c.practitioner_id
            == sa.func.coalesce(sa.bindparam("practitioner_id", type_=sa.Text), a.practitioner_id),
        )
    )


# Compiled once (adapters.prepared): every appointment event runs it.
_APPOINTMENT_AND_FACTS = Prepared.of(_appointment_and_facts_query())


async def appointment_and_facts(
    session: AsyncSession,
    appointment_id: str,
    *,
    practitioner_id: str | None,
    starts_at: datetime | None,
    ends_at: datetime | None,
    previous_starts_at: datetime | None = None,
    cancellation_reason: str | None = None,
    recipient_ids: Sequence[str] = (),
) -> tuple[AppointmentNow, MessageFacts, dict[str, Recipient]]:
    """The appointment's current state, the facts of one version of it (times and
    practitioner as the event says: the appointment may have changed since; names and
    attendee notes from the tables; private notes and answers are not read) and how to
    reach the clients of ``recipient_ids`` and the appointment's own (pick them with
    :func:`in_order`); or :class:`NotFound`."""
    params = {
        "appointment_id": appointment_id,
        "practitioner_id": practitioner_id,
        "recipient_ids": list(recipient_ids),
    }
    rows = await _APPOINTMENT_AND_FACTS.rows(session, params)
    if not rows:
        raise NotFound(f"no appointment {appointment_id!r}")
    row = rows[0]
    facts = MessageFacts(
        recipient_name=row.client_name,
        client_name=row.client_name,
        clinic_name=row.clinic_name,
        clinic_address=row.address,
        time_zone=row.time_zone,
        practitioner_name=row.practitioner_name,
        service_name=row.service_name,
        meeting_method=row.meeting_method,
        starts_at=(starts_at or row.starts_at).isoformat(),
        ends_at=(ends_at or row.ends_at).isoformat(),
        previous_starts_at=previous_starts_at.isoformat() if previous_starts_at else None,
        cancellation_reason=cancellation_reason,
        attendee_notes=row.attendee_notes,
    )
    reachable = {
        r[0]: Recipient(
            client_id=r[0],
            display_name=f"{r[1]} {r[2]}",
            email=r[3],
            mobile=r[4],
            sms_consent=r[5],
            email_consent=r[6],
            language=r[7],
        )
        for r in row.reachable
    }
    return _appointment_of(row), facts, reachable


# --- planning --------------------------------------------------------------------------------


# Built and compiled once (adapters.prepared), the rows given as one array per column (as
# the runtime stages outbox rows): one statement and one round trip for any number of
# rows. A statement built with the rows as its VALUES is compiled anew for each event
# (SQLAlchemy cannot cache it), and an executemany sends a statement per row.
# Each column given, with its array's element type (the content as text, cast to JSONB);
# each is also the name of the parameter carrying its array.
_PLANNED_COLUMNS: tuple[tuple[str, sa.types.TypeEngine[Any]], ...] = (
    ("notification_id", sa.Text()),
    ("appointment_id", sa.Text()),
    ("appointment_version", sa.Integer()),
    ("client_id", sa.Text()),
    ("kind", sa.Text()),
    ("channel", sa.Text()),
    ("address", sa.Text()),
    ("language", sa.Text()),
    ("content", sa.Text()),
    ("status", sa.Text()),
    ("status_reason", sa.Text()),
    ("idempotency_key", sa.Text()),
    ("due_at", sa.DateTime(timezone=True)),
)
_PLANNED = (
    sa.func.unnest(
        *(sa.bindparam(name, type_=postgresql.ARRAY(item)) for name, item in _PLANNED_COLUMNS)
    )
    .table_valued(*(name for name, _ in _PLANNED_COLUMNS))
    .render_derived(name="planned")
)
_PLANNED_AT = sa.bindparam("now", type_=sa.DateTime(timezone=True))
_INSERT_PLANNED = Prepared.of(
    pg_insert(notifications)
    .from_select(
        [*_PLANNED.c.keys(), "next_attempt_at", "created_at", "updated_at"],
        sa.select(
            *(sa.cast(c, JSONB).label(c.key) if c.key == "content" else c for c in _PLANNED.c),
            _PLANNED.c.due_at.label("next_attempt_at"),
            _PLANNED_AT.label("created_at"),
            _PLANNED_AT.label("updated_at"),
        ),
    )
    .on_conflict_do_nothing(index_elements=["idempotency_key"])
)


async def insert_planned(
    session: AsyncSession, planned: Sequence[PlannedNotification], now: datetime
) -> None:
    """Write planned notifications; one whose idempotency key exists is left as it is (an
    event handled twice plans nothing new)."""
    if not planned:
        return
    await _INSERT_PLANNED.run(
        session,
        {
            "notification_id": [new_id() for _ in planned],
            "appointment_id": [p.appointment_id for p in planned],
            "appointment_version": [p.appointment_version for p in planned],
            "client_id": [p.client_id for p in planned],
            "kind": [p.kind for p in planned],
            "channel": [p.channel for p in planned],
            "address": [p.address for p in planned],
            "language": [p.language for p in planned],
            "content": [json.dumps(p.facts.as_json()) for p in planned],
            "status": ["skipped" if p.skip_reason else "queued" for p in planned],
            "status_reason": [p.skip_reason for p in planned],
            "idempotency_key": [p.idempotency_key for p in planned],
            "due_at": [p.due_at for p in planned],
            "now": now,
        },
    )


async def skip_queued_reminders(
    session: AsyncSession, appointment_id: str, *, below_version: int, reason: str, now: datetime
) -> None:
    """Drop the queued reminders planned for versions before ``below_version``."""
    n = notifications.c
    await session.execute(
        sa.update(notifications)
        .where(
            n.appointment_id == appointment_id,
            n.kind == "reminder",
            n.status == "queued",
            n.appointment_version < below_version,
        )
        .values(status="skipped", status_reason=reason, updated_at=now)
    )


# --- delivery --------------------------------------------------------------------------------


@dataclass(frozen=True)
class DueNotification:
    """A claimed notification and what sending it needs."""

    notification_id: str
    appointment_id: str
    appointment_version: int
    clinic_id: str
    client_id: str
    kind: str
    channel: str
    address: str
    language: Language
    facts: MessageFacts
    subject: str | None
    body: str | None
    idempotency_key: str
    attempts: int


async def claim_due(
    session: AsyncSession, now: datetime, *, limit: int, lease: timedelta
) -> list[DueNotification]:
    """Take up to ``limit`` queued notifications due at ``now``; each counts an attempt and
    is held for ``lease`` (another worker takes it only if this one never reports back)."""
    n = notifications.c
    rows = (
        await session.execute(
            sa.select(notifications, appointments.c.clinic_id)
            .join(appointments, appointments.c.appointment_id == n.appointment_id)
            .where(n.status == "queued", n.next_attempt_at <= now)
            .order_by(n.next_attempt_at)
            .limit(limit)
            .with_for_update(of=notifications, skip_locked=True)
        )
    ).all()
    if rows:
        await session.execute(
            sa.update(notifications)
            .where(n.notification_id.in_([r.notification_id for r in rows]))
            .values(next_attempt_at=now + lease, attempts=n.attempts + 1, updated_at=now)
        )
    return [
        DueNotification(
            notification_id=r.notification_id,
            appointment_id=r.appointment_id,
            appointment_version=r.appointment_version,
            clinic_id=r.clinic_id,
            client_id=r.client_id,
            kind=r.kind,
            channel=r.channel,
            address=r.address or "",
            language=r.language,
            facts=MessageFacts.from_json(dict(r.content)),
            subject=r.subject,
            body=r.body,
            idempotency_key=r.idempotency_key,
            attempts=r.attempts + 1,
        )
        for r in rows
    ]


async def record(
    session: AsyncSession,
    notification_id: str,
    *,
    status: str,
    reason: str | None,
    now: datetime,
    next_attempt_at: datetime | None = None,
    subject: str | None = None,
    body: str | None = None,
    provider_message_id: str | None = None,
) -> None:
    """Record an attempt's outcome (and the text that was sent, once rendered)."""
    values: dict[str, Any] = {"status": status, "status_reason": reason, "updated_at": now}
    if next_attempt_at is not None:
        values["next_attempt_at"] = next_attempt_at
    if subject is not None:
        values["subject"] = subject
    if body is not None:
        values["body"] = body
    if status == "sent":
        values["sent_at"] = now
        values["provider_message_id"] = provider_message_id
    await session.execute(
        sa.update(notifications)
        .where(notifications.c.notification_id == notification_id)
        .values(**values)
    )
