"""The calls report's reads: one page of groups from the smallest roll-up that answers,
or from a GROUP BY over the call log.

A report page is the groups after a cursor, in the report's order, at most ``limit`` of
them. Every roll-up's primary key starts with the report's order (its admin, clinic or
time column first, key text in byte order), so that a page read from a roll-up is an
index range scan that stops after the page: its cost depends on the page, not on the
year's calls or on how many groups the whole report has.
"""

from __future__ import annotations

import base64
import functools
import itertools
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard_analytics.adapters.call_log_pages import admins_with_calls
from switchboard_analytics.adapters.queries import (
    CallLogFilter,
    QueryError,
    call_log_conditions,
    resolve_search,
)
from switchboard_analytics.adapters.rollup_choice import Rollup, rollup_conditions
from switchboard_analytics.adapters.tables import call_log, clinics
from switchboard_analytics.domain import buckets
from switchboard_analytics.domain.reports import CALL_TYPES, GroupFigures

# ---------------------------------------------------------------------------------------
# Keys and cursors

Key = tuple[Any, ...]
"""A group's key as the report's SQL reads it: ``(admin_id or None, local day/hour/month)``,
``(local day/hour,)`` or ``(did or None,)``; hours are naive local timestamps, days and
months dates."""


def public_key(group_by: str, key: Key) -> tuple[Any, ...]:
    """A group's key as :class:`GroupFigures` carries it (see ``domain.reports``)."""
    if group_by == "hour":
        (moment,) = key
        return (moment.date(), moment.hour)
    return key


def encode_cursor(group_by: str, key: Key) -> str:
    """An opaque cursor pointing after the group ``key``."""
    values = [v.isoformat() if isinstance(v, date | datetime) else v for v in key]
    raw = json.dumps({"g": group_by, "k": values})
    return base64.urlsafe_b64encode(raw.encode()).decode()


def decode_cursor(cursor: str, group_by: str) -> Key:
    """The key a cursor of :func:`encode_cursor` points after; :class:`QueryError` when it
    is not one of this grouping."""
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        values = data["k"]
        if data["g"] != group_by:
            raise QueryError("cursor: it belongs to another grouping; start from the first page")
        if group_by == "hour":
            return (datetime.fromisoformat(values[0]),)
        if group_by == "day":
            return (date.fromisoformat(values[0]),)
        if group_by == "did":
            (did,) = values
            if did is not None and not isinstance(did, str):
                raise TypeError("did")
            return (did,)
        admin = values[0]
        if admin is not None and not isinstance(admin, str):
            raise TypeError("admin")
        return (admin, date.fromisoformat(values[1]))
    except QueryError:
        raise
    except Exception as exc:
        raise QueryError("cursor: not a cursor of this report") from exc


# ---------------------------------------------------------------------------------------
# Reading a page


@dataclass(frozen=True)
class ReportPage:
    """Groups of one page, the source that answered, and the cursor of the next page."""

    groups: list[GroupFigures]
    source: str
    next_cursor: str | None


def _time_key(group_by: str, time_column: sa.ColumnElement[Any], grain: str) -> Any:
    """The report's time key over a time column of ``grain`` (the bare column when the
    grain is the key's own, so that the primary key's order serves)."""
    wanted = {"hour": "hour", "day": "day", "employee_day": "day", "employee_month": "month"}
    if wanted[group_by] == grain:
        return time_column
    if wanted[group_by] == "month":
        return sa.cast(sa.func.date_trunc("month", time_column), sa.Date)
    if wanted[group_by] == "day":
        return sa.cast(time_column, sa.Date)
    return sa.func.date_trunc("hour", time_column)


def _sums(
    rows: sa.ColumnElement[Any] | None,
    call_type: sa.ColumnElement[Any],
    disposition: sa.ColumnElement[Any],
    talk: sa.ColumnElement[Any],
    wait: sa.ColumnElement[Any],
) -> list[sa.ColumnElement[Any]]:
    """Per call type: calls, answered, missed, talk and wait seconds (bigint, never NULL).
    ``rows`` is the roll-up's count column, or ``None`` for call log rows (one call each)."""
    out = []
    for kind in CALL_TYPES:
        of_type = call_type == kind

        def total(
            column: sa.ColumnElement[Any] | None, *where: Any, of_type: Any = of_type
        ) -> sa.ColumnElement[Any]:
            counted = sa.func.count() if column is None else sa.func.sum(column)
            return sa.cast(sa.func.coalesce(counted.filter(of_type, *where), 0), sa.BigInteger)

        out += [
            total(rows),
            total(rows, disposition == "answered"),
            total(rows, disposition == "missed"),
            total(talk),
            total(wait),
        ]
    return out


