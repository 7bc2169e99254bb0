"""The labels reports show beside ids: public numbers' descriptions, operators' and
clinics' names."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard_analytics.adapters.tables import clinics, dids, operators


async def did_descriptions(session: AsyncSession, numbers: set[str]) -> dict[str, str]:
    """Public numbers' descriptions (those telephony described), the reports' labels."""
    if not numbers:
        return {}
    rows = await session.execute(
        sa.select(dids.c.did, dids.c.description).where(
            dids.c.did.in_(sorted(numbers)), dids.c.description.is_not(None)
        )
    )
    return {did: description for did, description in rows.all()}


async def list_dids(session: AsyncSession) -> list[dict[str, Any]]:
    """Every public number telephony told about: ``did``, ``description``, ``clinic_id``,
    ``active``, by number."""
    rows = await session.execute(
        sa.select(dids.c.did, dids.c.description, dids.c.clinic_id, dids.c.active).order_by(
            dids.c.did
        )
    )
    return [dict(row._mapping) for row in rows]


async def admin_names(session: AsyncSession, admin_ids: set[str]) -> dict[str, str]:
    """Operator names by id (those the directory told us about)."""
    return await _names(session, operators.c.operator_id, operators.c.name, admin_ids)


async def clinic_names(session: AsyncSession, clinic_ids: set[str]) -> dict[str, str]:
    """Clinic names by id (those the directory told us about)."""
    return await _names(session, clinics.c.clinic_id, clinics.c.name, clinic_ids)


async def _names(
    session: AsyncSession, key: sa.Column[str], name: sa.Column[str], ids: set[str]
) -> dict[str, str]:
    if not ids:
        return {}
    rows = await session.execute(sa.select(key, name).where(key.in_(sorted(ids))))
    return {row_id: row_name for row_id, row_name in rows.all()}
