"""The gateway's routes: ``/api/<service>/…`` relayed (HTTP and WebSocket), the bundle
everywhere else, and its own health endpoints."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import quote

import httpx
from fastapi import APIRouter, Request, WebSocket
from starlette.requests import HTTPConnection
from starlette.responses import JSONResponse, Response

from switchboard_console.adapters.http_proxy import relay
from switchboard_console.adapters.static import StaticBundle
from switchboard_console.adapters.ws_proxy import relay_websocket
from switchboard_console.domain.routing import resolve
from switchboard_console.settings import ConsoleSettings

_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
_PRINTABLE_ASCII = "".join(map(chr, range(0x21, 0x7F)))


def _sent_path(connection: HTTPConnection) -> str:
    """The path as the client sent it, still percent-encoded.

    Relaying the decoded path would turn an encoded "/", "?" or "#" into structure of the
    upstream URL (another resource, a query, a dropped fragment) and an encoded control
    character into a URL the HTTP client refuses (a 500): the service must see what the
    client sent (bytes that are not printable ASCII percent-encoded, as they must be in a URL).
    """
    raw = connection.scope.get("raw_path")
    return quote(raw, safe=_PRINTABLE_ASCII) if raw else connection.url.path


def gateway_router(
    settings: ConsoleSettings, bundle: StaticBundle, client: Callable[[], httpx.AsyncClient]
) -> APIRouter:
    """Every route of the gateway; ``client`` returns the pooled httpx client of the app."""
    router = APIRouter()
    upstreams = settings.upstreams() if settings.proxy_enabled else {}

    @router.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/readyz", include_in_schema=False)
    async def readyz() -> JSONResponse:
        ready = bundle.built
        return JSONResponse(
            {
                "status": "ready" if ready else "not ready",
                "bundle": str(bundle.root),
                "built": ready,
            },
            status_code=200 if ready else 503,
        )

    @router.api_route("/api/{rest:path}", methods=_METHODS, include_in_schema=False)
    async def api(request: Request, rest: str) -> Response:
        route = resolve(_sent_path(request), request.url.query, upstreams)
        if route is None:
            return JSONResponse({"detail": f"no service behind /api/{rest.split('/')[0]}"}, 404)
        return await relay(client(), request, route)

    @router.websocket("/api/{rest:path}")
    async def api_socket(websocket: WebSocket, rest: str) -> None:
        route = resolve(_sent_path(websocket), websocket.url.query, upstreams, websocket=True)
        if route is None:
            await websocket.close(code=4404, reason="no such socket")
            return
        await relay_websocket(websocket, route, open_timeout=settings.connect_timeout_seconds)

    @router.api_route("/{path:path}", methods=["GET", "HEAD"], include_in_schema=False)
    async def console(path: str) -> Response:
        return bundle.response(path)

    return router
