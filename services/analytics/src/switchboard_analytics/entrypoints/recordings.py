"""Recordings through the platform: ``GET /api/analytics/calls/{call_id}/recording`` and
the admins' record of who listened, ``GET /api/analytics/recording-listens``.

Analytics owns this because it already knows what decides access (each call's admin and
their call center, from the call log) and where the recording is (``recording_url`` of
``CallEnded``); telephony would need a copy of the call log's who-handled-what to decide.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated, Any

import httpx
from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from switchboard_analytics.adapters.recordings import (
    LISTENED,
    RELAYED_HEADERS,
    RecordingServer,
    list_listens,
    recording_target,
)
from switchboard_analytics.domain.recordings import may_see_call, single_range, within_base
from switchboard_analytics.entrypoints.audit import record_own
from switchboard_runtime.auth import Principal, Role, require_roles
from switchboard_runtime.logging import get_logger

log = get_logger(__name__)

LISTENER_ROLES: tuple[Role, ...] = ("admin", "manager", "call_centre", "clinic_staff")


def recordings_router(
    sessions: async_sessionmaker[AsyncSession],
    current: Callable[..., Awaitable[Principal]],
    server: RecordingServer,
) -> APIRouter:
    """The recording stream and the listens API."""
    router = APIRouter(prefix="/api/analytics", tags=["recordings"])
    listener = require_roles(current, LISTENER_ROLES)
    auditor = require_roles(current, ("admin",))

    @router.get("/calls/{call_id}/recording", response_model=None)
    async def recording(
        call_id: str,
        request: Request,
        viewer: Principal = Depends(listener),  # noqa: B008 (a closure's dependency)
    ) -> Response:
        """The call's recording, relayed from the PBX; ``Range`` for seeking (206, 416)."""
        async with sessions() as session:
            target = await recording_target(session, call_id)
        # Another call center's call is answered as if it did not exist.
        if target is None or not may_see_call(viewer, target.admin_id, target.admin_call_center_id):
            raise HTTPException(404, "no such call")
        if target.recording_url is None:
            raise HTTPException(404, "the PBX has no recording of this call")
        if server.base_url is None:
            raise HTTPException(503, "recordings are not configured (recording base URL)")
        if not within_base(target.recording_url, server.base_url):
            log.warning("analytics.recording_outside_base", call_id=call_id)
            raise HTTPException(404, "the call's recording is not on the PBX's recording server")
        byte_range = single_range(request.headers.get("range"))
        try:
            upstream = await server.open(target.recording_url, byte_range)
        except httpx.HTTPError as exc:
            log.warning(
                "analytics.recording_unreachable", call_id=call_id, error=type(exc).__name__
            )
            raise HTTPException(502, "the PBX's recording server did not answer") from exc
        if upstream.status_code not in (200, 206, 416):
            await upstream.aclose()
            if upstream.status_code == 404:
                raise HTTPException(404, "the PBX has no recording of this call")
            raise HTTPException(502, f"the PBX's recording server answered {upstream.status_code}")
        headers = {k: upstream.headers[k] for k in RELAYED_HEADERS if k in upstream.headers}
        headers["Cache-Control"] = "private, no-store"
        if upstream.status_code == 416:
            await upstream.aclose()
            return Response(status_code=416, headers=headers)
        async with sessions() as session, session.begin():
            # On record before a byte is sent.
            await record_own(
                session,
                request,
                viewer,
                LISTENED,
                "call",
                call_id,
                {"byte_range": byte_range, "status": upstream.status_code},
            )

        async def body() -> AsyncIterator[bytes]:
            try:
                async for chunk in upstream.aiter_raw():
                    yield chunk
            finally:
                await upstream.aclose()

        return StreamingResponse(body(), status_code=upstream.status_code, headers=headers)

    @router.get("/recording-listens", dependencies=[Depends(auditor)])
    async def listens(
        call_id: Annotated[str | None, Query(max_length=200)] = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 100,
        before: Annotated[
            int | None, Query(ge=1, le=2**63 - 1, description="listen_id to page below")
        ] = None,
    ) -> Any:
        """Who listened to which call when, newest first (admins only)."""
        async with sessions() as session:
            items = await list_listens(session, call_id, limit, before)
        next_before = items[-1]["listen_id"] if len(items) == limit else None
        return JSONResponse({"items": items, "next_before": next_before})

    return router
