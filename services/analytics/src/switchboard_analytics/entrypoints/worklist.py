"""The call-back worklist: ``/api/analytics/worklist`` (list, count per clinic, claim,
release, close with a result).

Every change is announced as ``WorklistChanged`` (through the outbox, in the transaction
that records it); notify forwards it to the consoles, which read the worklist again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query
from pydantic import BaseModel, ConfigDict
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from switchboard_analytics.adapters.worklist import (
    Callback,
    callback_of,
    clinic_loads,
    list_callbacks,
    lock_number,
    missed_number,
    record_action,
)
from switchboard_analytics.domain.worklist import (
    READER_ROLES,
    WORKER_ROLES,
    Action,
    ClaimedByAnother,
    CloseResult,
    age_seconds,
    check_action,
)
from switchboard_contracts import WorklistChange, WorklistChanged
from switchboard_runtime.auth import Principal, PrincipalDependency, require_roles
from switchboard_runtime.messaging import publish

CallId = Annotated[str, Path(min_length=1, max_length=200)]

#: The state each action leaves, as recorded and as announced.
_RECORDED: dict[Action, WorklistChange] = {
    "claim": "claimed",
    "release": "released",
    "close": "closed",
}


class CloseRequest(BaseModel):
    """Closing a call-back by hand: what came of it."""

    model_config = ConfigDict(extra="forbid")

    result: CloseResult


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def callback_json(callback: Callback, now: datetime) -> dict[str, Any]:
    """A call-back as the API shows it."""
    item = asdict(callback)
    holder = item.pop("holder")
    item["first_missed_at"] = _iso(callback.first_missed_at)
    item["last_missed_at"] = _iso(callback.last_missed_at)
    item["age_seconds"] = age_seconds(callback.first_missed_at, now)
    item["claimed_by"] = (
        None
        if holder is None
        else {
            "operator_id": holder["operator_id"],
            "name": holder["operator_name"],
            "claimed_at": _iso(holder["claimed_at"]),
        }
    )
    return item


def worklist_router(
    sessions: async_sessionmaker[AsyncSession],
    current: PrincipalDependency,
    horizon: timedelta,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> APIRouter:
    """The worklist API; ``horizon``: how far back missed calls wait on it."""
    router = APIRouter(prefix="/api/analytics/worklist", tags=["worklist"])
    reader = require_roles(current, READER_ROLES)
    worker = require_roles(current, WORKER_ROLES)

    @router.get("")
    async def worklist(
        clinic: Annotated[list[str] | None, Query(description="Clinic ids, any subset.")] = None,
        extension: Annotated[list[str] | None, Query(description="Extensions, any subset.")] = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 100,
        viewer: Principal = Depends(reader),  # noqa: B008 (a closure's dependency)
    ) -> dict[str, Any]:
        """Call-backs waiting, oldest first: a number's missed calls not called back nor
        closed (``attempts``), with the clinic and extension of the first one."""
        now = clock()
        async with sessions() as session:
            items = await list_callbacks(
                session,
                viewer,
                now - horizon,
                clinic_ids=clinic or (),
                extensions=extension or (),
                limit=limit + 1,
            )
        return {
            "items": [callback_json(item, now) for item in items[:limit]],
            "more": len(items) > limit,
        }

    @router.get("/count")
    async def count(
        viewer: Principal = Depends(reader),  # noqa: B008 (a closure's dependency)
    ) -> dict[str, Any]:
        """How many call-backs wait (and how many are claimed), in all and per clinic, and
        how old the oldest is."""
        now = clock()
        async with sessions() as session:
            loads = await clinic_loads(session, viewer, now - horizon)
        oldest = min((load.oldest_missed_at for load in loads), default=None)
        return {
            "open": sum(load.open for load in loads),
            "claimed": sum(load.claimed for load in loads),
            "oldest_missed_at": _iso(oldest) if oldest else None,
            "oldest_age_seconds": age_seconds(oldest, now) if oldest else None,
            "clinics": [
                {
                    "clinic_id": load.clinic_id,
                    "clinic_name": load.clinic_name,
                    "open": load.open,
                    "claimed": load.claimed,
                    "oldest_missed_at": _iso(load.oldest_missed_at),
                    "oldest_age_seconds": age_seconds(load.oldest_missed_at, now),
                }
                for load in loads
            ],
        }

    async def act(
        call_id: str, action: Action, actor: Principal, result: str | None = None
    ) -> dict[str, Any]:
        """Do ``action`` under the number's lock; ``{"callback": …}`` is the call-back
        after it (``null`` once closed)."""
        now = clock()
        async with sessions() as session, session.begin():
            number = await missed_number(session, call_id)
            if number is not None:
                await lock_number(session, number)
                callback = await callback_of(session, actor, now - horizon, number)
            if number is None or callback is None or callback.call_id != call_id:
                raise HTTPException(
                    404, "no such call-back (called back, closed, or not on the worklist)"
                )
            try:
                check_action(action, actor, callback.holder)
            except ClaimedByAnother as exc:
                raise HTTPException(409, str(exc)) from exc
            held_by_actor = (
                callback.holder is not None and callback.holder.operator_id == actor.operator_id
            )
            if (action == "claim" and held_by_actor) or (
                action == "release" and callback.holder is None
            ):
                return {"callback": callback_json(callback, now)}  # nothing to change
            await record_action(session, callback, _RECORDED[action], actor, now, result)
            await publish(
                session,
                WorklistChanged(
                    call_id=call_id,
                    change=_RECORDED[action],
                    clinic_id=callback.clinic_id,
                    changed_at=now,
                ),
                occurred_at=now,
            )
            after = await callback_of(session, actor, now - horizon, number)
        return {"callback": None if after is None else callback_json(after, now)}

    @router.post("/{call_id}/claim")
    async def claim(
        call_id: CallId,
        actor: Principal = Depends(worker),  # noqa: B008
    ) -> Any:
        """Take a call-back: others see it claimed; 409 if someone else holds it."""
        return await act(call_id, "claim", actor)

    @router.post("/{call_id}/release")
    async def release(
        call_id: CallId,
        actor: Principal = Depends(worker),  # noqa: B008
    ) -> Any:
        """Give a claimed call-back back (its holder, or an admin); 409 for anyone else."""
        return await act(call_id, "release", actor)

    @router.post("/{call_id}/close")
    async def close(
        call_id: CallId,
        body: CloseRequest,
        actor: Principal = Depends(worker),  # noqa: B008
    ) -> Any:
        """Close a call-back with what came of it; it leaves the worklist (a later missed
        call from the number opens a new one). 409 if someone else holds it."""
        return await act(call_id, "close", actor, body.result)

    return router
