"""Notify's HTTP API: the console WebSocket, "I'll take it", and who am I."""

# No ``from __future__ import annotations``: FastAPI must see the closures' dependencies.

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, WebSocket, status
from fastapi.responses import JSONResponse

from switchboard_notify import handlers
from switchboard_notify.adapters import directory
from switchboard_notify.domain.directory import OperatorInactive, resolve_extensions
from switchboard_notify.entrypoints.console_session import ConsoleDeps
from switchboard_notify.entrypoints.ws import serve_console
from switchboard_runtime.auth import Principal, authenticator

CallId = Annotated[str, Path(min_length=1, max_length=200)]


def notify_router(deps: ConsoleDeps) -> APIRouter:
    """``/api/notify``: ``ws``, ``me`` and ``calls/{call_id}/take``."""
    router = APIRouter(prefix="/api/notify", tags=["notify"])
    current = authenticator(lambda: deps.settings.auth_secret.get_secret_value(), deps.revocations)

    async def _operator(principal: Principal) -> tuple[str, frozenset[str], str]:
        async with deps.sessions() as session:
            record = await directory.operator(session, principal.operator_id)
        try:
            extensions, source = resolve_extensions(record, principal.extension)
        except OperatorInactive as exc:
            raise HTTPException(status.HTTP_403_FORBIDDEN, "operator deactivated") from exc
        return (record.name if record else principal.name), extensions, source

    @router.websocket("/ws")
    async def console(websocket: WebSocket) -> None:
        await serve_console(websocket, deps)

    @router.get("/me")
    async def me(principal: Annotated[Principal, Depends(current)]) -> dict[str, Any]:
        """The operator this session acts for and the extensions whose pop-ups it gets."""
        name, extensions, source = await _operator(principal)
        return {
            "operator_id": principal.operator_id,
            "name": name,
            "role": principal.role,
            "extensions": sorted(extensions),
            "extensions_source": source,
        }

    @router.post(
        "/calls/{call_id}/take",
        responses={
            404: {"description": "no open pop-up for this call on your extension"},
            409: {"description": "already handled (answered, taken or ended); says by whom"},
            503: {"description": "pop-up state unavailable, retry"},
        },
    )
    async def take(
        call_id: CallId, principal: Annotated[Principal, Depends(current)]
    ) -> JSONResponse:
        """Take a ringing call ("I'll take it"): closes the pop-up for everyone and records
        this operator as the call's admin (``CallClaimed``)."""
        name, extensions, _ = await _operator(principal)
        try:
            outcome = await handlers.take_call(
                call_id=call_id,
                operator_id=principal.operator_id,
                name=name,
                extensions=extensions,
                store=deps.store,
                current_calls=deps.current_calls,
                sessions=deps.sessions,
            )
        except handlers.RedisUnavailable as exc:
            raise HTTPException(
                status.HTTP_503_SERVICE_UNAVAILABLE, "pop-up state unavailable, retry"
            ) from exc
        if outcome.status == "not_found":
            raise HTTPException(status.HTTP_404_NOT_FOUND, "no open pop-up for this call")
        close = outcome.close or {}
        if outcome.status == "already_closed":
            return JSONResponse(
                status_code=status.HTTP_409_CONFLICT,
                content={
                    "detail": "the call was already handled",
                    "call_id": call_id,
                    "reason": close.get("reason"),
                    "handled_by": close.get("handled_by"),
                },
            )
        return JSONResponse(
            {"call_id": call_id, "status": "taken", "handled_by": close.get("handled_by")}
        )

    return router
