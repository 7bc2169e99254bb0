"""Relays a browser's WebSocket to a service's WebSocket (notify's live pop-ups)."""

from __future__ import annotations

import asyncio
import contextlib

from starlette.websockets import WebSocket, WebSocketDisconnect
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus, InvalidURI

from switchboard_console.domain.routing import (
    Route,
    close_code_for_status,
    relayable_close_code,
    websocket_headers,
)
from switchboard_runtime.logging import get_logger

log = get_logger(__name__)


async def relay_websocket(websocket: WebSocket, route: Route, *, open_timeout: float) -> None:
    """Open the upstream socket with the browser's session, then pump frames both ways.

    The upstream authenticates the handshake itself (the session cookie is forwarded);
    when it refuses, the browser's socket is closed with ``4000 + status`` (4401, 4403).
    Whichever side closes first, the other is closed with the same code.
    """
    headers = websocket_headers(
        websocket.headers.items(), client=websocket.client.host if websocket.client else None
    )
    subprotocols = websocket.scope.get("subprotocols") or None
    try:
        upstream = await connect(
            route.url,
            additional_headers=headers,
            subprotocols=subprotocols,
            open_timeout=open_timeout,
            max_size=2**20,
            compression=None,
        )
    except InvalidStatus as exc:
        status = exc.response.status_code
        await websocket.accept()
        await websocket.close(
            code=close_code_for_status(status), reason=f"upstream refused ({status})"
        )
        return
    except (OSError, TimeoutError, InvalidURI) as exc:
        log.warning(
            "console.ws_upstream_unavailable", service=route.service, error=type(exc).__name__
        )
        await websocket.accept()
        await websocket.close(code=1013, reason=f"the {route.service} service is unavailable")
        return
    await websocket.accept(subprotocol=upstream.subprotocol)
    await _pump(websocket, upstream)


async def _pump(websocket: WebSocket, upstream: ClientConnection) -> None:
    async def browser_to_service() -> None:
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                await upstream.close(code=relayable_close_code(message.get("code")))
                return
            if message.get("text") is not None:
                await upstream.send(message["text"])
            elif message.get("bytes") is not None:
                await upstream.send(message["bytes"])

    async def service_to_browser() -> None:
        with contextlib.suppress(ConnectionClosed):
            async for frame in upstream:
                if isinstance(frame, str):
                    await websocket.send_text(frame)
                else:
                    await websocket.send_bytes(frame)
        code = relayable_close_code(upstream.close_code)
        with contextlib.suppress(RuntimeError, WebSocketDisconnect):
            await websocket.close(code=code, reason=upstream.close_reason or "")

    tasks = [
        asyncio.create_task(browser_to_service()),
        asyncio.create_task(service_to_browser()),
    ]
    try:
        done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
        for task in pending:
            with contextlib.suppress(asyncio.CancelledError, ConnectionClosed, WebSocketDisconnect):
                await task
        for task in done:
            exc = task.exception()
            if exc is not None and not isinstance(exc, ConnectionClosed | WebSocketDisconnect):
                log.warning("console.ws_relay_error", error=type(exc).__name__)
    finally:
        await upstream.close()
