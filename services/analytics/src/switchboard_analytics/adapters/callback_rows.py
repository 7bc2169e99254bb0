"""Write-side SQL of the called-back rule: the missed calls and the calls that may call
them back, found by number inside time windows, and the called-back columns written
back (the rule itself is ``domain.callback``). Built once, at import, like
:mod:`.store`'s statements."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard_analytics.adapters.binds import array, given_params, given_rows
from switchboard_analytics.adapters.store import CALLBACK_COLUMNS
from switchboard_analytics.adapters.tables import (
    call_log,
)
from switchboard_analytics.domain.callback import CallFacts


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


#: The columns of a call row the called-back rule reads (:func:`facts_of`).
FACT_COLUMNS = (
    call_log.c.call_id,
    call_log.c.call_type,
    call_log.c.disposition,
    call_log.c.src,
    call_log.c.dst,
    call_log.c.started_at,
)
_CALLBACK_ROWS = ("call_id", *CALLBACK_COLUMNS)
_given = given_rows(call_log, _CALLBACK_ROWS)
_SET_CALLBACKS = (
    sa.update(call_log)
    .where(call_log.c.call_id == _given.c.call_id)
    .values({k: _given.c[k] for k in CALLBACK_COLUMNS})
)


def _windows(prefix: str) -> Any:
    """``unnest`` of three parallel lists (number, from, until): one row per window."""
    moment = call_log.c.started_at.type
    return (
        sa.func.unnest(
            array(f"{prefix}_numbers", sa.Text),
            array(f"{prefix}_froms", moment),
            array(f"{prefix}_untils", moment),
        )
        .table_valued("number", "from_at", "until_at")
        .render_derived(prefix)
    )


_MISSED_WINDOWS = _windows("mw")
_MISSED_IN_WINDOWS = (
    sa.select(*FACT_COLUMNS, *[call_log.c[k] for k in CALLBACK_COLUMNS])
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
    columns = (windows.c.number, *FACT_COLUMNS)
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


async def write_callbacks(session: AsyncSession, changes: Sequence[Mapping[str, Any]]) -> None:
    """Write called-back columns as given (one change per call), in one statement (the
    caller keeps the roll-ups in step: it takes counted calls away before and adds them
    back after, or rebuilds the roll-ups)."""
    if changes:
        await session.execute(_SET_CALLBACKS, given_params(changes, _CALLBACK_ROWS))
