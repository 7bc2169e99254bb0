"""Write-side SQL of the projection: call rows, touches, tags, directory (the roll-ups'
in :mod:`.rollup_deltas`, the called-back rule's in :mod:`.callback_rows`).

Every statement is built once, at import, with bind parameters: building SQLAlchemy
constructs per event costs more than PostgreSQL takes to run them. Every statement goes
through the :mod:`.tables` objects (never a table name in text), so that ``rebuild`` runs
the very same code against fresh tables in another schema (``schema_translate_map``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard_analytics.adapters.binds import array, given_params, given_rows, param
from switchboard_analytics.adapters.rollup_deltas import count_calls, count_clinic
from switchboard_analytics.adapters.tables import (
    appointments,
    call_log,
    call_tags,
    clinics,
    contact_names,
    touches,
)

#: Key of the transaction-level advisory lock that serialises the live projection when
#: several replicas consume (each takes some partitions): a call's derived columns and
#: the called-back rule read rows that other partitions' events write, and serial
#: updates can never deadlock.
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


_LOCK = sa.select(sa.func.pg_advisory_xact_lock(PROJECTION_LOCK_KEY))


async def lock_projection(session: AsyncSession) -> None:
    """Take the projection's advisory lock for this transaction (once per transaction)."""
    if session.info.get("analytics_locked"):
        return
    await session.execute(_LOCK)
    session.info["analytics_locked"] = True


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


#: A call's latest touch: the newest version, then the greatest touch id.
LATEST_TOUCH_FIRST = (touches.c.version_at.desc(), touches.c.touch_id.desc())


class Linked(NamedTuple):
    """What a call takes from its touches and appointments, read by ``LATERAL`` look-ups
    that each find every column of theirs at once (one index probe for the latest touch's
    four columns and ``has_touch``, one per way an appointment names the call)."""

    lookups: tuple[sa.FromClause, ...]
    #: The call log's columns, from the look-ups.
    columns: dict[str, sa.ColumnElement[Any]]

    def joined(self, source: sa.FromClause) -> sa.FromClause:
        """``source`` (which has the call id the look-ups read) joined to the look-ups."""
        for lookup in self.lookups:
            source = source.outerjoin(lookup, sa.true())
        return source


def linked_of(call_id: sa.ColumnElement[Any]) -> Linked:
    """The latest touch's contact and operator (the newest version, then the greatest touch
    id) of the call ``call_id`` (a column of the ``FROM`` the look-ups join), and its
    conversion columns: whether a touch names it, how many appointments were booked
    during it (naming it) or from one of its touches (naming the touch and no call), and
    how many of those were cancelled. Every way a call row is written or refreshed takes
    them from here, so that it does not matter whether the call, its touch or its
    appointment arrived first."""
    t, a = touches.c, appointments.c
    latest = (
        sa.select(t.touch_id, t.contact_id, t.contact_kind, t.contact_name, t.operator_id)
        .where(t.call_id == call_id)
        .order_by(*LATEST_TOUCH_FIRST)
        .limit(1)
        .lateral("latest_touch")
    )
    booked = a.booked_at.is_not(None)
    cancelled = sa.and_(booked, a.cancelled_at.is_not(None))

    def counted(name: str, source: sa.FromClause, *where: sa.ColumnElement[bool]) -> sa.FromClause:
        return (
            sa.select(
                sa.func.count().filter(booked).label("booked"),
                sa.func.count().filter(cancelled).label("cancelled"),
            )
            .select_from(source)
            .where(*where)
            .lateral(name)
        )

    during = counted("booked_during", appointments, a.call_id == call_id)
    from_touch = counted(
        "booked_from_touch",
        touches.join(appointments, a.touch_id == t.touch_id),
        t.call_id == call_id,
        a.call_id.is_(None),
    )
    return Linked(
        (latest, during, from_touch),
        {
            "contact_id": latest.c.contact_id,
            "contact_kind": latest.c.contact_kind,
            "contact_name": latest.c.contact_name,
            "assigned_operator_id": latest.c.operator_id,
            "has_touch": latest.c.touch_id.is_not(None),
            "appointments_booked": sa.cast(during.c.booked + from_touch.c.booked, sa.Integer),
            "appointments_cancelled": sa.cast(
                during.c.cancelled + from_touch.c.cancelled, sa.Integer
            ),
        },
    )


# ---------------------------------------------------------------------------------------
# Touches and tags

