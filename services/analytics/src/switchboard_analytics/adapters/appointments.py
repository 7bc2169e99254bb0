"""Write-side SQL of the appointments the conversion report links to calls.

The facts are stored (``appointments``): which call an appointment was booked during,
or which touch it was booked from, when it was booked and when cancelled. Each call row
counts its appointments (``store.linked_of``), refreshed for the calls an
appointment counts for (:func:`appointment_call_ids`) whenever it, its touch or its call
arrives, in whatever order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard_analytics.adapters.binds import array, given_params, given_rows
from switchboard_analytics.adapters.tables import appointments, touches

_COLUMNS = ("appointment_id", "call_id", "touch_id", "booked_at", "cancelled_at")
_given = given_rows(appointments, _COLUMNS)
_INSERT = pg_insert(appointments).from_select(_COLUMNS, sa.select(*[_given.c[c] for c in _COLUMNS]))
_EXCLUDED = _INSERT.excluded
_UPSERT = _INSERT.on_conflict_do_update(
    index_elements=[appointments.c.appointment_id],
    set_={
        # A booking's links are its own facts: a cancellation (which carries none) keeps them.
        "call_id": sa.func.coalesce(_EXCLUDED.call_id, appointments.c.call_id),
        "touch_id": sa.func.coalesce(_EXCLUDED.touch_id, appointments.c.touch_id),
        # least() ignores NULLs: the earliest booking and cancellation win, whatever order
        # the events (or their redeliveries) come in.
        "booked_at": sa.func.least(appointments.c.booked_at, _EXCLUDED.booked_at),
        "cancelled_at": sa.func.least(appointments.c.cancelled_at, _EXCLUDED.cancelled_at),
    },
)


_NAMED = appointments.c.appointment_id == sa.any_(array("appointment_ids", sa.Text))
_CALL_IDS = sa.union(
    sa.select(appointments.c.call_id).where(_NAMED, appointments.c.call_id.is_not(None)),
    sa.select(touches.c.call_id)
    .select_from(appointments.join(touches, touches.c.touch_id == appointments.c.touch_id))
    .where(_NAMED, touches.c.call_id.is_not(None)),
)


async def appointment_call_ids(session: AsyncSession, appointment_ids: Sequence[str]) -> set[str]:
    """The calls stored appointments may count for: the call each names, and the call of
    the touch each names (if that touch is stored and linked)."""
    rows = await session.execute(_CALL_IDS, {"appointment_ids": list(appointment_ids)})
    return set(rows.scalars())


def merge_states(states: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Fold states of the same appointment into one (an upsert may name a row once),
    the way the upsert folds them into the stored row."""
    merged: dict[str, dict[str, Any]] = {}
    for state in states:
        row = merged.setdefault(state["appointment_id"], dict.fromkeys(_COLUMNS))
        row["appointment_id"] = state["appointment_id"]
        for link in ("call_id", "touch_id"):
            row[link] = state.get(link) or row[link]
        for moment in ("booked_at", "cancelled_at"):
            row[moment] = _earliest(row[moment], state.get(moment))
    return list(merged.values())


def _earliest(a: datetime | None, b: datetime | None) -> datetime | None:
    return b if a is None else a if b is None else min(a, b)


async def upsert_appointments(session: AsyncSession, states: Sequence[Mapping[str, Any]]) -> None:
    """Store appointments' bookings and cancellations (one statement for the batch)."""
    rows = merge_states(states)
    if rows:
        await session.execute(_UPSERT, given_params(rows, _COLUMNS))
