"""Read models: the call log as typed rows, and the filters it shares with the calls report
(whose reads are in :mod:`.reports`; the call log's pages in :mod:`.call_log_pages`; what
a typed number or name finds in :mod:`.search`)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard_analytics.adapters.search import names_found, number_condition, search_condition
from switchboard_analytics.adapters.tables import call_log, clinics, operators
from switchboard_analytics.domain.periods import Period
from switchboard_phones import try_normalise


class QueryError(ValueError):
    """A query the read model cannot answer as asked (a bad cursor, a forced source…)."""


@dataclass(frozen=True)
class CallLogFilter:
    """What the call log and the calls report may be narrowed by (all optional)."""

    period: Period = field(default_factory=Period)
    call_types: frozenset[str] = frozenset()
    dispositions: frozenset[str] = frozenset()
    admin_ids: frozenset[str] = frozenset()
    clinic_ids: frozenset[str] = frozenset()
    # The public numbers (DIDs, E.164) the calls came in on.
    dids: frozenset[str] = frozenset()
    # True: only missed incoming calls; False: every call but those.
    missed: bool | None = None
    called_back: bool | None = None
    phone: str | None = None
    search: str | None = None
    tags: frozenset[str] = frozenset()
    talk_min: int | None = None
    talk_max: int | None = None
    total_min: int | None = None
    total_max: int | None = None
    # The region typed numbers without a country code are read in (the service's setting).
    default_region: str = "RU"
    # The operators whose names match ``search``, looked up first (see
    # :func:`resolve_search`): an id list keeps the search's alternatives indexable.
    search_admin_ids: frozenset[str] | None = None
    # Likewise the contact names that match ``search``; ``None`` when not looked up or
    # when more than ``search.LISTED_NAMES`` match (each call's name is then tested).
    search_contact_names: frozenset[str] | None = None

    @property
    def did_numbers(self) -> list[str]:
        """The ``dids`` filter as E.164 numbers, sorted (typed in any format, read in
        ``default_region``); :class:`QueryError` for one that is not a phone number."""
        numbers = set()
        for typed in self.dids:
            number = try_normalise(typed, self.default_region)
            if number is None:
                raise QueryError(f"did: {typed[:40]!r} is not a phone number")
            numbers.add(number)
        return sorted(numbers)

    @property
    def needs_call_log(self) -> bool:
        """Whether a filter looks at single calls (numbers, names, tags, durations) or at
        instants, which roll-ups (counts per clinic-local hour) cannot answer."""
        return bool(
            self.phone
            or self.search
            or self.tags
            or self.period.has_instants
            or any(
                bound is not None
                for bound in (self.talk_min, self.talk_max, self.total_min, self.total_max)
            )
        )


@dataclass(frozen=True)
class CallLogRow:
    """One call as the call log shows it."""

    call_id: str
    started_at: datetime
    started_at_local: str
    time_zone: str
    clinic_id: str | None
    clinic_name: str | None
    call_type: str
    src: str
    dst: str
    disposition: str | None
    admin: str | None
    admin_id: str | None
    admin_name: str | None
    extension: str | None
    contact_id: str | None
    contact_kind: str | None
    contact_name: str | None
    talk_seconds: int | None
    wait_seconds: int | None
    total_seconds: int | None
    has_recording: bool
    tags: list[str]
    called_back: bool
    callback_call_id: str | None
    callback_delay_seconds: int | None


CSV_COLUMNS: tuple[str, ...] = (
    "call_id",
    "started_at_local",
    "started_at",
    "time_zone",
    "clinic_id",
    "clinic_name",
    "call_type",
    "src",
    "dst",
    "disposition",
    "admin_id",
    "admin_name",
    "extension",
    "contact_id",
    "contact_kind",
    "contact_name",
    "talk_seconds",
    "wait_seconds",
    "total_seconds",
    "has_recording",
    "tags",
    "called_back",
    "callback_call_id",
    "callback_delay_seconds",
)
"""The call log's CSV columns (tags joined by ``;``)."""


