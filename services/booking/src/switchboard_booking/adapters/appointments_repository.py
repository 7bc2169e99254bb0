"""Loading and saving appointments and the slots they hold."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import replace
from functools import partial
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard_booking.adapters import appointments_queries
from switchboard_booking.adapters.appointments_queries import AppointmentRow
from switchboard_booking.adapters.prepared import Prepared
from switchboard_booking.adapters.tables import (
    NO_OVERLAP_CONSTRAINT,
    appointment_attendees,
    appointments,
    call_centers,
    cancellation_reasons,
)
from switchboard_booking.domain.availability import Interval
from switchboard_booking.domain.errors import NotFound
from switchboard_booking.domain.model import Actor, Appointment
from switchboard_contracts import Envelope
from switchboard_runtime.messaging import outbox_row, session_settings
from switchboard_runtime.outbox import OUTBOX

# --- slots -----------------------------------------------------------------------------------


async def busy_intervals(
    session: AsyncSession, practitioner_ids: Iterable[str], window: Interval
) -> dict[str, tuple[Interval, ...]]:
    """Booked appointments (at any clinic) of the practitioners overlapping ``window``."""
    ids = list(practitioner_ids)
    out: dict[str, list[Interval]] = {pid: [] for pid in ids}
    if ids:
        a = appointments.c
        for row in (
            await session.execute(
                sa.select(a.practitioner_id, a.starts_at, a.ends_at).where(
                    a.practitioner_id.in_(ids),
                    a.status == "booked",
                    a.starts_at < window.ends_at,
                    a.ends_at > window.starts_at,
                )
            )
        ).all():
            out[row.practitioner_id].append(Interval(row.starts_at, row.ends_at))
    return {pid: tuple(v) for pid, v in out.items()}


async def holder_of(
    session: AsyncSession, practitioner_id: str, when: Interval
) -> tuple[str | None, str | None]:
    """The call center holding a booked appointment of the practitioner overlapping ``when``."""
    a = appointments.c
    row = (
        await session.execute(
            sa.select(a.call_center_id, call_centers.c.name)
            .select_from(
                appointments.outerjoin(
                    call_centers, call_centers.c.call_center_id == a.call_center_id
                )
            )
            .where(
                a.practitioner_id == practitioner_id,
                a.status == "booked",
                a.starts_at < when.ends_at,
                a.ends_at > when.starts_at,
            )
            .limit(1)
        )
    ).first()
    return (row[0], row[1]) if row else (None, None)


# --- appointments ----------------------------------------------------------------------------


def _appointment(row: Any, attendee_ids: Sequence[str]) -> Appointment:
    return Appointment(
        appointment_id=row.appointment_id,
        client_id=row.client_id,
        clinic_id=row.clinic_id,
        practitioner_id=row.practitioner_id,
        service_id=row.service_id,
        meeting_method=row.meeting_method,
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        status=row.status,
        version=row.version,
        call_center_id=row.call_center_id,
        operator_id=row.operator_id,
        attendee_client_ids=tuple(attendee_ids),
        attendee_notes=row.attendee_notes,
        private_notes=row.private_notes,
        answers=dict(row.answers),
        call_id=row.call_id,
        touch_id=row.touch_id,
        cancellation_reason_id=row.cancellation_reason_id,
        cancellation_note=row.cancellation_note,
        cancelled_at=row.cancelled_at,
    )


async def load_appointment(
    session: AsyncSession, appointment_id: str, *, for_update: bool = False
) -> Appointment:
    """The appointment (row-locked with ``for_update``), or :class:`NotFound`."""
    query = sa.select(appointments).where(appointments.c.appointment_id == appointment_id)
    if for_update:
        query = query.with_for_update()
    row = (await session.execute(query)).first()
    if row is None:
        raise NotFound(f"no appointment {appointment_id!r}")
    attendees = (
        (
            await session.execute(
                sa.select(appointment_attendees.c.client_id)
                .where(appointment_attendees.c.appointment_id == appointment_id)
                .order_by(appointment_attendees.c.client_id)
            )
        )
        .scalars()
        .all()
    )
    return _appointment(row, attendees)


# The columns an appointment writes, each its field of the same name.
_VALUE_COLUMNS = (
    "client_id",
    "clinic_id",
    "practitioner_id",
    "service_id",
    "meeting_method",
    "starts_at",
    "ends_at",
    "status",
    "version",
    "attendee_notes",
    "private_notes",
    "answers",
    "call_center_id",
    "operator_id",
    "call_id",
    "touch_id",
    "cancellation_reason_id",
    "cancellation_note",
    "cancelled_at",
)


def _appointment_values(appointment: Appointment) -> dict[str, Any]:
    values = {name: getattr(appointment, name) for name in _VALUE_COLUMNS}
    values["answers"] = dict(appointment.answers)
    return values


def _is_overlap(exc: IntegrityError) -> bool:
    return getattr(exc.orig, "sqlstate", None) == "23P01" or NO_OVERLAP_CONSTRAINT in str(exc.orig)


async def _without_overlap(session: AsyncSession, write: Callable[[], Awaitable[None]]) -> bool:
    """Run ``write`` in a savepoint; ``False`` when the no-double-booking constraint refused
    it (the transaction stays usable, so the caller can look up who holds the slot)."""
    try:
        async with session.begin_nested():
            await write()
    except IntegrityError as exc:
        if _is_overlap(exc):
            return False
        raise
    return True


# Built once (see directory_facts). One statement writes a booking whole and reads it
# back as the operator sees it (names joined on): the appointment (ON CONFLICT: see
# insert_appointment), its attendees and its event's outbox row, the last two only if
# the appointment was written. One statement is atomic without a transaction around it,
# so a booking that registers nobody needs no BEGIN and no COMMIT: one round trip to
# PostgreSQL, not four.
_INSERTED = (
    pg_insert(appointments)
    .values({name: sa.bindparam(name) for name in ("appointment_id", *_VALUE_COLUMNS)})
    .on_conflict_do_nothing(constraint=NO_OVERLAP_CONSTRAINT)
    .returning(*appointments.c)
    .cte("inserted")
)
_ATTENDED = (
    sa.insert(appointment_attendees)
    .from_select(
        ["appointment_id", "client_id"],
        sa.select(
            _INSERTED.c.appointment_id,
            sa.func.unnest(sa.bindparam("attendee_ids", type_=postgresql.ARRAY(sa.Text))),
        ),
    )
    .cte("attended")
)
_STAGED = (
    sa.insert(OUTBOX)
    .from_select(
        ["event_id", "topic", "key", "value"],
        sa.select(
            sa.bindparam("event_id", type_=sa.Uuid),
            sa.bindparam("topic", type_=sa.Text),
            sa.bindparam("key", type_=sa.Text),
            sa.bindparam("value", type_=sa.LargeBinary),
        ).select_from(_INSERTED),
    )
    .cte("staged")
)
_INSERT_AND_VIEW = Prepared.of(
    appointments_queries.written_view(_INSERTED).add_cte(_ATTENDED, _STAGED)
)


async def insert_appointment(
    session: AsyncSession, appointment: Appointment, actor: Actor, booked: Envelope[Any]
) -> AppointmentRow | None:
    """Insert a new appointment, its attendees and ``booked`` (its event, staged in the
    outbox as the runtime's ``publish`` stages it) in one statement; returns the
    appointment as ``actor`` sees it, or ``None`` (nothing written, nothing staged) when
    the practitioner is already booked at that time. The caller wakes the relay once the
    session commits.

    The clients are not locked beforehand: the foreign keys share-lock what they name
    until this write commits, so a merge deleting a client either waits for the booking
    (and moves it) or has deleted the client already, and the write is refused
    (``IntegrityError``, SQLSTATE 23503)."""
    # ON CONFLICT naming the no-overlap constraint: PostgreSQL checks it exactly as for a
    # plain INSERT (waiting on a concurrent insert of the same slot, then deciding), but
    # answers "no row" instead of an error, so no savepoint (two round trips) is needed.
    rows = await appointments_queries.view_rows(
        session,
        _INSERT_AND_VIEW,
        actor,
        {
            "appointment_id": appointment.appointment_id,
            **_appointment_values(appointment),
            "attendee_ids": list(appointment.attendee_client_ids),
            **outbox_row(session_settings(session), booked),
        },
    )
    if not rows:
        return None
    # Written by the statement that read the view: listed as the view lists them.
    return replace(rows[0], attendee_client_ids=sorted(appointment.attendee_client_ids))


async def _update(session: AsyncSession, appointment: Appointment) -> None:
    await session.execute(
        sa.update(appointments)
        .where(appointments.c.appointment_id == appointment.appointment_id)
        .values(**_appointment_values(appointment), updated_at=sa.func.now())
    )


async def update_appointment(session: AsyncSession, appointment: Appointment) -> None:
    """Write an appointment's new state (one that holds no new time: a cancellation)."""
    await _update(session, appointment)


async def move_appointment(session: AsyncSession, appointment: Appointment) -> bool:
    """Write an appointment's new time and practitioner; ``False`` (nothing written) when
    that would double-book the practitioner."""
    return await _without_overlap(session, partial(_update, session, appointment))


# --- cancellation reasons --------------------------------------------------------------------


async def active_reason_ids(session: AsyncSession) -> frozenset[str]:
    """The cancellation reasons operators may choose."""
    return frozenset(
        (
            await session.execute(
                sa.select(cancellation_reasons.c.reason_id).where(cancellation_reasons.c.active)
            )
        )
        .scalars()
        .all()
    )


async def reason_label(session: AsyncSession, reason_id: str | None) -> str | None:
    """The label of a cancellation reason."""
    if reason_id is None:
        return None
    return await session.scalar(
        sa.select(cancellation_reasons.c.label).where(cancellation_reasons.c.reason_id == reason_id)
    )
