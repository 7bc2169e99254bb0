"""The directory's write side: clinics, services, practitioners (with their clinics, services
and working hours), call centers, operators and cancellation reasons. What booking rules read
of it is in :mod:`.directory_facts`; what login reads and changes, in
:mod:`.operators_repository`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard_booking.adapters.ids import new_id
from switchboard_booking.adapters.tables import (
    call_centers,
    cancellation_reasons,
    clinics,
    operators,
    practitioner_clinics,
    practitioner_services,
    practitioners,
    services,
    working_hours,
)
from switchboard_booking.domain.availability import WorkingHours
from switchboard_booking.domain.errors import NotFound


async def _upsert(
    session: AsyncSession, table: sa.Table, key: str, key_value: str | None, values: dict[str, Any]
) -> str:
    """Insert (new id) when ``key_value`` is None, else update that row (NotFound if none)."""
    if key_value is None:
        key_value = values.pop(key, None) or new_id()
        await session.execute(sa.insert(table).values({key: key_value, **values}))
        return key_value
    if values:
        result = await session.execute(
            sa.update(table).where(table.c[key] == key_value).values(**values)
        )
    else:
        result = await session.execute(sa.select(table.c[key]).where(table.c[key] == key_value))
    found = getattr(result, "rowcount", 0) if values else result.first()
    if not found:
        raise NotFound(f"no {table.name.rstrip('s').replace('_', ' ')} {key_value!r}")
    return key_value


async def _row(session: AsyncSession, table: sa.Table, key: str, key_value: str) -> sa.Row[Any]:
    return (await session.execute(sa.select(table).where(table.c[key] == key_value))).one()


async def save_clinic(
    session: AsyncSession, clinic_id: str | None, values: dict[str, Any]
) -> sa.Row[Any]:
    """Insert (``clinic_id`` None) or update a clinic; returns its row as saved."""
    cid = await _upsert(session, clinics, "clinic_id", clinic_id, values)
    return await _row(session, clinics, "clinic_id", cid)


async def save_service(
    session: AsyncSession, service_id: str | None, values: dict[str, Any]
) -> str:
    """Insert (``service_id`` None) or update a service; returns its id."""
    return await _upsert(session, services, "service_id", service_id, values)


async def save_call_center(
    session: AsyncSession, call_center_id: str | None, values: dict[str, Any]
) -> sa.Row[Any]:
    """Insert (``call_center_id`` None) or update a call center; returns its row as saved."""
    cid = await _upsert(session, call_centers, "call_center_id", call_center_id, values)
    return await _row(session, call_centers, "call_center_id", cid)


async def save_cancellation_reason(
    session: AsyncSession, reason_id: str | None, values: dict[str, Any]
) -> str:
    """Insert (``reason_id`` None) or update a cancellation reason; returns its id."""
    return await _upsert(session, cancellation_reasons, "reason_id", reason_id, values)


async def save_operator(
    session: AsyncSession, operator_id: str | None, values: dict[str, Any]
) -> sa.Row[Any]:
    """Insert (``operator_id`` None) or update an operator; returns its row as saved."""
    oid = await _upsert(session, operators, "operator_id", operator_id, values)
    return await _row(session, operators, "operator_id", oid)


async def save_practitioner(
    session: AsyncSession, practitioner_id: str | None, values: dict[str, Any]
) -> str:
    """Insert (``practitioner_id`` None) or update a practitioner's own columns; returns
    its id. Clinics, services and hours are replaced separately."""
    return await _upsert(session, practitioners, "practitioner_id", practitioner_id, values)


async def _replace_links(
    session: AsyncSession, table: sa.Table, pid: str, column: str, ids: list[str]
) -> None:
    await session.execute(sa.delete(table).where(table.c.practitioner_id == pid))
    if ids:
        await session.execute(
            pg_insert(table).on_conflict_do_nothing(),
            [{"practitioner_id": pid, column: i} for i in dict.fromkeys(ids)],
        )


async def replace_practitioner_clinics(
    session: AsyncSession, practitioner_id: str, clinic_ids: list[str]
) -> None:
    """The practitioner works at exactly these clinics."""
    await _replace_links(session, practitioner_clinics, practitioner_id, "clinic_id", clinic_ids)


async def replace_practitioner_services(
    session: AsyncSession, practitioner_id: str, service_ids: list[str]
) -> None:
    """The practitioner gives exactly these services."""
    await _replace_links(session, practitioner_services, practitioner_id, "service_id", service_ids)


async def practitioner_clinic_ids(session: AsyncSession, practitioner_id: str) -> set[str]:
    """The clinics the practitioner works at."""
    return set(
        (
            await session.execute(
                sa.select(practitioner_clinics.c.clinic_id).where(
                    practitioner_clinics.c.practitioner_id == practitioner_id
                )
            )
        )
        .scalars()
        .all()
    )


async def replace_working_hours(
    session: AsyncSession,
    practitioner_id: str,
    hours: Sequence[tuple[str, WorkingHours]],
) -> None:
    """The practitioner's weekly hours are exactly these ``(clinic_id, hours)``."""
    await session.execute(
        sa.delete(working_hours).where(working_hours.c.practitioner_id == practitioner_id)
    )
    if hours:
        await session.execute(
            sa.insert(working_hours),
            [
                {
                    "practitioner_id": practitioner_id,
                    "clinic_id": clinic_id,
                    "weekday": w.weekday,
                    "starts": w.starts,
                    "ends": w.ends,
                }
                for clinic_id, w in hours
            ],
        )
