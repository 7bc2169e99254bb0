"""One page of the call log: the calls after a keyset cursor in the chosen sort order.

A page is an index range scan that stops after the page wherever an index follows the
sort (start, local start, talk and total time). Sorted by admin, the order is an operator's name,
which lives in another table: no index of the call log follows it. The page then walks
the admins in name order, each admin's calls in call id order
(``ix_call_log_admin_call_id``), and stops once the page is full; the admins come from
the month roll-up, so that an admin without a call under the filter's clinics, call
types, dispositions and months is not walked at all.
"""

from __future__ import annotations

import base64
import json
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard_analytics.adapters.queries import (
    CALL_LOG_COLUMNS,
    CALL_LOG_FROM,
    SORTS,
    CallLogFilter,
    CallLogRow,
    QueryError,
    call_log_conditions,
    call_log_row,
    dimension_conditions,
    resolve_search,
)
from switchboard_analytics.adapters.rollup_tables import calls_by_month
from switchboard_analytics.adapters.tables import call_log, operators

#: The admin's key in the walk's index: calls without an admin are the group ''.
_admin_key = sa.func.coalesce(call_log.c.admin_id, "")
#: Groups of admins read per statement, growing while the page is not full: the first
#: admin usually fills it; a filter few calls match reads more admins at a time.
_FIRST_GROUPS = 2
_GROWTH = 4


