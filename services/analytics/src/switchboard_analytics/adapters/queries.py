"""Read models: the call log as typed rows."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard_analytics.adapters.tables import call_log


@dataclass(frozen=True)
class CallLogFilter:
    """What a call log query may be narrowed by."""

    period_from: datetime | None = None
    period_to: datetime | None = None
    call_types: frozenset[str] = frozenset()
    dispositions: frozenset[str] = frozenset()


@dataclass(frozen=True)
class CallLogRow:
    """One call as the call log shows it."""

    call_id: str
    started_at: datetime
    call_type: str
    src: str
    dst: str
    disposition: str | None
    admin: str | None
    extension: str | None
    clinic_id: str | None
    wait_seconds: int | None
    talk_seconds: int | None
    total_seconds: int | None
    recording_url: str | None


def encode_cursor(row: CallLogRow) -> str:
    """An opaque cursor pointing after ``row`` (newest first order)."""
    raw = json.dumps([row.started_at.isoformat(), row.call_id]).encode()
    return base64.urlsafe_b64encode(raw).decode()


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    """Read a cursor made by :func:`encode_cursor`; ``ValueError`` when it is not one."""
    try:
        started, call_id = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        return datetime.fromisoformat(started), str(call_id)
    except Exception as exc:
        raise ValueError("invalid cursor") from exc


async def call_log_page(
    session: AsyncSession, flt: CallLogFilter, *, limit: int, cursor: str | None
) -> tuple[list[CallLogRow], str | None]:
    """One page of ended calls, newest first, and the cursor of the next page."""
    c = call_log.c
    query = sa.select(
        c.call_id,
        c.started_at,
        c.call_type,
        c.src,
        c.dst,
        c.disposition,
        c.operator_id.label("admin"),
        c.extension,
        c.clinic_id,
        c.wait_seconds,
        c.talk_seconds,
        c.total_seconds,
        c.recording_url,
    ).where(c.ended_at.is_not(None))
    if flt.period_from is not None:
        query = query.where(c.started_at >= flt.period_from)
    if flt.period_to is not None:
        query = query.where(c.started_at < flt.period_to)
    if flt.call_types:
        query = query.where(c.call_type.in_(sorted(flt.call_types)))
    if flt.dispositions:
        query = query.where(c.disposition.in_(sorted(flt.dispositions)))
    if cursor is not None:
        started, call_id = decode_cursor(cursor)
        query = query.where(sa.tuple_(c.started_at, c.call_id) < sa.tuple_(started, call_id))
    query = query.order_by(c.started_at.desc(), c.call_id.desc()).limit(limit + 1)
    rows = [CallLogRow(**r._mapping) for r in (await session.execute(query)).all()]
    next_cursor = encode_cursor(rows[limit - 1]) if len(rows) > limit else None
    return rows[:limit], next_cursor