@functools.cache
def _rollup_sums(table: sa.Table) -> list[sa.ColumnElement[Any]]:
    """:func:`_sums` of a roll-up, built once (building them costs more than reading)."""
    r = table.c
    return _sums(r.calls, r.call_type, r.disposition, r.talk_seconds, r.wait_seconds)


def group_key(group_by: str, width: int, row: Sequence[Any]) -> Key:
    key = tuple(row[:width])
    if group_by.startswith("employee") or group_by == "did":
        key = (key[0] or None, *key[1:])
    return public_key(group_by, key)


def _figures(group_by: str, width: int, row: Sequence[Any]) -> GroupFigures:
    by_type = {
        kind: tuple(row[width + 5 * i : width + 5 * i + 5]) for i, kind in enumerate(CALL_TYPES)
    }
    return GroupFigures(key=group_key(group_by, width, row), by_type=by_type)


@dataclass(frozen=True)
class Measures:
    """What a report reads per group: its aggregates over a roll-up or over the call log,
    and how a result row becomes a :class:`GroupFigures` (``(group_by, key width, row)``)."""

    rollup: Callable[[sa.Table], list[sa.ColumnElement[Any]]]
    call_log: Callable[[], list[sa.ColumnElement[Any]]]
    figures: Callable[[str, int, Sequence[Any]], GroupFigures]
    #: How a roll-up's result row becomes one, when not as the call log's (``figures``).
    rollup_figures: Callable[[str, int, Sequence[Any]], GroupFigures] | None = None


#: The calls report's: counts and sums per call type.
CALL_SUMS = Measures(
    rollup=_rollup_sums,
    call_log=lambda: _sums(
        None,
        call_log.c.call_type,
        call_log.c.disposition,
        call_log.c.talk_seconds,
        call_log.c.wait_seconds,
    ),
    figures=_figures,
)


async def _rollup_groups(
    session: AsyncSession,
    flt: CallLogFilter,
    group_by: str,
    rollup: Rollup,
    after: Key | None,
    limit: int,
    measure: Measures = CALL_SUMS,
    until: Any = None,
) -> list[tuple[Key, GroupFigures]]:
    """The page of groups after ``after`` from ``rollup``; by day or hour, ``until`` (the
    page's last bucket) bounds the range of the roll-up read."""
    r = rollup.table.c
    conditions = rollup_conditions(flt, rollup)
    measures = measure.rollup(rollup.table)
    figures = measure.rollup_figures or measure.figures

    async def read(keys: list[Any], where: list[Any], count: int) -> list[tuple[Key, Any]]:
        query = (
            sa.select(*keys, *measures)
            .where(*conditions, *where)
            .group_by(*keys)
            # Roll-up rows whose calls all moved elsewhere (a changed admin…) stay as zeros.
            .having(sa.func.sum(r.calls) > 0)
            .order_by(*keys)
            .limit(count)
        )
        rows = (await session.execute(query)).all()
        return [(tuple(row[: len(keys)]), figures(group_by, len(keys), row)) for row in rows]

    if group_by == "did":
        leading, rest, chosen = r.did, [], flt.dids
    elif group_by.startswith("employee"):
        leading, rest = r.admin_id, [_time_key(group_by, rollup.time, rollup.grain)]
        chosen = flt.admin_ids
    else:
        time_key = _time_key(group_by, rollup.time, rollup.grain)
        where = [time_key > after[0]] if after is not None else []
        if until is not None:
            # Without it, the groups of several admins (or numbers) are every one of their
            # rows of the period, grouped and sorted before the LIMIT cuts them.
            where.append(time_key <= until)
        return await read([time_key], where, limit)
    # Calls with no admin (nobody answered or was assigned to) or no number ('' in
    # roll-ups) come after the others.
    keys = [leading, *rest]
    found: list[tuple[Key, Any]] = []
    if after is None or after[0] is not None:
        # "> ''", not "<> ''": the empty key sorts first, and a range skips its rows.
        where = [leading > ""]
        if group_by.startswith("employee") and (flt.clinic_ids or _within_weeks(flt)):
            # A clinic's admins, or a short period: the admins with calls there, each
            # one's range of the primary key. Left to choose, PostgreSQL reads the key in
            # admin order for the LIMIT, skipping other admins' or days' rows one by one.
            # Named admins are those ranges already.
            admins = flt.admin_ids or {a for a, _ in await admins_with_calls(session, flt)}
            where = [leading.in_(sorted(admins - {""}))]
        if after is not None:
            where.append(sa.tuple_(*keys) > sa.tuple_(*after))
        found = await read(keys, where, limit)
    # Under a filter of named admins (or numbers), the calls without one never match.
    if len(found) < limit and (not chosen or "" in chosen):
        where = [leading == ""]
        if after is not None and after[0] is None:
            if not rest:
                return [((key[0] or None, *key[1:]), figures) for key, figures in found]
            where.append(rest[0] > after[1])
        found += await read(keys, where, limit - len(found))
    return [((key[0] or None, *key[1:]), figures) for key, figures in found]


