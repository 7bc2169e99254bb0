"""Relays one HTTP request to a service with httpx, streaming both bodies."""

from __future__ import annotations

from http.cookiejar import CookieJar, DefaultCookiePolicy

import httpx
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from switchboard_console.domain.routing import Route, request_headers, response_headers
from switchboard_runtime.logging import get_logger

log = get_logger(__name__)


def refusing_cookie_jar() -> CookieJar:
    """A cookie jar that never stores a cookie.

    httpx clients keep the cookies they are sent; a gateway shared by every browser must
    not, or one operator's ``Set-Cookie`` would ride along on everyone's next request.
    Cookies travel only as the browser's own ``Cookie`` header.
    """
    return CookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))


def make_client(
    *, connect_timeout: float, read_timeout: float, max_connections: int
) -> httpx.AsyncClient:
    """The pooled client the gateway relays through (no redirects followed, no env proxies,
    no cookie jar)."""
    return httpx.AsyncClient(
        cookies=refusing_cookie_jar(),
        timeout=httpx.Timeout(read_timeout, connect=connect_timeout, pool=connect_timeout),
        limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=50),
        follow_redirects=False,
        trust_env=False,
    )


def _has_body(request: Request) -> bool:
    length = request.headers.get("content-length")
    return bool(request.headers.get("transfer-encoding")) or (length is not None and length != "0")


async def relay(client: httpx.AsyncClient, request: Request, route: Route) -> Response:
    """Send ``request`` to ``route.url``; the answer streams back as it arrives.

    Cookies, ``Authorization`` and every other end-to-end header pass both ways, so the
    services' session cookie and CSV downloads work exactly as if they were direct.
    """
    headers = request_headers(
        request.headers.items(),
        client=request.client.host if request.client else None,
        host=request.headers.get("host"),
        scheme=request.url.scheme,
    )
    upstream_request = client.build_request(
        request.method,
        route.url,
        headers=headers,
        content=request.stream() if _has_body(request) else None,
    )
    try:
        upstream = await client.send(upstream_request, stream=True)
    except httpx.TimeoutException:
        log.warning("console.upstream_timeout", service=route.service)
        return JSONResponse({"detail": f"the {route.service} service did not answer in time"}, 504)
    except httpx.TransportError as exc:
        log.warning("console.upstream_unavailable", service=route.service, error=type(exc).__name__)
        return JSONResponse({"detail": f"the {route.service} service is unavailable"}, 502)
    response = StreamingResponse(
        upstream.aiter_raw(),
        status_code=upstream.status_code,
        background=BackgroundTask(upstream.aclose),
    )
    response.raw_headers = response_headers(upstream.headers.raw)
    return response
