"""Loading and saving call state rows."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard_telephony.adapters.tables import call_tags, calls
from switchboard_telephony.domain.call_state import CallState

# Whole batches in one statement each, the ids and states as arrays: compiled and prepared
# once, whatever the batch size (a VALUES list per size was compiled on every batch).
_LOCK_MANY = sa.text(
    "SELECT call_id, state FROM calls WHERE call_id = ANY(CAST(:ids AS text[])) "
    "ORDER BY call_id FOR UPDATE"
).columns(call_id=sa.Text, state=JSONB)
_SAVE_MANY = sa.text(
    "INSERT INTO calls (call_id, state, next_deadline, settled, updated_at) "
    "SELECT i, CAST(s AS jsonb), d, d IS NULL, now() FROM unnest("
    "CAST(:ids AS text[]), CAST(:states AS text[]), CAST(:deadlines AS timestamptz[])"
    ") AS u(i, s, d) "
    "ON CONFLICT (call_id) DO UPDATE SET state = excluded.state, "
    "next_deadline = excluded.next_deadline, settled = excluded.settled, "
    "updated_at = excluded.updated_at"
)


async def load_for_update(session: AsyncSession, call_id: str) -> CallState | None:
    """The call's state, locked until the transaction ends (None for a new call)."""
    row = (
        await session.execute(
            sa.select(calls.c.state).where(calls.c.call_id == call_id).with_for_update()
        )
    ).scalar_one_or_none()
    return CallState.from_dict(row) if row is not None else None


async def load_many_for_update(
    session: AsyncSession, call_ids: Sequence[str]
) -> dict[str, CallState]:
    """The states of ``call_ids`` that exist, locked until the transaction ends.

    Rows are locked in call id order, the same order every batch uses, so two
    transactions locking overlapping calls cannot deadlock.
    """
    rows = (await session.execute(_LOCK_MANY, {"ids": sorted(set(call_ids))})).all()
    return {r.call_id: CallState.from_dict(r.state) for r in rows}


async def save(
    session: AsyncSession, call_id: str, state: CallState, next_deadline: datetime | None
) -> None:
    """Insert or replace the call's state."""
    await save_many(session, [(call_id, state, next_deadline)])


async def save_many(
    session: AsyncSession, rows: Sequence[tuple[str, CallState, datetime | None]]
) -> None:
    """Insert or replace the states of several distinct calls in one statement."""
    if not rows:
        return
    await session.execute(
        _SAVE_MANY,
        {
            "ids": [call_id for call_id, _, _ in rows],
            # orjson: the standard encoder took as long as building the dict.
            "states": [orjson.dumps(state.to_dict()).decode() for _, state, _ in rows],
            "deadlines": [deadline for _, _, deadline in rows],
        },
    )


async def due(
    session: AsyncSession, now: datetime, limit: int = 500
) -> list[tuple[str, CallState]]:
    """Calls whose deadline has passed, locked; other sweepers skip them."""
    rows = (
        await session.execute(
            sa.select(calls.c.call_id, calls.c.state)
            .where(calls.c.next_deadline <= now)
            .order_by(calls.c.next_deadline)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    ).all()
    return [(r.call_id, CallState.from_dict(r.state)) for r in rows]


async def save_tags(
    session: AsyncSession, call_id: str, source: str, tags: list[str], tagged_at: datetime
) -> None:
    """Replace the tags ``source`` attached to the call."""
    stmt = pg_insert(call_tags).values(
        call_id=call_id, source=source, tags=tags, tagged_at=tagged_at
    )
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=[call_tags.c.call_id, call_tags.c.source],
            set_={"tags": stmt.excluded.tags, "tagged_at": stmt.excluded.tagged_at},
        )
    )