def _within_weeks(flt: CallLogFilter, weeks: int = 2) -> bool:
    """Whether the filter's period is bounded and at most ``weeks`` long."""
    period = flt.period
    if period.from_local is None or period.to_local is None:
        return False
    return period.to_local - period.from_local <= timedelta(weeks=weeks)


def _call_log_key(group_by: str) -> list[Any]:
    c = call_log.c
    keys: dict[str, list[Any]] = {
        "day": [sa.cast(c.local_started_at, sa.Date)],
        "hour": [sa.func.date_trunc("hour", c.local_started_at)],
        # Byte order, as the roll-ups: grouped in the order of the page, so that the
        # groups after the page are never aggregated.
        "employee_day": [sa.collate(c.admin_id, "C"), sa.cast(c.local_started_at, sa.Date)],
        "employee_month": [
            sa.collate(c.admin_id, "C"),
            sa.cast(sa.func.date_trunc("month", c.local_started_at), sa.Date),
        ],
        "did": [sa.collate(c.did, "C")],
    }
    return keys[group_by]


async def _call_log_groups(
    session: AsyncSession,
    flt: CallLogFilter,
    group_by: str,
    after: Key | None,
    limit: int,
    measure: Measures = CALL_SUMS,
) -> list[tuple[Key, GroupFigures]]:
    """The page of groups after ``after`` by GROUP BY over the matching calls: it reads
    every matching call, but orders and cuts the groups in the database (a year of
    employee-days is tens of thousands of groups)."""
    flt = await resolve_search(session, flt)
    keys = _call_log_key(group_by)
    measures = measure.call_log()
    query = sa.select(*keys, *measures).where(*call_log_conditions(flt)).group_by(*keys)
    if group_by.startswith("employee") or group_by == "did":
        # Calls with no admin or no number last, as in the roll-ups.
        leading, rest = keys[0], keys[1:]
        query = query.order_by(leading.asc().nulls_last(), *rest)
        if after is not None and after[0] is None:
            # Within the last group (no admin, no number): a time after the cursor's.
            query = query.where(leading.is_(None), rest[0] > after[1] if rest else sa.false())
        elif after is not None:
            later = sa.tuple_(*keys) > sa.tuple_(sa.literal(after[0]), *after[1:])
            query = query.where(sa.or_(leading.is_(None), later))
    else:
        query = query.order_by(keys[0])
        if after is not None:
            query = query.where(keys[0] > after[0])
    rows = (await session.execute(query.limit(limit))).all()
    return [(tuple(row[: len(keys)]), measure.figures(group_by, len(keys), row)) for row in rows]


async def _groups(
    session: AsyncSession,
    flt: CallLogFilter,
    group_by: str,
    rollup: Rollup | None,
    after: Key | None,
    limit: int,
    measure: Measures,
    until: Any = None,
) -> list[tuple[Key, GroupFigures]]:
    if rollup is None:
        return await _call_log_groups(session, flt, group_by, after, limit, measure)
    return await _rollup_groups(session, flt, group_by, rollup, after, limit, measure, until)


