"""Reads and writes of the directory projection (operators, clinics)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard_contracts import ClinicChanged, OperatorChanged
from switchboard_notify.adapters.tables import clinics, operators
from switchboard_notify.domain.directory import OperatorRecord


async def upsert_operator(session: AsyncSession, event: OperatorChanged, at: datetime) -> bool:
    """Store an operator's latest state; False when ``at`` is older than what is stored."""
    values = {
        "operator_id": event.operator_id,
        "name": event.name,
        "role": event.role,
        "call_center_id": event.call_center_id,
        "extension": event.extension or None,
        "active": event.active,
        "changed_at": at,
    }
    insert = pg_insert(operators).values(values)
    stmt = insert.on_conflict_do_update(
        index_elements=[operators.c.operator_id],
        set_={k: insert.excluded[k] for k in values if k != "operator_id"},
        where=operators.c.changed_at <= insert.excluded.changed_at,
    ).returning(operators.c.operator_id)
    return (await session.execute(stmt)).first() is not None


async def upsert_clinic(session: AsyncSession, event: ClinicChanged, at: datetime) -> None:
    """Store a clinic's name (newest event wins)."""
    stmt = pg_insert(clinics).values(clinic_id=event.clinic_id, name=event.name, changed_at=at)
    stmt = stmt.on_conflict_do_update(
        index_elements=[clinics.c.clinic_id],
        set_={"name": stmt.excluded.name, "changed_at": stmt.excluded.changed_at},
        where=clinics.c.changed_at <= stmt.excluded.changed_at,
    )
    await session.execute(stmt)


async def operator(session: AsyncSession, operator_id: str) -> OperatorRecord | None:
    """The projection's record of one operator, if it has one."""
    row = (
        await session.execute(
            sa.select(
                operators.c.operator_id,
                operators.c.name,
                operators.c.role,
                operators.c.extension,
                operators.c.active,
            ).where(operators.c.operator_id == operator_id)
        )
    ).first()
    if row is None:
        return None
    return OperatorRecord(
        operator_id=row.operator_id,
        name=row.name,
        role=row.role,
        extension=row.extension,
        active=row.active,
    )


async def clinic_name(session: AsyncSession, clinic_id: str | None) -> str | None:
    """A clinic's name, if the projection knows the clinic."""
    if not clinic_id:
        return None
    return await session.scalar(sa.select(clinics.c.name).where(clinics.c.clinic_id == clinic_id))
