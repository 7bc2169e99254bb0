"""Browser hardening: the security headers the gateway puts on every HTTP response.

One pure ASGI middleware (no buffering: CSV exports and recordings keep streaming) sets the
same policy on the console's pages, its files, the relayed ``/api`` answers and the
gateway's own errors, replacing any the service behind sent, so that one place decides.
"""

from __future__ import annotations

import re

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

#: One year, the floor browsers' preload lists ask for; subdomains are not claimed, since the
#: chain's other hosts are not ours to pin to HTTPS.
HSTS = "max-age=31536000"

# What the built console needs, and no more (console/README.md, "Browser hardening"):
# - scripts and the stylesheet are files of the bundle (Vite emits no inline script);
# - style-src has no 'unsafe-inline': React's `style={…}` and Chart.js set styles through
#   the CSSOM (element.style), which CSP does not govern; only style attributes in markup
#   and <style> elements would need it, and the bundle has neither;
# - img-src data: for the inline SVG favicon of index.html;
# - media-src 'self': recordings are streamed through the platform
#   (/api/analytics/calls/{id}/recording), never from the PBX directly;
# - connect-src adds the WebSocket scheme on this host (notify's /api/notify/ws): CSP 3
#   lets 'self' cover it, older browsers do not.
_POLICY = (
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "media-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
)

#: A Host header fit to be written into the policy: a name or an address, and a port.
_HOST = re.compile(r"^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$")


def content_security_policy(scheme: str, host: str | None) -> str:
    """The console's policy for a page reached over ``scheme`` at ``host``."""
    connect = "connect-src 'self'"
    if host and _HOST.match(host):
        connect += f" {'wss' if scheme == 'https' else 'ws'}://{host}"
    return "; ".join((*_POLICY, connect))


def security_headers(scheme: str, host: str | None) -> dict[str, str]:
    """Every header the gateway sets; HSTS only on a response that goes out over TLS."""
    headers = {
        "Content-Security-Policy": content_security_policy(scheme, host),
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "same-origin",
    }
    if scheme == "https":
        headers["Strict-Transport-Security"] = HSTS
    return headers


class SecurityHeaders:
    """Sets :func:`security_headers` on every HTTP response of ``app``.

    ``scope["scheme"]`` is what the connection was, after the trusted proxies' word (the
    proxy-headers middleware outside this one rewrites it only for them).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        host = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"host"), None)
        extra = security_headers(scope.get("scheme", "http"), host)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in extra.items():
                    headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)