async def report_page(
    session: AsyncSession,
    flt: CallLogFilter,
    group_by: str,
    rollup: Rollup | None,
    *,
    limit: int,
    cursor: str | None = None,
    default_zone: str = "Europe/Moscow",
    measure: Measures = CALL_SUMS,
) -> ReportPage:
    """The groups after ``cursor`` (at most ``limit``), from ``rollup`` or the call log.

    By day and by hour every bucket of the period is a group, zero where nothing
    happened (:mod:`..domain.buckets`), and the cursor walks the buckets."""
    after = decode_cursor(cursor, group_by) if cursor is not None else None
    source = rollup.table.name if rollup is not None else "call_log"
    if group_by in FILLED:
        return await _filled_page(
            session, flt, group_by, rollup, after, limit, default_zone, measure
        )
    found = await _groups(session, flt, group_by, rollup, after, limit + 1, measure)
    next_cursor = encode_cursor(group_by, found[limit - 1][0]) if len(found) > limit else None
    return ReportPage(
        groups=[figures for _, figures in found[:limit]], source=source, next_cursor=next_cursor
    )


#: The groupings that list every bucket of their period, and the grain of their buckets.
FILLED = {"day": "day", "hour": "hour"}


async def report_zones(
    session: AsyncSession, flt: CallLogFilter, default_zone: str
) -> list[ZoneInfo]:
    """The time zones a report covers: its clinics' (every known clinic's without a clinic
    filter), and the default zone of calls whose clinic's zone is unknown."""
    query = sa.select(clinics.c.clinic_id, clinics.c.time_zone)
    if flt.clinic_ids:
        query = query.where(clinics.c.clinic_id.in_(sorted(flt.clinic_ids)))
    known = {clinic: zone for clinic, zone in (await session.execute(query)).all()}
    names = set(known.values())
    if not flt.clinic_ids or set(flt.clinic_ids) - set(known):
        names.add(default_zone)
    zones = []
    for name in sorted(names):
        try:
            zones.append(ZoneInfo(name))
        except (ZoneInfoNotFoundError, ValueError):
            continue  # a zone PostgreSQL knows and Python does not: its calls still count
    return zones or [ZoneInfo("UTC")]


async def _extent(
    session: AsyncSession, flt: CallLogFilter, group_by: str, rollup: Rollup | None
) -> tuple[Any, Any]:
    """The first and last group key with calls under the filters (``None``s without)."""
    if rollup is None:
        flt = await resolve_search(session, flt)
        (key,) = _call_log_key(group_by)
        query = sa.select(sa.func.min(key), sa.func.max(key)).where(*call_log_conditions(flt))
    else:
        key = _time_key(group_by, rollup.time, rollup.grain)
        query = sa.select(sa.func.min(key), sa.func.max(key)).where(
            *rollup_conditions(flt, rollup), rollup.table.c.calls > 0
        )
    first, last = (await session.execute(query)).one()
    return first, last


async def _filled_page(
    session: AsyncSession,
    flt: CallLogFilter,
    group_by: str,
    rollup: Rollup | None,
    after: Key | None,
    limit: int,
    default_zone: str,
    measure: Measures,
) -> ReportPage:
    grain = FILLED[group_by]
    source = rollup.table.name if rollup is not None else "call_log"
    zones = await report_zones(session, flt, default_zone)
    first = last = None
    period = flt.period
    if (period.from_local is None and period.from_instant is None) or (
        period.to_local is None and period.to_instant is None
    ):
        first, last = await _extent(session, flt, group_by, rollup)
    try:
        bounds = buckets.span(period, grain, zones, first, last)
    except buckets.SpanError as exc:
        raise QueryError(str(exc)) from exc
    if bounds is None:
        return ReportPage(groups=[], source=source, next_cursor=None)
    page = list(
        itertools.islice(
            buckets.buckets(grain, bounds, zones, after[0] if after else None), limit + 1
        )
    )
    keys: list[Key] = [(bucket,) for bucket in page[:limit]]
    if not keys:
        return ReportPage(groups=[], source=source, next_cursor=None)
    found = dict(
        await _groups(session, flt, group_by, rollup, after, len(keys), measure, keys[-1][0])
    )
    found = {key: figures for key, figures in found.items() if key <= keys[-1]}
    groups = [
        found.get(key) or GroupFigures(key=public_key(group_by, key), by_type={})
        for key in sorted(set(keys) | set(found))
    ]
    next_cursor = encode_cursor(group_by, keys[-1]) if len(page) > limit else None
    return ReportPage(groups=groups, source=source, next_cursor=next_cursor)
