"""When the calls come: incoming and missed calls per clinic-local ISO weekday and hour.

Read from an hourly roll-up (``choose_rollup(flt, "hour", …)``: keyed by each call's
clinic-local hour, so DST days count in the hours their clocks showed) — a service level
one (its ``incoming`` and ``missed``) or a calls one (its calls of each type and
disposition) — or counted from the call log's ``local_started_at`` for filters a roll-up
cannot answer. All count the same calls in the same cells: the roll-ups equal a GROUP BY
over the call log.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard_analytics.adapters.queries import (
    CallLogFilter,
    call_log_conditions,
    resolve_search,
)
from switchboard_analytics.adapters.rollup_choice import Rollup, rollup_conditions
from switchboard_analytics.adapters.tables import call_log


def _count(value: sa.FunctionElement[Any], *where: Any) -> sa.ColumnElement[Any]:
    return sa.cast(sa.func.coalesce(value.filter(*where) if where else value, 0), sa.BigInteger)


def _incoming_and_missed(
    calls: sa.FunctionElement[Any], call_type: Any, disposition: Any
) -> list[sa.ColumnElement[Any]]:
    """``calls`` counted for incoming calls, and for missed incoming ones."""
    incoming = call_type == "incoming"
    return [_count(calls, incoming), _count(calls, incoming, disposition == "missed")]


async def when_counts(
    session: AsyncSession, flt: CallLogFilter, rollup: Rollup | None
) -> dict[tuple[int, int], tuple[int, int]]:
    """``(ISO weekday, hour)`` → ``(incoming, missed)`` of the calls ``flt`` selects, from
    ``rollup`` (an hourly one) or, when ``None``, from the call log."""
    if rollup is not None:
        if rollup.grain != "hour":
            raise ValueError(f"{rollup.table.name}: not an hourly roll-up")
        r = rollup.table.c
        local = rollup.time
        conditions = rollup_conditions(flt, rollup)
        if rollup.has_call_dimensions:
            counts = _incoming_and_missed(sa.func.sum(r.calls), r.call_type, r.disposition)
        else:
            # A service level roll-up counts them itself.
            counts = [_count(sa.func.sum(r.incoming)), _count(sa.func.sum(r.missed))]
    else:
        c = call_log.c
        local = c.local_started_at
        counts = _incoming_and_missed(sa.func.count(), c.call_type, c.disposition)
        conditions = call_log_conditions(await resolve_search(session, flt))
    weekday = sa.cast(sa.extract("isodow", local), sa.Integer)
    hour = sa.cast(sa.extract("hour", local), sa.Integer)
    query = sa.select(weekday, hour, *counts).where(*conditions).group_by(weekday, hour)
    rows = (await session.execute(query)).all()
    return {(int(w), int(h)): (int(i), int(m)) for w, h, i, m in rows}
