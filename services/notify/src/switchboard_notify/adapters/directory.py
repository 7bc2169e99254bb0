"""Reads and writes of the directory projection (operators, clinics)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard_contracts import ClinicChanged, Envelope, OperatorChanged
from switchboard_notify.adapters.tables import clinics, operators
from switchboard_notify.domain.directory import OperatorRecord
from switchboard_runtime.directory import project_clinic, project_operator


async def upsert_operator(session: AsyncSession, envelope: Envelope[OperatorChanged]) -> bool:
    """Store an operator's latest state; False when a newer one is already stored."""
    return await project_operator(session, operators, envelope)


async def upsert_clinic(session: AsyncSession, envelope: Envelope[ClinicChanged]) -> None:
    """Store a clinic's name (newest event wins)."""
    await project_clinic(session, clinics, envelope)


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


async def sole_operator_on(session: AsyncSession, extension: str | None) -> str | None:
    """The one active operator sitting on ``extension``; ``None`` when nobody or several
    share it (then a phone answer does not say who picked up)."""
    if not extension:
        return None
    ids = (
        await session.scalars(
            sa.select(operators.c.operator_id)
            .where(operators.c.extension == extension, operators.c.active.is_(True))
            .limit(2)
        )
    ).all()
    return ids[0] if len(ids) == 1 else None
