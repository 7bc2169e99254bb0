"""The console WebSocket endpoint: admitting a console, and this replica's timers over them.

``serve_console`` checks the handshake (origin, login, the operator's extensions) and runs a
``ConsoleSession``; ``heartbeat_forever`` pings every session of the replica and
``close_all`` lets them go at shutdown.
"""

from __future__ import annotations

import asyncio

from fastapi import WebSocket
from fastapi.responses import JSONResponse

from switchboard_notify.adapters import directory
from switchboard_notify.adapters.hub import Hub
from switchboard_notify.domain.directory import OperatorInactive, resolve_extensions
from switchboard_notify.entrypoints.console_session import (
    CLOSE_FORBIDDEN,
    CLOSE_GOING_AWAY,
    CLOSE_TRY_AGAIN,
    CLOSE_UNAUTHORIZED,
    ConsoleDeps,
    ConsoleSession,
)
from switchboard_runtime.auth import AuthError, websocket_principal
from switchboard_runtime.logging import get_logger
from switchboard_runtime.sessions import RevocationsUnavailable

log = get_logger(__name__)


async def heartbeat_forever(hub: Hub, interval: float) -> None:
    """One timer for every session of this replica (cheaper than one task per session)."""
    loop = asyncio.get_running_loop()
    while True:
        await asyncio.sleep(interval)
        now = loop.time()
        for session in list(hub.sessions):
            if isinstance(session, ConsoleSession):
                session.heartbeat(now)


async def close_all(hub: Hub) -> None:
    """On shutdown: tell every console to reconnect (to another replica)."""
    for session in list(hub.sessions):
        if isinstance(session, ConsoleSession):
            session.close_soon(CLOSE_GOING_AWAY, "server shutting down, reconnect")


async def serve_console(websocket: WebSocket, deps: ConsoleDeps) -> None:
    """Authenticate the handshake, resolve the operator's extensions, run the session."""
    allowed = deps.settings.allowed_origin_set
    origin = websocket.headers.get("origin")
    if allowed and origin is not None and origin.rstrip("/") not in allowed:
        await _deny(websocket, 403, CLOSE_FORBIDDEN, "origin not allowed")
        return
    secret = deps.settings.auth_secret.get_secret_value()
    try:
        principal = await websocket_principal(websocket, secret, deps.revocations)
    except AuthError:
        await _deny(websocket, 401, CLOSE_UNAUTHORIZED, "not logged in or session expired")
        return
    except RevocationsUnavailable:
        await _deny(websocket, 503, CLOSE_TRY_AGAIN, "sessions cannot be checked, retry")
        return
    try:
        async with deps.sessions() as session:
            record = await directory.operator(session, principal.operator_id)
    except Exception as exc:
        log.warning("notify.directory_unavailable", error=repr(exc))
        await _deny(websocket, 503, CLOSE_TRY_AGAIN, "directory unavailable, retry")
        return
    try:
        extensions, source = resolve_extensions(record, principal.extension)
    except OperatorInactive:
        await _deny(websocket, 403, CLOSE_FORBIDDEN, "operator deactivated")
        return
    await websocket.accept()
    name = record.name if record is not None else principal.name
    console = ConsoleSession(websocket, principal, name, extensions, source, deps)
    log.info(
        "notify.session_opened",
        operator_id=principal.operator_id,
        extensions=sorted(extensions),
        source=source,
    )
    try:
        await console.run()
    finally:
        log.info("notify.session_closed", operator_id=principal.operator_id)


async def _deny(websocket: WebSocket, status: int, code: int, detail: str) -> None:
    # Refuse the handshake with a real HTTP status where the server supports it (uvicorn
    # does); otherwise close before accepting (the client sees 403).
    if "websocket.http.response" in websocket.scope.get("extensions", {}):
        await websocket.send_denial_response(JSONResponse({"detail": detail}, status_code=status))
    else:
        await websocket.close(code=code, reason=detail)
