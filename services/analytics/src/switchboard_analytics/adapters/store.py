"""Write-side SQL of the projection: call rows, roll-up deltas, touches, tags, directory.

Every statement is built once, at import, with bind parameters: building SQLAlchemy
constructs per event costs more than PostgreSQL takes to run them. Every statement goes
through the :mod:`.tables` objects (never a table name in text), so that ``rebuild`` runs
the very same code against fresh tables in another schema (``schema_translate_map``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard_analytics.adapters.tables import (
    CONVERSION_COLUMNS,
    KPI_ROLLUP_TABLES,
    ROLLUP_TABLES,
    appointments,
    call_log,
    call_tags,
    clinics,
    touches,
)
from switchboard_analytics.domain.callback import CallFacts
from switchboard_analytics.domain.kpi import CALLBACK_DELAY_BOUNDS, WAIT_BOUNDS

#: Key of the transaction-level advisory lock that serialises the live projection when
#: several replicas consume (each takes some partitions): roll-up rows are shared by calls
#: of every partition, and serial updates can never deadlock.
PROJECTION_LOCK_KEY = 0x5B_A7_A1_C5

#: The call log columns a call event sets (the rest are derived or maintained here).
CALL_COLUMNS = (
    "call_id",
    "started_at",
    "answered_at",
    "ended_at",
    "call_type",
    "src",
    "dst",
    "extension",
    "clinic_id",
    "did",
    "operator_id",
    "disposition",
    "wait_seconds",
    "talk_seconds",
    "total_seconds",
    "recording_url",
    "end_reason",
)
CALLBACK_COLUMNS = ("called_back", "callback_call_id", "callback_delay_seconds")
#: Every call log column the projection writes (the others are generated or derived).
WRITTEN_COLUMNS = (*CALL_COLUMNS, *CALLBACK_COLUMNS)


def _param(name: str, column: sa.Column[Any] | None = None) -> sa.BindParameter[Any]:
    return sa.bindparam(name, type_=column.type if column is not None else sa.Text)


def _array(name: str, item: Any) -> sa.Cast[Any]:
    """A bind parameter holding a list, typed for PostgreSQL (``= ANY``, ``unnest``)."""
    return sa.cast(sa.bindparam(name, type_=pg.ARRAY(item)), pg.ARRAY(item))


_LOCK = sa.select(sa.func.pg_advisory_xact_lock(PROJECTION_LOCK_KEY))


async def lock_projection(session: AsyncSession) -> None:
    """Take the projection's advisory lock for this transaction (once per transaction)."""
    if session.info.get("analytics_locked"):
        return
    await session.execute(_LOCK)
    session.info["analytics_locked"] = True


# ---------------------------------------------------------------------------------------
# Roll-ups


def _rollup_statement(where: sa.ColumnElement[bool]) -> sa.Select[Any]:
    """Add ``:sign`` times the ended calls matching ``where`` to every roll-up and service
    level roll-up, in one statement (one INSERT … ON CONFLICT per roll-up, as CTEs over
    one source)."""
    c = call_log.c
    sign = sa.bindparam("sign", type_=sa.Integer)
    source = (
        sa.select(
            sa.func.date_trunc("hour", c.local_started_at).label("local_hour"),
            sa.cast(c.local_started_at, sa.Date).label("local_day"),
            sa.cast(sa.func.date_trunc("month", c.local_started_at), sa.Date).label("local_month"),
            sa.func.coalesce(c.clinic_id, "").label("clinic_id"),
            sa.func.coalesce(c.admin_id, "").label("admin_id"),
            sa.func.coalesce(c.did, "").label("did"),
            c.call_type,
            c.disposition,
            c.called_back,
            sa.func.coalesce(c.talk_seconds, 0).label("talk_seconds"),
            sa.func.coalesce(c.wait_seconds, 0).label("wait_seconds"),
            *_kpi_buckets(),
            *_conversion_measures(),
        )
        .where(c.ended_at.is_not(None), c.disposition.is_not(None), where)
        .cte("rollup_source")
    )
    upserts = []
    for table in ROLLUP_TABLES:
        keys = [col.name for col in table.primary_key.columns]
        grouped = sa.select(
            *[source.c[k] for k in keys],
            (sa.func.count() * sign).label("calls"),
            (sa.func.sum(source.c.talk_seconds) * sign).label("talk_seconds"),
            (sa.func.sum(source.c.wait_seconds) * sign).label("wait_seconds"),
            *((sa.func.sum(source.c[m]) * sign).label(m) for m in CONVERSION_COLUMNS),
        ).group_by(*[source.c[k] for k in keys])
        insert = pg_insert(table).from_select(
            [*keys, "calls", "talk_seconds", "wait_seconds", *CONVERSION_COLUMNS], grouped
        )
        merged: dict[str, Any] = {
            measure: table.c[measure] + insert.excluded[measure]
            for measure in ("calls", "talk_seconds", "wait_seconds", *CONVERSION_COLUMNS)
        }
        upserts.append(
            insert.on_conflict_do_update(index_elements=keys, set_=merged).cte(
                f"upsert_{table.name}"
            )
        )
    upserts += _kpi_upserts(source, sign)
    return sa.select(sa.literal(1)).add_cte(source, *upserts)


