"""Analytics' HTTP API: the call log."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, status
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from switchboard_analytics.adapters.queries import CallLogFilter, call_log_page

CallType = Literal["incoming", "outgoing", "internal"]
Disposition = Literal["answered", "missed", "busy", "failed"]


def calls_router(sessions: async_sessionmaker[AsyncSession]) -> APIRouter:
    """``GET /api/analytics/calls``: the call log, newest first, cursor-paginated."""
    router = APIRouter(prefix="/api/analytics", tags=["call log"])

    @router.get("/calls")
    async def list_calls(
        period_from: Annotated[datetime | None, Query(alias="from")] = None,
        period_to: Annotated[datetime | None, Query(alias="to")] = None,
        call_type: Annotated[list[CallType] | None, Query()] = None,
        disposition: Annotated[list[Disposition] | None, Query()] = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
        cursor: str | None = None,
    ) -> dict[str, Any]:
        flt = CallLogFilter(
            period_from=period_from,
            period_to=period_to,
            call_types=frozenset(call_type or ()),
            dispositions=frozenset(disposition or ()),
        )
        async with sessions() as session:
            try:
                rows, next_cursor = await call_log_page(session, flt, limit=limit, cursor=cursor)
            except ValueError as exc:
                raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, str(exc)) from exc
        return {"items": [asdict(r) for r in rows], "next_cursor": next_cursor}

    return router