_TOUCH_CALL_IDS = (
    sa.select(touches.c.touch_id, touches.c.call_id)
    .where(touches.c.touch_id == sa.any_(array("touch_ids", sa.Text)))
    .order_by(touches.c.touch_id)
    .with_for_update()
)
_TOUCH_ROWS = tuple(column.name for column in touches.columns)
_given_touches = given_rows(touches, _TOUCH_ROWS)
_TOUCH_INSERT = pg_insert(touches).from_select(
    _TOUCH_ROWS, sa.select(*[_given_touches.c[k] for k in _TOUCH_ROWS])
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
_ADD_CONTACT_NAMES = (
    pg_insert(contact_names)
    .from_select(["name"], sa.select(sa.func.unnest(array("names", sa.Text))))
    .on_conflict_do_nothing()
)
TOUCH_COLUMNS = ("contact_id", "contact_kind", "contact_name", "assigned_operator_id")
#: What a call takes from its links for the conversion report (``linked_of``).
CONVERSION_CALL_COLUMNS = ("has_touch", "appointments_booked", "appointments_cancelled")
_LINKED_COLUMNS = (*TOUCH_COLUMNS, *CONVERSION_CALL_COLUMNS)
_LINKED = linked_of(call_log.c.call_id)
_CALL_LINKS = (
    sa.select(
        call_log.c.call_id,
        call_log.c.ended_at,
        *[call_log.c[k] for k in _LINKED_COLUMNS],
        *[_LINKED.columns[k].label(f"wanted_{k}") for k in _LINKED_COLUMNS],
    )
    .select_from(_LINKED.joined(call_log))
    .where(call_log.c.call_id == sa.any_(array("call_ids", sa.Text)))
    .order_by(call_log.c.call_id)
    .with_for_update(of=call_log)
)
_LINKED_ROWS = ("call_id", *_LINKED_COLUMNS)
_given_links = given_rows(call_log, _LINKED_ROWS)
_SET_LINKED_COLUMNS = (
    sa.update(call_log)
    .where(call_log.c.call_id == _given_links.c.call_id)
    .values({k: _given_links.c[k] for k in _LINKED_COLUMNS})
)
_TAGS_INSERT = pg_insert(call_tags).values(
    {column.name: param(f"v_{column.name}", column) for column in call_tags.columns}
)
_UPSERT_TAGS = _TAGS_INSERT.on_conflict_do_update(
    index_elements=[call_tags.c.call_id, call_tags.c.source],
    set_={"tags": _TAGS_INSERT.excluded.tags, "tagged_at": _TAGS_INSERT.excluded.tagged_at},
    where=call_tags.c.tagged_at <= _TAGS_INSERT.excluded.tagged_at,
)
_REFRESH_TAGS = (
    sa.update(call_log)
    .where(call_log.c.call_id == sa.any_(array("call_ids", sa.Text)))
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
    call is kept), and the names they carry (``contact_names``)."""
    for round_ in _rounds(states, "touch_id"):
        await session.execute(_UPSERT_TOUCH, given_params(round_, _TOUCH_ROWS))
    names = sorted({s["contact_name"] for s in states if s["contact_name"]})
    if names:
        await session.execute(_ADD_CONTACT_NAMES, {"names": names})


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
    changes, moved = [], []
    for call_id, row in current.items():
        wanted = {k: row[f"wanted_{k}"] for k in _LINKED_COLUMNS}
        if all(row[k] == v for k, v in wanted.items()):
            continue
        changes.append({"call_id": call_id, **wanted})
        # The assigned operator is the admin of a call nobody answered (a roll-up
        # dimension); the conversion columns are roll-up measures.
        figures = ("assigned_operator_id", *CONVERSION_CALL_COLUMNS)
        if counted and row["ended_at"] is not None and any(row[k] != wanted[k] for k in figures):
            moved.append(call_id)
    if not changes:
        return
    if moved:
        await count_calls(session, moved, -1)
    await session.execute(_SET_LINKED_COLUMNS, given_params(changes, _LINKED_ROWS))
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
    .where(clinics.c.clinic_id == param("clinic_id"))
    .with_for_update()
)
_REZONE = (
    sa.update(call_log)
    .where(
        call_log.c.clinic_id == param("w_clinic_id"),
        call_log.c.time_zone != param("v_time_zone"),
    )
    .values(time_zone=param("v_time_zone"))
)


_ZONE_KNOWN = sa.select(
    sa.exists().where(sa.column("name") == param("zone")).select_from(sa.table("pg_timezone_names"))
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