def _kpi_buckets() -> list[sa.ColumnElement[Any]]:
    """Per call: the wait bucket of an answered incoming call and the call-back delay
    bucket of a called-back missed one (1-based, ``domain.kpi``'s bounds), else NULL."""
    c = call_log.c
    incoming = c.call_type == "incoming"
    return [
        sa.case(
            (
                sa.and_(incoming, c.disposition == "answered"),
                sa.func.width_bucket(
                    sa.func.coalesce(c.wait_seconds, 0),
                    sa.literal(list(WAIT_BOUNDS), pg.ARRAY(sa.Integer)),
                ),
            )
        ).label("wait_bucket"),
        sa.case(
            (
                sa.and_(incoming, c.disposition == "missed", c.called_back),
                sa.func.width_bucket(
                    sa.func.coalesce(c.callback_delay_seconds, 0),
                    sa.literal(list(CALLBACK_DELAY_BOUNDS), pg.ARRAY(sa.Integer)),
                ),
            )
        ).label("delay_bucket"),
    ]


def _conversion_measures() -> list[sa.ColumnElement[Any]]:
    """Per call, what it adds to each conversion measure (``domain.conversion``): an
    answered incoming call with a touch counts, its appointments only when it has one."""
    c = call_log.c
    touched = sa.and_(c.call_type == "incoming", c.disposition == "answered", c.has_touch)
    booked = sa.and_(touched, c.appointments_booked > 0)
    all_cancelled = sa.and_(booked, c.appointments_cancelled == c.appointments_booked)
    return [
        sa.case((touched, 1), else_=0).label("with_touch"),
        sa.case((booked, 1), else_=0).label("with_appointment"),
        sa.case((all_cancelled, 1), else_=0).label("cancelled"),
        sa.case((booked, c.appointments_booked), else_=0).label("appointments"),
        sa.case((booked, c.appointments_cancelled), else_=0).label("appointments_cancelled"),
    ]


def _cumulative(bucket: Any, size: int, sign: Any) -> sa.ColumnElement[Any]:
    """``sign`` times a group's calls per ``bucket`` (1 to ``size``), cumulative (see
    ``tables._kpi_rollup``); NULL when no call of the group has a bucket."""
    counts = [sa.func.count().filter(bucket <= index) * sign for index in range(1, size + 1)]
    return sa.case((sa.func.count(bucket) > 0, sa.cast(pg.array(counts), pg.ARRAY(sa.Integer))))


