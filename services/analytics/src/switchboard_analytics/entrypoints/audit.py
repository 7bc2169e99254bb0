"""The audit trail for admins: ``GET /api/analytics/audit``.

Every service publishes its audited actions (``AuditRecorded``); analytics keeps them in
``audit_records`` and this is the only way to read them. Nothing here writes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from pydantic import AwareDatetime
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from switchboard_analytics.adapters.audit import AuditFilter, list_audit, store_audit
from switchboard_runtime.audit import audit
from switchboard_runtime.auth import Principal, require_roles

Text = Annotated[str | None, Query(min_length=1, max_length=200)]


def _utc(value: Any) -> str:
    return str(value.isoformat().replace("+00:00", "Z"))


def audit_item(row: dict[str, Any]) -> dict[str, Any]:
    """One record as the API shows it (UTC times ending in ``Z``)."""
    return {
        **row,
        "event_id": str(row["event_id"]),
        "occurred_at": _utc(row["occurred_at"]),
        "recorded_at": _utc(row["recorded_at"]),
    }


async def record_own(
    session: AsyncSession,
    request: Request,
    principal: Principal,
    action: str,
    subject_type: str,
    subject_id: str | None = None,
    details: Mapping[str, Any] | None = None,
) -> None:
    """Audit an action of analytics itself, in ``session``'s transaction: published like
    every service's (``platform.audit``) and, analytics being the store, stored now, so it
    is on record before the answer leaves (the event coming back is then skipped)."""
    envelope = await audit(session, request, principal, action, subject_type, subject_id, details)
    await store_audit(session, [envelope])


def audit_router(
    sessions: async_sessionmaker[AsyncSession], current: Callable[..., Awaitable[Principal]]
) -> APIRouter:
    """The audit trail's read API (admins only)."""
    router = APIRouter(prefix="/api/analytics", tags=["audit"])
    auditor = require_roles(current, ("admin",))

    @router.get("/audit", dependencies=[Depends(auditor)])
    async def audit_trail(
        actor: Annotated[Text, Query(description="The acting operator's id.")] = None,
        action: Annotated[Text, Query(description="e.g. `client.viewed`.")] = None,
        subject_type: Annotated[Text, Query(description="e.g. `client`, `call`.")] = None,
        subject_id: Annotated[Text, Query(description="The record's id.")] = None,
        period_from: Annotated[
            AwareDatetime | None,
            Query(alias="from", description="Actions at or after this instant (with offset)."),
        ] = None,
        period_to: Annotated[
            AwareDatetime | None,
            Query(alias="to", description="Actions before this instant (with offset)."),
        ] = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 100,
        before: Annotated[
            int | None,
            Query(ge=1, le=2**63 - 1, description="`next_before` of the previous page."),
        ] = None,
    ) -> Any:
        """Who did what to which record, when and from where; newest first."""
        if period_from is not None and period_to is not None and period_to <= period_from:
            raise HTTPException(422, "to: must be after from")
        flt = AuditFilter(actor, action, subject_type, subject_id, period_from, period_to)
        async with sessions() as session:
            rows = await list_audit(session, flt, limit, before)
        next_before = rows[-1]["record_id"] if len(rows) == limit else None
        return JSONResponse({"items": [audit_item(r) for r in rows], "next_before": next_before})

    return router