def _text(column: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
    # Byte order ("C"), whatever the database's locale: stable, and what clients expect.
    return sa.collate(sa.func.coalesce(column, ""), "C")


_admin_name = sa.func.coalesce(operators.c.name, call_log.c.admin_id)

#: Sortable columns: the expression sorted by (never NULL, so keyset comparisons hold).
SORTS: Mapping[str, sa.ColumnElement[Any]] = {
    "started_at": call_log.c.started_at,
    "started_at_local": call_log.c.local_started_at,
    "call_type": _text(call_log.c.call_type),
    "src": _text(call_log.c.src),
    "dst": _text(call_log.c.dst),
    "disposition": _text(call_log.c.disposition),
    "admin": _text(_admin_name),
    "contact": _text(call_log.c.contact_name),
    "clinic": _text(sa.func.coalesce(clinics.c.name, call_log.c.clinic_id)),
    "extension": _text(call_log.c.extension),
    "talk_seconds": sa.func.coalesce(call_log.c.talk_seconds, 0),
    "wait_seconds": sa.func.coalesce(call_log.c.wait_seconds, 0),
    "total_seconds": sa.func.coalesce(call_log.c.total_seconds, 0),
    "has_recording": call_log.c.recording_url.is_not(None),
    "tags": _text(sa.func.array_to_string(call_log.c.tags, ",")),
    "called_back": call_log.c.called_back,
    "callback_delay_seconds": sa.func.coalesce(call_log.c.callback_delay_seconds, -1),
}

#: What a call log row selects, and from where (names of admins and clinics joined).
CALL_LOG_COLUMNS = (
    call_log.c.call_id,
    call_log.c.started_at,
    call_log.c.local_started_at,
    call_log.c.time_zone,
    call_log.c.clinic_id,
    clinics.c.name.label("clinic_name"),
    call_log.c.call_type,
    call_log.c.src,
    call_log.c.dst,
    call_log.c.disposition,
    call_log.c.admin_id,
    operators.c.name.label("admin_name"),
    call_log.c.extension,
    call_log.c.contact_id,
    call_log.c.contact_kind,
    call_log.c.contact_name,
    call_log.c.talk_seconds,
    call_log.c.wait_seconds,
    call_log.c.total_seconds,
    call_log.c.recording_url.is_not(None).label("has_recording"),
    call_log.c.tags,
    call_log.c.called_back,
    call_log.c.callback_call_id,
    call_log.c.callback_delay_seconds,
)

CALL_LOG_FROM = call_log.outerjoin(
    operators, operators.c.operator_id == call_log.c.admin_id
).outerjoin(clinics, clinics.c.clinic_id == call_log.c.clinic_id)


def _local_iso(started_at: datetime, local: datetime) -> str:
    """The clinic-local wall time with its UTC offset, e.g. ``2026-03-08T03:30:00-04:00``."""
    offset = local - started_at.astimezone(UTC).replace(tzinfo=None)
    return local.replace(tzinfo=timezone(offset)).isoformat()


def call_log_row(mapping: Mapping[Any, Any]) -> CallLogRow:
    """A selected row of :data:`CALL_LOG_COLUMNS` as a :class:`CallLogRow`."""
    values = dict(mapping)
    local = values.pop("local_started_at")
    values["started_at_local"] = _local_iso(values["started_at"], local)
    values["admin"] = values["admin_name"] or values["admin_id"]
    values["tags"] = list(values["tags"] or [])
    return CallLogRow(**values)


_DAY = timedelta(days=1)


async def resolve_search(session: AsyncSession, flt: CallLogFilter) -> CallLogFilter:
    """``flt`` with the operators and the contact names its free-text search finds
    looked up (:func:`.search.names_found`)."""
    if not flt.search or flt.search_admin_ids is not None:
        return flt
    admin_ids, contact_names = await names_found(session, flt.search.strip())
    return replace(flt, search_admin_ids=admin_ids, search_contact_names=contact_names)


def dimension_conditions(flt: CallLogFilter, table: sa.Table) -> list[sa.ColumnElement[bool]]:
    """The conditions of a filter on the columns the call log and the roll-ups share (call
    type, disposition, admin, clinic, public number, missed, called back). ``table`` has
    the columns the filter narrows (a roll-up without them is not chosen for it)."""
    c = table.c
    conditions: list[sa.ColumnElement[bool]] = []
    if flt.call_types:
        conditions.append(c.call_type.in_(sorted(flt.call_types)))
    if flt.dispositions:
        conditions.append(c.disposition.in_(sorted(flt.dispositions)))
    if flt.admin_ids:
        conditions.append(c.admin_id.in_(sorted(flt.admin_ids)))
    if flt.clinic_ids:
        conditions.append(c.clinic_id.in_(sorted(flt.clinic_ids)))
    if flt.dids:
        conditions.append(c.did.in_(flt.did_numbers))
    if flt.missed is not None:
        missed = sa.and_(c.call_type == "incoming", c.disposition == "missed")
        conditions.append(missed if flt.missed else sa.not_(missed))
    if flt.called_back is not None:
        # "NOT called_back" (never NULL), as the worklist's partial index says it.
        conditions.append(c.called_back if flt.called_back else sa.not_(c.called_back))
    return conditions


def call_log_conditions(flt: CallLogFilter) -> list[sa.ColumnElement[bool]]:
    """The WHERE conditions of a filter over the call log (ended calls only)."""
    c = call_log.c
    conditions: list[sa.ColumnElement[bool]] = [c.ended_at.is_not(None)]
    period = flt.period
    if period.from_instant is not None:
        conditions.append(c.started_at >= period.from_instant)
    if period.to_instant is not None:
        conditions.append(c.started_at < period.to_instant)
    # A clinic's wall clock is within a day of UTC (zone offsets stay within ±15 h), so a
    # local period also bounds started_at: redundant for the result, but it lets the
    # started_at index (the default order) narrow the scan to the period.
    if period.from_local is not None:
        conditions.append(c.local_started_at >= period.from_local)
        conditions.append(c.started_at >= (period.from_local - _DAY).replace(tzinfo=UTC))
    if period.to_local is not None:
        conditions.append(c.local_started_at < period.to_local)
        conditions.append(c.started_at < (period.to_local + _DAY).replace(tzinfo=UTC))
    conditions += dimension_conditions(flt, call_log)
    if flt.phone:
        number = number_condition(flt.phone, flt.default_region)
        if number is None:
            raise QueryError("phone: type at least one digit")
        conditions.append(number)
    if flt.search:
        conditions.append(
            search_condition(
                flt.search.strip(),
                flt.default_region,
                contact_names=flt.search_contact_names,
                admin_ids=flt.search_admin_ids,
            )
        )
    if flt.tags:
        # "Has tags" is redundant, but it lets the partial index of tagged calls serve.
        conditions += [sa.func.cardinality(c.tags) > 0, c.tags.overlap(sorted(flt.tags))]
    # On the duration indexes' expressions: an ended call always has its talk and total
    # time (CallEnded carries them), so these are the columns themselves.
    for column, low, high in (
        ("talk_seconds", flt.talk_min, flt.talk_max),
        ("total_seconds", flt.total_min, flt.total_max),
    ):
        if low is not None:
            conditions.append(SORTS[column] >= low)
        if high is not None:
            conditions.append(SORTS[column] <= high)
    return conditions


async def stream_call_log(
    session: AsyncSession,
    flt: CallLogFilter,
    *,
    sort: str = "started_at",
    order: str = "desc",
    chunk: int = 1000,
) -> AsyncIterator[list[CallLogRow]]:
    """Every matching call in ``sort`` order, in chunks, through a server-side cursor (the
    whole result is never held in memory)."""
    if sort not in SORTS:
        raise QueryError(f"sort: one of {', '.join(SORTS)}")
    key = SORTS[sort]
    direction = sa.desc if order == "desc" else sa.asc
    flt = await resolve_search(session, flt)
    query = (
        sa.select(*CALL_LOG_COLUMNS)
        .select_from(CALL_LOG_FROM)
        .where(*call_log_conditions(flt))
        .order_by(direction(key), direction(call_log.c.call_id))
        .execution_options(yield_per=chunk)
    )
    result = await session.stream(query)
    async for partition in result.partitions(chunk):
        yield [call_log_row(r._mapping) for r in partition]
