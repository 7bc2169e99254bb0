"""Call events into the call log and the roll-ups, and the called-back rule: a batch's
calls folded in memory and written in a few statements (see :func:`apply_calls`)."""

from __future__ import annotations

import asyncio
import bisect
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from switchboard_analytics.adapters import call_rows, callback_rows, rollup_deltas, store
from switchboard_analytics.domain.callback import (
    CallBack,
    CallFacts,
    find_callback,
    is_missed_incoming,
    reached_number,
)
from switchboard_analytics.handlers.projection import CallEvent, Projection
from switchboard_contracts import CallAnswered, CallEnded, CallStarted, WorklistChanged
from switchboard_runtime.messaging import publish


def _who_and_where(event: CallStarted | CallEnded) -> dict[str, Any]:
    """The columns a call's start and its end both carry, named as the call log names them."""
    return {
        "started_at": event.started_at,
        "call_type": event.direction,
        "src": event.caller,
        "dst": event.callee,
        "extension": event.extension,
        "clinic_id": event.clinic_id,
    }


def started_row(event: CallStarted) -> dict[str, Any]:
    """A new call's row (not in the log until it ends)."""
    row: dict[str, Any] = dict.fromkeys(store.CALL_COLUMNS)
    row.update(
        _who_and_where(event), call_id=event.call_id, did=event.did, **_callback_columns(None)
    )
    return row


def ended_row(existing: Mapping[str, Any] | None, event: CallEnded) -> dict[str, Any]:
    """A call's row once ``event`` settles it (called-back columns still to be decided)."""
    # ``existing`` may be a row folded earlier in the batch, which lacks what it never
    # set: as written (and read back) those columns are NULL.
    row: dict[str, Any] = {k: existing.get(k) for k in store.CALL_COLUMNS} if existing else {}
    # CallEnded carries the call's whole story; what it does not know, earlier events may.
    known = {
        **_who_and_where(event),
        "answered_at": event.answered_at,
        "operator_id": event.operator_id,
    }
    row.update({k: v for k, v in known.items() if v is not None})
    row.setdefault("started_at", event.started_at or event.ended_at)
    row.setdefault("call_type", event.direction or "incoming")
    row.setdefault("src", event.caller or "")
    row.setdefault("dst", event.callee or "")
    row.update(
        call_id=event.call_id,
        ended_at=event.ended_at,
        disposition=event.disposition,
        wait_seconds=event.wait_seconds,
        talk_seconds=event.talk_seconds,
        total_seconds=event.total_seconds,
        recording_url=event.recording_url,
        end_reason=event.end_reason,
        **_callback_columns(None),
    )
    return row


