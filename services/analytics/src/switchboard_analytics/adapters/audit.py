"""The audit trail's table: storing records (once per event id), reading them for admins,
and deleting what is older than the retention."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard_analytics.adapters.tables import audit_records
from switchboard_contracts import AuditRecorded, Envelope

#: The shortest retention the database accepts (its trigger says the same).
MIN_RETENTION_DAYS = 30


async def store_audit(session: AsyncSession, envelopes: Sequence[Envelope[AuditRecorded]]) -> int:
    """Store the records of ``envelopes``; an event already stored (delivered again, or
    stored by analytics itself before it came back) is skipped. Returns how many were new."""
    if not envelopes:
        return 0
    rows = [
        {
            "event_id": env.event_id,
            "occurred_at": env.payload.occurred_at,
            "producer": env.producer,
            "actor_id": env.payload.actor_id,
            "actor_name": env.payload.actor_name,
            "actor_role": env.payload.actor_role,
            "action": env.payload.action,
            "subject_type": env.payload.subject_type,
            "subject_id": env.payload.subject_id,
            "details": env.payload.details,
            "client_address": env.payload.client_address,
            "user_agent": env.payload.user_agent,
        }
        for env in envelopes
    ]
    result = await session.execute(
        insert(audit_records)
        .values(rows)
        .on_conflict_do_nothing(index_elements=["event_id"])
        .returning(audit_records.c.record_id)
    )
    return len(result.all())


@dataclass(frozen=True)
class AuditFilter:
    """Which records an admin asked for (every field optional)."""

    actor_id: str | None = None
    action: str | None = None
    subject_type: str | None = None
    subject_id: str | None = None
    occurred_from: datetime | None = None
    occurred_to: datetime | None = None


async def list_audit(
    session: AsyncSession, flt: AuditFilter, limit: int, before_id: int | None
) -> list[dict[str, Any]]:
    """Records matching ``flt``, newest first (by ``record_id``, the order they were
    stored); keyset paging below ``before_id``."""
    t = audit_records
    query = sa.select(t).order_by(t.c.record_id.desc()).limit(limit)
    for column, value in (
        (t.c.actor_id, flt.actor_id),
        (t.c.action, flt.action),
        (t.c.subject_type, flt.subject_type),
        (t.c.subject_id, flt.subject_id),
    ):
        if value is not None:
            query = query.where(column == value)
    if flt.occurred_from is not None:
        query = query.where(t.c.occurred_at >= flt.occurred_from)
    if flt.occurred_to is not None:
        query = query.where(t.c.occurred_at < flt.occurred_to)
    if before_id is not None:
        query = query.where(t.c.record_id < before_id)
    return [dict(row) for row in (await session.execute(query)).mappings()]


async def prune_audit(session: AsyncSession, retention_days: int) -> int:
    """Delete the records older than ``retention_days`` (declared to the database's
    trigger, which refuses anything younger); returns how many went."""
    if retention_days < MIN_RETENTION_DAYS:
        raise ValueError(f"the audit trail is kept at least {MIN_RETENTION_DAYS} days")
    await session.execute(
        sa.select(sa.func.set_config("switchboard.audit_retention_days", str(retention_days), True))
    )
    t = audit_records
    result = await session.execute(
        sa.delete(t)
        .where(t.c.occurred_at < sa.func.now() - sa.func.make_interval(0, 0, 0, retention_days))
        .returning(t.c.record_id)
    )
    return len(result.all())
