"""Call rows: reading a batch's calls, writing them with what they take from the other
projections (the clinic's zone, the latest touch, the tags), and the set-based passes a
rebuild runs once over the whole call log.

A batch's rows are written by one statement whatever their number: an ``INSERT … SELECT``
over ``unnest`` of one array per column (a list of rows as bind parameters would be one
execution per row inside PostgreSQL: the call log's upsert was the projection's largest
cost). Built once, at import, through the :mod:`.tables` objects (``rebuild`` points them
at another schema).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard_analytics.adapters.binds import array, given_params, given_rows, param
from switchboard_analytics.adapters.callback_rows import FACT_COLUMNS
from switchboard_analytics.adapters.store import (
    CALLBACK_COLUMNS,
    CONVERSION_CALL_COLUMNS,
    LATEST_TOUCH_FIRST,
    TOUCH_COLUMNS,
    WRITTEN_COLUMNS,
    linked_of,
    tags_of,
)
from switchboard_analytics.adapters.tables import appointments, call_log, clinics, touches


def _zone_of(clinic_id: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
    """The zone of the clinic ``clinic_id``, ``:d_default_zone`` while it is unknown."""
    zone = sa.select(clinics.c.time_zone).where(clinics.c.clinic_id == clinic_id)
    return sa.func.coalesce(zone.scalar_subquery(), param("d_default_zone"))


def _upsert_rows(*, derived: bool) -> Any:
    """Insert or overwrite the rows given as one array per written column (``:a_<name>``),
    with their derived columns, or (``derived=False``, a rebuild's replay, which derives
    every row once afterwards) with the default zone and nothing else."""
    given = given_rows(call_log, WRITTEN_COLUMNS)
    values: dict[str, Any] = {k: given.c[k] for k in WRITTEN_COLUMNS}
    source: sa.FromClause = given
    if derived:
        # What the call takes from the other projections: its clinic's zone, the union of
        # its tags, and what its touches and appointments give it (look-ups joined beside).
        linked = linked_of(given.c.call_id)
        values |= {
            "time_zone": _zone_of(given.c.clinic_id),
            "tags": tags_of(given.c.call_id),
            **linked.columns,
        }
        source = linked.joined(given)
    else:
        values["time_zone"] = param("d_default_zone")
    insert = pg_insert(call_log).from_select(
        list(values), sa.select(*values.values()).select_from(source)
    )
    # A replay's overwrite keeps the zone it wrote first (the default, until derived).
    updated = [k for k in values if k != "call_id" and (derived or k != "time_zone")]
    return insert.on_conflict_do_update(
        index_elements=[call_log.c.call_id],
        set_={k: insert.excluded[k] for k in updated},
    )


_UPSERT_ROWS = _upsert_rows(derived=True)
_UPSERT_FACTS = _upsert_rows(derived=False)

_GET_CALLS = (
    sa.select(call_log)
    .where(call_log.c.call_id == sa.any_(array("call_ids", sa.Text)))
    .order_by(call_log.c.call_id)
    .with_for_update()
)


async def get_calls(session: AsyncSession, call_ids: Sequence[str]) -> dict[str, sa.RowMapping]:
    """The rows of the calls that have one, by call id, locked for this transaction."""
    rows = await session.execute(_GET_CALLS, {"call_ids": list(call_ids)})
    return {r._mapping["call_id"]: r._mapping for r in rows}


async def write_calls(
    session: AsyncSession,
    rows: Sequence[Mapping[str, Any]],
    default_zone: str,
    *,
    derived: bool = True,
) -> None:
    """Insert or overwrite call rows (distinct calls) with these values and their derived
    columns (unless not ``derived``: see :func:`_upsert_rows`), in one statement."""
    if not rows:
        return
    params = given_params(rows, WRITTEN_COLUMNS)
    params["a_called_back"] = [bool(row.get("called_back", False)) for row in rows]
    params["d_default_zone"] = default_zone
    await session.execute(_UPSERT_ROWS if derived else _UPSERT_FACTS, params)


# ---------------------------------------------------------------------------------------
# Set-based passes (a rebuild's replay stores facts only, then runs these once)


_REFRESH_ALL_DERIVED = sa.update(call_log).values(
    time_zone=_zone_of(call_log.c.clinic_id), tags=tags_of(call_log.c.call_id)
)
#: The latest touch of every call that has one: ``store.linked_of``'s rule as one sorted
#: scan of the touches (a look-up per call is an index probe each, ten million times over).
_LATEST_TOUCHES = (
    sa.select(
        touches.c.call_id,
        touches.c.contact_id,
        touches.c.contact_kind,
        touches.c.contact_name,
        touches.c.operator_id.label("assigned_operator_id"),
    )
    .where(touches.c.call_id.is_not(None))
    .ext(pg.distinct_on(touches.c.call_id))
    .order_by(touches.c.call_id, *LATEST_TOUCH_FIRST)
    .subquery("latest_touch")
)
#: A rebuild's rows are written without touch columns: only the calls with a touch change.
_REFRESH_ALL_TOUCHES = (
    sa.update(call_log)
    .values({k: _LATEST_TOUCHES.c[k] for k in TOUCH_COLUMNS})
    .where(call_log.c.call_id == _LATEST_TOUCHES.c.call_id)
)


def _conversion_facts() -> sa.Subquery:
    """The conversion columns of every call with a touch or an appointment, from all the
    touches and appointments at once: ``store.linked_of``'s rule as one grouped scan
    (per call, its correlated look-ups cost an index probe each, ten million times over)."""
    t, a = touches.c, appointments.c
    booked = sa.cast(a.booked_at.is_not(None), sa.Integer)
    cancelled = sa.cast(sa.and_(a.booked_at.is_not(None), a.cancelled_at.is_not(None)), sa.Integer)
    linked = sa.union_all(
        sa.select(
            t.call_id,
            sa.true().label("touch"),
            sa.literal(0).label("booked"),
            sa.literal(0).label("cancelled"),
        ).where(t.call_id.is_not(None)),
        sa.select(a.call_id, sa.false(), booked, cancelled).where(a.call_id.is_not(None)),
        sa.select(t.call_id, sa.false(), booked, cancelled)
        .select_from(appointments.join(touches, t.touch_id == a.touch_id))
        .where(a.call_id.is_(None), t.call_id.is_not(None)),
    ).subquery("linked")
    return (
        sa.select(
            linked.c.call_id,
            sa.func.bool_or(linked.c.touch).label("has_touch"),
            sa.cast(sa.func.sum(linked.c.booked), sa.Integer).label("appointments_booked"),
            sa.cast(sa.func.sum(linked.c.cancelled), sa.Integer).label("appointments_cancelled"),
        )
        .group_by(linked.c.call_id)
        .subquery("conversion")
    )


_FACTS = _conversion_facts()
#: A rebuild's rows are written with the defaults (no touch, no appointments): only the
#: calls with a touch or an appointment change.
_REFRESH_ALL_CONVERSION = (
    sa.update(call_log)
    .values({k: _FACTS.c[k] for k in CONVERSION_CALL_COLUMNS})
    .where(call_log.c.call_id == _FACTS.c.call_id)
)

_REACHED = sa.case((call_log.c.call_type == "outgoing", call_log.c.dst), else_=call_log.c.src)
#: Every settled call that is a missed incoming call or may call a number back, by number
#: and time: each number's calls come together.
_CALLBACK_FACTS = (
    sa.select(
        _REACHED.label("number"),
        *FACT_COLUMNS,
        *[call_log.c[k] for k in CALLBACK_COLUMNS],
    )
    .where(
        call_log.c.ended_at.is_not(None),
        sa.or_(
            call_log.c.call_type == "outgoing",
            sa.and_(
                call_log.c.call_type == "incoming",
                call_log.c.disposition.in_(["missed", "answered"]),
            ),
        ),
    )
    .order_by(_REACHED, call_log.c.started_at, call_log.c.call_id)
)


async def refresh_all_derived(session: AsyncSession, default_zone: str) -> None:
    """Recompute every call row's clinic zone and tags from their tables, and the touch
    and conversion columns of the calls with a touch or an appointment (the others keep
    the defaults a rebuild's replay wrote them with)."""
    await session.execute(_REFRESH_ALL_DERIVED, {"d_default_zone": default_zone})
    await session.execute(_REFRESH_ALL_TOUCHES)
    await session.execute(_REFRESH_ALL_CONVERSION)


async def stream_callback_facts(session: AsyncSession) -> Any:
    """The rows of :data:`_CALLBACK_FACTS`, streamed (an async iterator of row mappings)."""
    result = await session.stream(_CALLBACK_FACTS.execution_options(yield_per=5000))
    return result.mappings()