def _cursor_value(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def encode_cursor(sort: str, order: str, value: Any, call_id: str) -> str:
    """An opaque cursor pointing after the row with sort ``value`` and ``call_id``."""
    raw = json.dumps({"s": sort, "o": order, "v": _cursor_value(value), "id": call_id})
    return base64.urlsafe_b64encode(raw.encode()).decode()


def decode_cursor(cursor: str, sort: str, order: str) -> tuple[Any, str]:
    """``(sort value, call_id)`` of a cursor made by :func:`encode_cursor` for the same sort;
    :class:`QueryError` when it is not one."""
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        value, call_id = data["v"], str(data["id"])
        if data["s"] != sort or data["o"] != order:
            raise QueryError("cursor: it belongs to another sort order; start from the first page")
        if sort in ("started_at", "started_at_local"):
            value = datetime.fromisoformat(value)
        elif sort in ("called_back", "has_recording"):
            value = bool(value)
        elif SORTS[sort].type.python_type is int:
            value = int(value)
        else:
            value = str(value)
        return value, call_id
    except QueryError:
        raise
    except Exception as exc:
        raise QueryError("cursor: not a cursor of this call log") from exc


async def call_log_page(
    session: AsyncSession,
    flt: CallLogFilter,
    *,
    limit: int,
    cursor: str | None = None,
    sort: str = "started_at",
    order: str = "desc",
) -> tuple[list[CallLogRow], str | None]:
    """One page of ended calls in ``sort`` order (ties by call id), and the next cursor."""
    if sort not in SORTS:
        raise QueryError(f"sort: one of {', '.join(SORTS)}")
    descending = order == "desc"
    flt = await resolve_search(session, flt)
    after = decode_cursor(cursor, sort, order) if cursor is not None else None
    # Numbers and names find few calls: sorting those is cheaper than walking the admins.
    if sort == "admin" and not (flt.phone or flt.search):
        result = await _admin_walk(session, flt, after, limit + 1, descending)
    else:
        result = await _sorted_page(session, flt, sort, after, limit + 1, descending)
    rows = [call_log_row({k: v for k, v in r.items() if k != "sort_value"}) for r in result]
    next_cursor = None
    if len(result) > limit:
        last = result[limit - 1]
        next_cursor = encode_cursor(sort, order, last["sort_value"], last["call_id"])
    return rows[:limit], next_cursor


async def _sorted_page(
    session: AsyncSession,
    flt: CallLogFilter,
    sort: str,
    after: tuple[Any, str] | None,
    count: int,
    descending: bool,
) -> list[Any]:
    """The first ``count`` calls after ``after`` in (``sort``, call id) order."""
    key = SORTS[sort]
    direction = sa.desc if descending else sa.asc
    # A sort on the call log's own columns finds the page's calls first, from the call
    # log alone: an index that carries the filtered columns (talk and total time's) answers
    # without reading the rows it skips. The page's rows are read after, by call id.
    joined = sort in _SORTS_ON_NAMES
    keys = (
        sa.select(call_log.c.call_id, key.label("sort_value"))
        .select_from(CALL_LOG_FROM if joined else call_log)
        .where(*call_log_conditions(flt))
    )
    if after is not None:
        value, call_id = after
        row = sa.tuple_(key, call_log.c.call_id)
        bound = sa.tuple_(sa.literal(value, key.type), sa.literal(call_id))
        keys = keys.where(row < bound if descending else row > bound)
    page = keys.order_by(direction(key), direction(call_log.c.call_id)).limit(count).subquery()
    query = (
        sa.select(*CALL_LOG_COLUMNS, page.c.sort_value)
        .select_from(CALL_LOG_FROM.join(page, page.c.call_id == call_log.c.call_id))
        .order_by(direction(page.c.sort_value), direction(page.c.call_id))
    )
    return [r._mapping for r in (await session.execute(query)).all()]


#: Sorts by a name another table holds (clinic and admin names).
_SORTS_ON_NAMES = frozenset({"admin", "clinic"})


async def admins_with_calls(session: AsyncSession, flt: CallLogFilter) -> list[tuple[str, str]]:
    """``(admin id, name)`` of the admins with calls under the filter's clinics, call
    types, dispositions, missed, called back and months, from the month roll-up ('' for
    calls without an admin; the name is the operator's, else the id). The month roll-up
    has no public number: under a number filter, the admins with calls on any number (the
    walk's own conditions keep the number's calls)."""
    m = calls_by_month.c
    name = sa.func.coalesce(operators.c.name, sa.func.nullif(m.admin_id, ""), "")
    query = (
        sa.select(m.admin_id, name)
        .select_from(calls_by_month.outerjoin(operators, operators.c.operator_id == m.admin_id))
        .where(*dimension_conditions(replace(flt, dids=frozenset()), calls_by_month))
        .where(*_months(flt))
        .group_by(m.admin_id, name)
        .having(sa.func.sum(m.calls) > 0)
    )
    return [(admin_id, admin_name) for admin_id, admin_name in (await session.execute(query)).all()]


async def _admin_groups(session: AsyncSession, flt: CallLogFilter) -> list[tuple[str, list[str]]]:
    """``(name, admin ids)`` in name order (byte order, as the sort compares)."""
    groups: dict[str, list[str]] = {}
    for admin_id, admin_name in await admins_with_calls(session, flt):
        groups.setdefault(admin_name, []).append(admin_id)
    # Python compares code points: for UTF-8 text, the same order as bytes ("C").
    return sorted((name, sorted(ids)) for name, ids in groups.items())


def _months(flt: CallLogFilter) -> list[sa.ColumnElement[bool]]:
    """The months a period touches, in every zone (local bounds, or instants ± a day)."""
    period, month = flt.period, calls_by_month.c.local_month
    start = period.from_local or (
        period.from_instant.replace(tzinfo=None) - timedelta(days=1)
        if period.from_instant is not None
        else None
    )
    end = period.to_local or (
        period.to_instant.replace(tzinfo=None) + timedelta(days=1)
        if period.to_instant is not None
        else None
    )
    out = []
    if start is not None:
        out.append(month >= _month_of(start))
    if end is not None:
        out.append(month <= _month_of(end))
    return out


def _month_of(moment: datetime) -> date:
    return moment.date().replace(day=1)


async def _admin_walk(
    session: AsyncSession,
    flt: CallLogFilter,
    after: tuple[Any, str] | None,
    count: int,
    descending: bool,
) -> list[Any]:
    """The first ``count`` calls after ``after`` in (admin name, call id) order: admins
    read a few groups at a time, each group's calls in call id order, until ``count``."""
    groups = await _admin_groups(session, flt)
    if descending:
        groups.reverse()
    if after is not None:
        value = after[0]
        groups = [g for g in groups if (g[0] <= value if descending else g[0] >= value)]
    conditions = call_log_conditions(flt)
    direction = sa.desc if descending else sa.asc
    found: list[Any] = []
    start, size = 0, _FIRST_GROUPS
    while start < len(groups) and len(found) < count:
        need = count - len(found)
        parts = []
        for ordinal, (name, keys) in enumerate(groups[start : start + size], start):
            where = list(conditions)
            if after is not None and name == after[0]:
                call_id = call_log.c.call_id
                where.append(call_id < after[1] if descending else call_id > after[1])
            for admin_key in keys:
                parts.append(
                    sa.select(
                        *CALL_LOG_COLUMNS,
                        SORTS["admin"].label("sort_value"),
                        sa.literal(ordinal).label("ordinal"),
                    )
                    .select_from(CALL_LOG_FROM)
                    .where(*where, _admin_key == admin_key)
                    .order_by(direction(call_log.c.call_id))
                    .limit(need)
                )
        page = sa.union_all(*parts).subquery()
        query = (
            sa.select(*(column for column in page.c if column.name != "ordinal"))
            .order_by(page.c.ordinal, direction(page.c.call_id))
            .limit(need)
        )
        found += [r._mapping for r in (await session.execute(query)).all()]
        start, size = start + size, size * _GROWTH
    return found