async def apply_calls(session: AsyncSession, events: Sequence[CallEvent], p: Projection) -> None:
    """Apply call events (several calls, each call's in arrival order) in a few statements.

    The calls' rows are loaded (locked) at once and each call's events folded over its
    row in memory, as one event at a time would change it: ``CallStarted`` inserts a row
    only for a call that has none, ``CallAnswered`` records who answered a call that has
    not ended, ``CallEnded`` settles the row (again, if it comes again). Then every
    changed row is written in one upsert, the roll-ups lose the old contribution of the
    calls that were counted and gain the new one (a delta summed per batch), and the
    called-back rule runs, with one look-up for all the batch's numbers, for the missed
    calls settled here and the missed calls that the settled calls (with their new and
    their former facts) may call back.
    """
    call_ids = sorted({event.call_id for event in events})
    existing = await call_rows.get_calls(session, call_ids)
    rows: dict[str, dict[str, Any]] = {
        call_id: {k: row[k] for k in store.WRITTEN_COLUMNS} for call_id, row in existing.items()
    }
    changed: set[str] = set()
    ended: set[str] = set()
    numbered: set[str] = set()
    # Facts the batch's settled calls had before (in the table, or earlier in the batch):
    # missed calls they called back may need another call-back now.
    former: list[CallFacts] = []
    for event in events:
        row = rows.get(event.call_id)
        if isinstance(event, CallStarted):
            if row is None:
                rows[event.call_id] = started_row(event)
                changed.add(event.call_id)
            elif row.get("did") is None and event.did is not None:
                # A start applied after its end (a replay's order): CallEnded does not
                # repeat the number, so only the start can tell it.
                row["did"] = event.did
                changed.add(event.call_id)
                numbered.add(event.call_id)
        elif isinstance(event, CallAnswered):
            if row is not None and row["ended_at"] is None:
                row.update(answered_at=event.answered_at, operator_id=event.operator_id)
                changed.add(event.call_id)
        else:
            if row is not None and row["ended_at"] is not None:
                former.append(callback_rows.facts_of(row))
            rows[event.call_id] = ended_row(row, event)
            changed.add(event.call_id)
            ended.add(event.call_id)
    if not changed:
        return
    written = sorted(changed)
    if p.deferred:
        # A rebuild's replay: facts only; call-backs and roll-ups come in one pass later.
        await call_rows.write_calls(
            session, [rows[c] for c in written], p.default_time_zone, derived=False
        )
        return
    was_counted = {c for c, row in existing.items() if row["ended_at"] is not None}
    counted = sorted(c for c in ended if c in was_counted)
    # Counted calls that only learnt their number move between the by-number roll-ups.
    recounted = sorted((numbered & was_counted) - ended)
    if counted or recounted:
        await rollup_deltas.count_calls(session, sorted({*counted, *recounted}), -1)
    settled = [callback_rows.facts_of(rows[c]) for c in sorted(ended)]
    missed_here = [f for f in settled if is_missed_incoming(f)]
    for facts in missed_here:
        rows[facts.call_id].update(_callback_columns(None))
    await call_rows.write_calls(session, [rows[c] for c in written], p.default_time_zone)
    if recounted:
        await rollup_deltas.count_calls(session, recounted, 1)
    if not ended:
        return
    changes = await _callbacks_after(session, settled, former, missed_here, p.callback_window)
    others = sorted({c["call_id"] for c in changes} - ended)
    if others:
        await rollup_deltas.count_calls(session, others, -1)
    await callback_rows.write_callbacks(session, changes)
    await rollup_deltas.count_calls(session, sorted(ended.union(others)), 1)
    if p.worklist_horizon is not None:
        await _announce_worklist(session, rows, missed_here, changes, p.worklist_horizon)


async def _announce_worklist(
    session: AsyncSession,
    rows: Mapping[str, Mapping[str, Any]],
    missed_here: Sequence[CallFacts],
    changes: Sequence[Mapping[str, Any]],
    horizon: timedelta,
) -> None:
    """``WorklistChanged`` for the missed calls that joined the worklist (settled here,
    not called back) and those a call-back took off it (or gave back)."""
    now = datetime.now(UTC)
    called_back = {c["call_id"]: c["called_back"] for c in changes}
    events = [
        WorklistChanged(
            call_id=f.call_id,
            change="missed",
            clinic_id=rows[f.call_id]["clinic_id"],
            changed_at=now,
        )
        for f in missed_here
        if f.started_at >= now - horizon and not called_back.get(f.call_id, False)
    ]
    here = {f.call_id for f in missed_here}
    events += [
        WorklistChanged(
            call_id=c["call_id"],
            change="called_back" if c["called_back"] else "missed",
            changed_at=now,
        )
        for c in changes
        if c["call_id"] not in here
    ]
    if events:
        await publish(session, *events, occurred_at=now)


def _callback_columns(callback: CallBack | None) -> dict[str, Any]:
    return {
        "called_back": callback is not None,
        "callback_call_id": callback.call_id if callback else None,
        "callback_delay_seconds": callback.delay_seconds if callback else None,
    }