def _kpi_upserts(source: Any, sign: Any) -> list[Any]:
    """The service level roll-ups' INSERT … ON CONFLICT CTEs (``tables._kpi_rollup``)."""
    s = source.c
    incoming = s.call_type == "incoming"
    answered = sa.and_(incoming, s.disposition == "answered")
    missed = sa.and_(incoming, s.disposition == "missed")
    measures = {
        "calls": sa.func.count() * sign,
        "incoming": sa.func.count().filter(incoming) * sign,
        "answered": sa.func.count().filter(answered) * sign,
        "missed": sa.func.count().filter(missed) * sign,
        "called_back": sa.func.count().filter(missed, s.called_back) * sign,
        "answered_wait_seconds": sa.func.coalesce(
            sa.func.sum(s.wait_seconds).filter(answered) * sign, 0
        ),
        "waits": _cumulative(s.wait_bucket, len(WAIT_BOUNDS), sign),
        "callback_delays": _cumulative(s.delay_bucket, len(CALLBACK_DELAY_BOUNDS), sign),
    }
    upserts = []
    for table in KPI_ROLLUP_TABLES:
        keys = [col.name for col in table.primary_key.columns]
        grouped = sa.select(
            *[s[k] for k in keys], *(v.label(k) for k, v in measures.items())
        ).group_by(*[s[k] for k in keys])
        insert = pg_insert(table).from_select([*keys, *measures], grouped)
        merged: dict[str, Any] = {
            k: table.c[k] + insert.excluded[k] for k in measures if k not in _HISTOGRAMS
        }
        for k in _HISTOGRAMS:
            # Most calls add no histogram (only answered or called-back incoming ones do).
            merged[k] = sa.case(
                (insert.excluded[k].is_(None), table.c[k]),
                else_=sa.func.histogram_add(table.c[k], insert.excluded[k], type_=table.c[k].type),
            )
        upserts.append(
            insert.on_conflict_do_update(index_elements=keys, set_=merged).cte(
                f"upsert_{table.name}"
            )
        )
    return upserts


_HISTOGRAMS = ("waits", "callback_delays")


#: Which calls each roll-up delta reads.
_ROLLUP_WHERE: dict[str, Callable[[], sa.ColumnElement[bool]]] = {
    "call": lambda: call_log.c.call_id == _param("call_id"),
    # An array, not an expanded IN list: one statement text whatever the batch, so the
    # server prepares and plans it once per connection.
    "calls": lambda: call_log.c.call_id == sa.any_(_array("call_ids", sa.Text)),
    "clinic": lambda: call_log.c.clinic_id == _param("clinic_id"),
    "all": sa.true,
}


@functools.cache
def _rollup(calls: str) -> sa.Select[Any]:
    """The roll-up delta of ``calls`` (a key of ``_ROLLUP_WHERE``), built at its first use:
    a service runs only the ones its work needs (the live projection one, a rebuild
    another)."""
    return _rollup_statement(_ROLLUP_WHERE[calls]())


# Every change to a counted call is "take its contribution away, change it, add it back",
# so a roll-up always equals a GROUP BY over the call log, whatever changed (disposition,
# admin, called-back flag, the clinic's time zone).


async def count_call(session: AsyncSession, call_id: str, sign: int) -> None:
    """Add (``sign=1``) or take away (``-1``) one call (if ended) in every roll-up."""
    await session.execute(_rollup("call"), {"call_id": call_id, "sign": sign})


async def count_calls(session: AsyncSession, call_ids: Sequence[str], sign: int) -> None:
    """:func:`count_call` for several calls, in one statement."""
    await session.execute(_rollup("calls"), {"call_ids": list(call_ids), "sign": sign})


async def count_clinic(session: AsyncSession, clinic_id: str, sign: int) -> None:
    """:func:`count_call` for every call of a clinic."""
    await session.execute(_rollup("clinic"), {"clinic_id": clinic_id, "sign": sign})


async def rebuild_rollups(session: AsyncSession) -> None:
    """Empty the roll-ups and fill them from the call log (bulk loads)."""
    for table in (*ROLLUP_TABLES, *KPI_ROLLUP_TABLES):
        await session.execute(sa.delete(table))
    await session.execute(_rollup("all"), {"sign": 1})


# ---------------------------------------------------------------------------------------
# Call rows


# The rows are read and written by :mod:`.call_rows`.


