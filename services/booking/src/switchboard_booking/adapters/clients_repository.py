"""Loading, saving and merging clients (the write side)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard_booking.adapters.tables import (
    appointment_attendees,
    appointments,
    client_phones,
    clients,
    notifications,
)
from switchboard_booking.domain.clients import ClientProfile
from switchboard_booking.domain.errors import NotFound


async def load_client(
    session: AsyncSession, client_id: str, *, for_update: bool = False
) -> ClientProfile:
    """The client's profile (row-locked with ``for_update``), or :class:`NotFound`."""
    query = sa.select(clients).where(clients.c.client_id == client_id)
    if for_update:
        query = query.with_for_update()
    row = (await session.execute(query)).first()
    if row is None:
        raise NotFound(f"no client {client_id!r}")
    phones = (
        (
            await session.execute(
                sa.select(client_phones.c.phone)
                .where(client_phones.c.client_id == client_id)
                .order_by(client_phones.c.phone)
            )
        )
        .scalars()
        .all()
    )
    return ClientProfile(
        row.first_name,
        row.last_name,
        row.email,
        row.mobile,
        row.sms_consent,
        row.date_of_birth,
        tuple(phones),
        row.language,
        row.email_consent,
    )


def _clients_found(ids: str) -> sa.Select[Any]:
    # Built once, with an array (an expanding IN is rewritten at every execution): every
    # booking runs it (see directory_facts). Not locked: the write that names the clients
    # is refused if a merge removed one since (the foreign keys; see
    # appointments_repository.insert_appointment).
    return sa.select(clients.c.client_id).where(
        clients.c.client_id == sa.any_(sa.bindparam(ids, type_=postgresql.ARRAY(sa.Text)))
    )


_CLIENTS_FOUND = _clients_found("ids")

#: :func:`ensure_clients_exist`'s query as one column of a larger statement (the array of
#: the ids of the parameter ``client_ids`` found); check with :func:`ensure_found`.
CLIENT_IDS_FOUND: sa.ColumnElement[Any] = sa.func.array(
    _clients_found("client_ids").scalar_subquery()
)


async def ensure_clients_exist(session: AsyncSession, client_ids: Iterable[str]) -> None:
    """:class:`NotFound` naming the first unknown client id."""
    ids = list(dict.fromkeys(client_ids))
    ensure_found(ids, (await session.execute(_CLIENTS_FOUND, {"ids": ids})).scalars().all())


def ensure_found(client_ids: Iterable[str], found: Iterable[str]) -> None:
    """:class:`NotFound` naming the first of ``client_ids`` not in ``found``."""
    present = set(found)
    missing = [cid for cid in client_ids if cid not in present]
    if missing:
        raise NotFound(f"no client {missing[0]!r}")


async def save_client(
    session: AsyncSession, client_id: str, profile: ClientProfile, *, new: bool
) -> None:
    """Insert or overwrite a client and replace their extra phones."""
    values = {
        "first_name": profile.first_name,
        "last_name": profile.last_name,
        "email": profile.email,
        "mobile": profile.mobile,
        "sms_consent": profile.sms_consent,
        "date_of_birth": profile.date_of_birth,
        "language": profile.language,
        "email_consent": profile.email_consent,
    }
    if new:
        await session.execute(sa.insert(clients).values(client_id=client_id, **values))
    else:
        await session.execute(
            sa.update(clients)
            .where(clients.c.client_id == client_id)
            .values(**values, updated_at=sa.func.now())
        )
        await session.execute(
            sa.delete(client_phones).where(client_phones.c.client_id == client_id)
        )
    if profile.phones:
        await session.execute(
            pg_insert(client_phones).on_conflict_do_nothing(),
            [{"client_id": client_id, "phone": p} for p in profile.phones],
        )


async def records_to_move(session: AsyncSession, client_id: str) -> tuple[int, int]:
    """How many appointments the client has, and how many they attend as an attendee:
    what a merge of this client into another would move."""
    moving = await session.scalar(
        sa.select(sa.func.count())
        .select_from(appointments)
        .where(appointments.c.client_id == client_id)
    )
    attending = await session.scalar(
        sa.select(sa.func.count())
        .select_from(appointment_attendees)
        .where(appointment_attendees.c.client_id == client_id)
    )
    return int(moving or 0), int(attending or 0)


async def move_client_records(session: AsyncSession, duplicate_id: str, primary_id: str) -> int:
    """Re-point the duplicate's appointments, attendances and notifications to the
    primary, then delete the duplicate. Returns how many appointments moved."""
    result = await session.execute(
        sa.update(appointments)
        .where(appointments.c.client_id == duplicate_id)
        .values(client_id=primary_id, updated_at=sa.func.now())
    )
    moved: int = getattr(result, "rowcount", 0)
    att = appointment_attendees.c
    other = appointment_attendees.alias("other")
    # Where the primary already attends (or is the client of) the same appointment, the
    # duplicate's attendance simply goes away instead of becoming a second copy.
    already = sa.or_(
        sa.exists().where(
            other.c.appointment_id == att.appointment_id, other.c.client_id == primary_id
        ),
        sa.exists().where(
            appointments.c.appointment_id == att.appointment_id,
            appointments.c.client_id == primary_id,
        ),
    )
    await session.execute(
        sa.delete(appointment_attendees).where(att.client_id == duplicate_id, already)
    )
    await session.execute(
        sa.update(appointment_attendees)
        .where(att.client_id == duplicate_id)
        .values(client_id=primary_id)
    )
    await session.execute(
        sa.update(notifications)
        .where(notifications.c.client_id == duplicate_id)
        .values(client_id=primary_id)
    )
    await session.execute(sa.delete(clients).where(clients.c.client_id == duplicate_id))
    return int(moved or 0)