async def _callbacks_after(
    session: AsyncSession,
    settled: Sequence[CallFacts],
    former: Sequence[CallFacts],
    missed_here: Sequence[CallFacts],
    window: timedelta,
) -> list[dict[str, Any]]:
    """Called-back columns that change now that ``settled`` calls are written: of the
    missed calls among them (written as not called back) and of the missed calls any of
    them, with its new or ``former`` facts, may call back."""
    reach = [
        (number, f.started_at - window, f.started_at)
        for f in (*settled, *former)
        if (number := reached_number(f)) is not None
    ]
    current: dict[str, tuple[CallFacts, tuple[Any, ...]]] = {
        f.call_id: (f, (False, None, None)) for f in missed_here
    }
    for row in await callback_rows.missed_calls_in(session, reach):
        if row["call_id"] not in current:
            current[row["call_id"]] = (
                callback_rows.facts_of(row),
                tuple(row[k] for k in store.CALLBACK_COLUMNS),
            )
    if not current:
        return []
    spans: dict[str, tuple[datetime, datetime]] = {}
    for facts, _ in current.values():
        if facts.src:
            first, last = spans.get(facts.src, (facts.started_at, facts.started_at))
            spans[facts.src] = (min(first, facts.started_at), max(last, facts.started_at))
    candidates = await callback_rows.callback_candidates_in(
        session, [(number, first, last + window) for number, (first, last) in spans.items()]
    )
    changes = []
    for call_id in sorted(current):
        facts, before = current[call_id]
        wanted = _callback_columns(find_callback(facts, candidates.get(facts.src, ()), window))
        if tuple(wanted.values()) != before:
            changes.append({"call_id": call_id, **wanted})
    return changes


async def finish_deferred(sessions: async_sessionmaker[AsyncSession], p: Projection) -> None:
    """Bring tables filled in ``deferred`` mode to what event-by-event projection gives:
    every call row's derived columns, the called-back rule over every missed call, the
    roll-ups from the call log (a few groups of them at once, one connection each).
    Afterwards events can be applied in the normal mode."""
    async with sessions() as session, session.begin():
        await call_rows.refresh_all_derived(session, p.default_time_zone)
    async with sessions() as reader, reader.begin(), sessions() as writer, writer.begin():
        changes: list[dict[str, Any]] = []
        group: list[Any] = []
        async for row in await call_rows.stream_callback_facts(reader):
            if group and row["number"] != group[0]["number"]:
                changes += _callbacks_of(group, p.callback_window)
                group = []
            group.append(row)
            if len(changes) >= 5000:
                await callback_rows.write_callbacks(writer, changes)
                changes = []
        changes += _callbacks_of(group, p.callback_window)
        await callback_rows.write_callbacks(writer, changes)

    async def fill(tables: tuple[Any, ...]) -> None:
        async with sessions() as session, session.begin():
            await rollup_deltas.rebuild_rollups(session, tables)

    async with asyncio.TaskGroup() as fills:
        for tables in rollup_deltas.FILL_GROUPS:
            fills.create_task(fill(tables))


def _callbacks_of(rows: list[Any], window: timedelta) -> list[dict[str, Any]]:
    """Called-back columns that change, for one number's calls (ordered by start)."""
    facts = [callback_rows.facts_of(row) for row in rows]
    candidates = [f for f in facts if reached_number(f) is not None]
    starts = [f.started_at for f in candidates]
    changes = []
    for row, missed in zip(rows, facts, strict=True):
        if not is_missed_incoming(missed):
            continue
        # Only the calls within the window can qualify: a number may have thousands.
        first = bisect.bisect_right(starts, missed.started_at)
        last = bisect.bisect_right(starts, missed.started_at + window)
        callback = find_callback(missed, candidates[first:last], window)
        wanted = {
            "called_back": callback is not None,
            "callback_call_id": callback.call_id if callback else None,
            "callback_delay_seconds": callback.delay_seconds if callback else None,
        }
        if any(row[k] != v for k, v in wanted.items()):
            changes.append({"call_id": missed.call_id, **wanted})
    return changes