def tags_of(call_id: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
    """The sorted union of every source's tags of the call ``call_id`` ('{}' if none)."""
    # unnest() in FROM beside call_tags is implicitly LATERAL; no FROM subquery, so the
    # call id may be a correlated column as well as a parameter.
    unnested = sa.func.unnest(call_tags.c.tags).table_valued("tag").render_derived("call_tag")
    tag = unnested.c.tag
    union = (
        sa.select(sa.func.array_agg(pg.aggregate_order_by(sa.distinct(tag), tag)))
        .select_from(call_tags.join(unnested, sa.true()))
        .where(call_tags.c.call_id == call_id)
        .scalar_subquery()
    )
    return sa.func.coalesce(union, sa.cast(sa.literal([], pg.ARRAY(sa.Text)), pg.ARRAY(sa.Text)))


def conversion_of(call_id: sa.ColumnElement[Any]) -> dict[str, sa.ColumnElement[Any]]:
    """The conversion columns of the call ``call_id`` (a correlated column or a parameter),
    from the stored touches and appointments: whether a touch names it, how many
    appointments were booked during it (naming it) or from one of its touches (naming
    the touch and no call), and how many of those were cancelled. Every way a call row is
    written or refreshed takes them from here, so that it does not matter whether the
    call, its touch or its appointment arrived first."""
    t, a = touches.c, appointments.c

    def booked(*more: sa.ColumnElement[bool]) -> sa.ColumnElement[Any]:
        during = sa.select(sa.func.count()).where(
            a.call_id == call_id, a.booked_at.is_not(None), *more
        )
        from_touch = (
            sa.select(sa.func.count())
            .select_from(touches.join(appointments, a.touch_id == t.touch_id))
            .where(t.call_id == call_id, a.call_id.is_(None), a.booked_at.is_not(None), *more)
        )
        return sa.cast(during.scalar_subquery() + from_touch.scalar_subquery(), sa.Integer)

    return {
        "has_touch": sa.exists().where(t.call_id == call_id),
        "appointments_booked": booked(),
        "appointments_cancelled": booked(a.cancelled_at.is_not(None)),
    }


# ---------------------------------------------------------------------------------------
# Called back


def facts_of(row: Mapping[Any, Any]) -> CallFacts:
    """The called-back rule's view of a call row."""
    return CallFacts(
        call_id=row["call_id"],
        call_type=row["call_type"],
        disposition=row["disposition"] or "",
        src=row["src"],
        dst=row["dst"],
        started_at=row["started_at"],
    )


_FACT_COLUMNS = (
    call_log.c.call_id,
    call_log.c.call_type,
    call_log.c.disposition,
    call_log.c.src,
    call_log.c.dst,
    call_log.c.started_at,
)
_SET_CALLBACK = (
    sa.update(call_log)
    .where(call_log.c.call_id == _param("w_call_id"))
    .values({k: _param(f"v_{k}", call_log.c[k]) for k in CALLBACK_COLUMNS})
)


def _windows(prefix: str) -> Any:
    """``unnest`` of three parallel lists (number, from, until): one row per window."""
    moment = call_log.c.started_at.type
    return (
        sa.func.unnest(
            _array(f"{prefix}_numbers", sa.Text),
            _array(f"{prefix}_froms", moment),
            _array(f"{prefix}_untils", moment),
        )
        .table_valued("number", "from_at", "until_at")
        .render_derived(prefix)
    )


_MISSED_WINDOWS = _windows("mw")
_MISSED_IN_WINDOWS = (
    sa.select(*_FACT_COLUMNS, *[call_log.c[k] for k in CALLBACK_COLUMNS])
    .select_from(
        call_log.join(
            _MISSED_WINDOWS,
            sa.and_(
                call_log.c.src == _MISSED_WINDOWS.c.number,
                call_log.c.started_at >= _MISSED_WINDOWS.c.from_at,
                call_log.c.started_at < _MISSED_WINDOWS.c.until_at,
            ),
        )
    )
    .where(
        call_log.c.call_type == "incoming",
        call_log.c.disposition == "missed",
        call_log.c.ended_at.is_not(None),
    )
    .with_for_update(of=call_log)
)


def _candidates_in_windows() -> sa.CompoundSelect[Any]:
    """Settled calls reaching each window's number and starting in ``(from, until]``,
    with that number: two index range scans per window (by callee, by caller)."""
    windows = _windows("cw")
    in_window = sa.and_(
        call_log.c.ended_at.is_not(None),
        call_log.c.started_at > windows.c.from_at,
        call_log.c.started_at <= windows.c.until_at,
    )
    columns = (windows.c.number, *_FACT_COLUMNS)
    outgoing = (
        sa.select(*columns)
        .select_from(call_log.join(windows, call_log.c.dst == windows.c.number))
        .where(in_window, call_log.c.call_type == "outgoing")
    )
    answered = (
        sa.select(*columns)
        .select_from(call_log.join(windows, call_log.c.src == windows.c.number))
        .where(
            in_window,
            call_log.c.call_type == "incoming",
            call_log.c.disposition == "answered",
        )
    )
    return sa.union_all(outgoing, answered)


_CANDIDATES_IN_WINDOWS = _candidates_in_windows()


def _window_params(prefix: str, windows: Sequence[tuple[str, datetime, datetime]]) -> Any:
    return {
        f"{prefix}_numbers": [w[0] for w in windows],
        f"{prefix}_froms": [w[1] for w in windows],
        f"{prefix}_untils": [w[2] for w in windows],
    }


async def missed_calls_in(
    session: AsyncSession, windows: Sequence[tuple[str, datetime, datetime]]
) -> list[sa.RowMapping]:
    """Settled missed incoming calls from a window's number that started in
    ``[since, before)``, for several ``(number, since, before)`` windows at once, with
    their current called-back columns, locked for this transaction (each call once)."""
    if not windows:
        return []
    rows = await session.execute(_MISSED_IN_WINDOWS, _window_params("mw", windows))
    unique = {r._mapping["call_id"]: r._mapping for r in rows}
    return list(unique.values())


async def callback_candidates_in(
    session: AsyncSession, windows: Sequence[tuple[str, datetime, datetime]]
) -> dict[str, list[CallFacts]]:
    """Settled calls that reach a window's number and start in ``(after, until]``: the
    calls that may call back a missed call from it (the rule itself decides), by number,
    for several ``(number, after, until)`` windows at once (each call once per number)."""
    found: dict[str, dict[str, CallFacts]] = {}
    if windows:
        rows = await session.execute(_CANDIDATES_IN_WINDOWS, _window_params("cw", windows))
        for row in rows:
            m = row._mapping
            found.setdefault(m["number"], {})[m["call_id"]] = facts_of(m)
    return {number: list(calls.values()) for number, calls in found.items()}


# ---------------------------------------------------------------------------------------
# Touches and tags

_TOUCH_CALL_IDS = (
    sa.select(touches.c.touch_id, touches.c.call_id)
    .where(touches.c.touch_id == sa.any_(_array("touch_ids", sa.Text)))
    .order_by(touches.c.touch_id)
    .with_for_update()
)
_TOUCH_INSERT = pg_insert(touches).values(
    {column.name: _param(f"v_{column.name}", column) for column in touches.columns}
)
_NEWER_TOUCH = touches.c.version_at <= _TOUCH_INSERT.excluded.version_at
_UPSERT_TOUCH = _TOUCH_INSERT.on_conflict_do_update(
    index_elements=[touches.c.touch_id],
    set_={
        # The newer state wins column by column, except that a touch keeps the call it was
        # linked to when the newer state names none: the end state is the same whichever
        # of a touch's events comes first.
        "call_id": sa.case(
            (_NEWER_TOUCH, sa.func.coalesce(_TOUCH_INSERT.excluded.call_id, touches.c.call_id)),
            else_=sa.func.coalesce(touches.c.call_id, _TOUCH_INSERT.excluded.call_id),
        ),
        **{
            name: sa.case((_NEWER_TOUCH, _TOUCH_INSERT.excluded[name]), else_=touches.c[name])
            for name in ("contact_id", "contact_kind", "contact_name", "operator_id")
        },
        "version_at": sa.func.greatest(touches.c.version_at, _TOUCH_INSERT.excluded.version_at),
    },
)
_TOUCH_COLUMNS = ("contact_id", "contact_kind", "contact_name", "assigned_operator_id")
#: What a call takes from its links for the conversion report (``conversion_of``).
CONVERSION_CALL_COLUMNS = ("has_touch", "appointments_booked", "appointments_cancelled")
_LINKED_COLUMNS = (*_TOUCH_COLUMNS, *CONVERSION_CALL_COLUMNS)
_CALL_LINKS = (
    sa.select(
        call_log.c.call_id,
        call_log.c.ended_at,
        *[call_log.c[k] for k in _LINKED_COLUMNS],
        *[value.label(f"wanted_{k}") for k, value in conversion_of(call_log.c.call_id).items()],
    )
    .where(call_log.c.call_id == sa.any_(_array("call_ids", sa.Text)))
    .order_by(call_log.c.call_id)
    .with_for_update(of=call_log)
)
#: The latest touch of each call (the newest version, then the greatest touch id).
_LATEST_TOUCHES = (
    sa.select(
        touches.c.call_id,
        touches.c.contact_id,
        touches.c.contact_kind,
        touches.c.contact_name,
        touches.c.operator_id,
    )
    .where(touches.c.call_id == sa.any_(_array("call_ids", sa.Text)))
    .ext(pg.distinct_on(touches.c.call_id))
    .order_by(touches.c.call_id, touches.c.version_at.desc(), touches.c.touch_id.desc())
)
_SET_LINKED_COLUMNS = (
    sa.update(call_log)
    .where(call_log.c.call_id == _param("w_call_id"))
    .values({k: _param(f"v_{k}", call_log.c[k]) for k in _LINKED_COLUMNS})
)
_TAGS_INSERT = pg_insert(call_tags).values(
    {column.name: _param(f"v_{column.name}", column) for column in call_tags.columns}
)
_UPSERT_TAGS = _TAGS_INSERT.on_conflict_do_update(
    index_elements=[call_tags.c.call_id, call_tags.c.source],
    set_={"tags": _TAGS_INSERT.excluded.tags, "tagged_at": _TAGS_INSERT.excluded.tagged_at},
    where=call_tags.c.tagged_at <= _TAGS_INSERT.excluded.tagged_at,
)
_REFRESH_TAGS = (
    sa.update(call_log)
    .where(call_log.c.call_id == sa.any_(_array("call_ids", sa.Text)))
    .values(tags=tags_of(call_log.c.call_id))
)


def _rounds(items: Sequence[Mapping[str, Any]], key: str) -> list[list[Mapping[str, Any]]]:
    """Split versioned upserts so that each round has a row at most once: the n-th event
    of a row goes to round n, so each row's events still apply in their order."""
    seen: dict[Any, int] = {}
    rounds: list[list[Mapping[str, Any]]] = []
    for item in items:
        n = seen[item[key]] = seen.get(item[key], -1) + 1
        if n == len(rounds):
            rounds.append([])
        rounds[n].append(item)
    return rounds


async def touch_call_ids(session: AsyncSession, touch_ids: Sequence[str]) -> dict[str, str]:
    """The calls that stored touches are linked to, by touch id (locking the touches)."""
    rows = await session.execute(_TOUCH_CALL_IDS, {"touch_ids": list(touch_ids)})
    return {touch_id: call_id for touch_id, call_id in rows if call_id is not None}


async def upsert_touches(session: AsyncSession, states: Sequence[Mapping[str, Any]]) -> None:
    """Store touches' states, in order, unless a newer one is stored (a lost link to a
    call is kept)."""
    for round_ in _rounds(states, "touch_id"):
        await session.execute(_UPSERT_TOUCH, [{f"v_{k}": v for k, v in s.items()} for s in round_])


async def refresh_linked_columns(
    session: AsyncSession, call_ids: Sequence[str], *, counted: bool = True
) -> None:
    """Copy onto each call row (of those that have one) what it takes from its links: the
    latest touch's contact and assigned operator, and the conversion columns (a touch
    names it; its appointments, booked and cancelled). Counted calls whose roll-up
    figures change move in the roll-ups (unless not ``counted``: the caller counts them)."""
    if not call_ids:
        return
    ids = {"call_ids": sorted(set(call_ids))}
    current = {r.call_id: r._mapping for r in await session.execute(_CALL_LINKS, ids)}
    if not current:
        return
    latest = {r.call_id: tuple(r)[1:] for r in await session.execute(_LATEST_TOUCHES, ids)}
    changes, moved = [], []
    for call_id, row in current.items():
        touch = latest.get(call_id, (None, None, None, None))
        wanted = {
            **dict(zip(_TOUCH_COLUMNS, touch, strict=True)),
            **{k: row[f"wanted_{k}"] for k in CONVERSION_CALL_COLUMNS},
        }
        if all(row[k] == v for k, v in wanted.items()):
            continue
        changes.append({"w_call_id": call_id, **{f"v_{k}": v for k, v in wanted.items()}})
        # The assigned operator is the admin of a call nobody answered (a roll-up
        # dimension); the conversion columns are roll-up measures.
        figures = ("assigned_operator_id", *CONVERSION_CALL_COLUMNS)
        if counted and row["ended_at"] is not None and any(row[k] != wanted[k] for k in figures):
            moved.append(call_id)
    if not changes:
        return
    if moved:
        await count_calls(session, moved, -1)
    await session.execute(_SET_LINKED_COLUMNS, changes)
    if moved:
        await count_calls(session, moved, 1)


async def upsert_tags(
    session: AsyncSession, taggings: Sequence[Mapping[str, Any]], *, refresh_calls: bool = True
) -> None:
    """Store sources' latest tags of calls (``call_id``, ``source``, ``tags``,
    ``tagged_at`` each, in order) and refresh the call rows' tags."""
    rows = [
        {
            "v_call_id": t["call_id"],
            "v_source": t["source"],
            "v_tags": sorted(set(t["tags"])),
            "v_tagged_at": t["tagged_at"],
            "key": (t["call_id"], t["source"]),
        }
        for t in taggings
    ]
    for round_ in _rounds(rows, "key"):
        await session.execute(
            _UPSERT_TAGS, [{k: v for k, v in r.items() if k != "key"} for r in round_]
        )
    if refresh_calls and rows:
        await session.execute(_REFRESH_TAGS, {"call_ids": sorted({t["call_id"] for t in taggings})})


# ---------------------------------------------------------------------------------------
# Directory


_CLINIC_ZONE = (
    sa.select(clinics.c.time_zone)
    .where(clinics.c.clinic_id == _param("clinic_id"))
    .with_for_update()
)
_REZONE = (
    sa.update(call_log)
    .where(
        call_log.c.clinic_id == _param("w_clinic_id"),
        call_log.c.time_zone != _param("v_time_zone"),
    )
    .values(time_zone=_param("v_time_zone"))
)


_ZONE_KNOWN = sa.select(
    sa.exists()
    .where(sa.column("name") == _param("zone"))
    .select_from(sa.table("pg_timezone_names"))
)


async def zone_known(session: AsyncSession, zone: str) -> bool:
    """Whether PostgreSQL's time zone database knows ``zone`` (it computes local times)."""
    return bool(await session.scalar(_ZONE_KNOWN, {"zone": zone}))


async def clinic_zone(session: AsyncSession, clinic_id: str) -> str | None:
    """The stored time zone of a clinic (locking its row), if known."""
    result = await session.execute(_CLINIC_ZONE, {"clinic_id": clinic_id})
    return result.scalar_one_or_none()


async def rezone_clinic(session: AsyncSession, clinic_id: str, time_zone: str) -> None:
    """Move a clinic's calls to its (new) time zone: clinic-local times and the roll-up
    buckets they count in."""
    await count_clinic(session, clinic_id, -1)
    await session.execute(_REZONE, {"w_clinic_id": clinic_id, "v_time_zone": time_zone})
    await count_clinic(session, clinic_id, 1)


async def write_callbacks(session: AsyncSession, changes: Sequence[Mapping[str, Any]]) -> None:
    """Write called-back columns as given (the caller keeps the roll-ups in step: it takes
    counted calls away before and adds them back after, or rebuilds the roll-ups)."""
    if changes:
        await session.execute(
            _SET_CALLBACK,
            [
                {"w_call_id": c["call_id"], **{f"v_{k}": c[k] for k in CALLBACK_COLUMNS}}
                for c in changes
            ],
        )
