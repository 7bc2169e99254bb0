"""When the calls come: incoming and missed calls per clinic-local ISO weekday and hour.

Read from an hourly roll-up (``choose_rollup(flt, "hour")``: keyed by each call's
clinic-local hour, so DST days count in the hours their clocks showed), or counted from
the call log's ``local_started_at`` for filters a roll-up cannot answer. Both count the
same calls in the same cells: the roll-ups equal a GROUP BY over the call log.
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
    return sa.cast(sa.func.coalesce(value.filter(*where), 0), sa.BigInteger)


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
        calls: sa.FunctionElement[Any] = sa.func.sum(r.calls)
        call_type, disposition = r.call_type, r.disposition
        conditions = rollup_conditions(flt, rollup)
    else:
        c = call_log.c
        local, calls = c.local_started_at, sa.func.count()
        call_type, disposition = c.call_type, c.disposition
        conditions = call_log_conditions(await resolve_search(session, flt))
    incoming = call_type == "incoming"
    weekday = sa.cast(sa.extract("isodow", local), sa.Integer)
    hour = sa.cast(sa.extract("hour", local), sa.Integer)
    query = (
        sa.select(
            weekday,
            hour,
            _count(calls, incoming),
            _count(calls, incoming, disposition == "missed"),
        )
        .where(*conditions)
        .group_by(weekday, hour)
    )
    rows = (await session.execute(query)).all()
    return {(int(w), int(h)): (int(i), int(m)) for w, h, i, m in rows}
