"""Pure rules of the gateway: which service a path goes to, which headers pass through.

No I/O here: the adapters call these and the unit tests exercise them directly.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

#: Hop-by-hop headers (RFC 9110 §7.6.1) and ones the proxy itself must set.
_HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "trailers",
        "transfer-encoding",
        "upgrade",
    }
)
_REQUEST_DROP = _HOP_BY_HOP | {"host", "content-length"}
#: content-length is recomputed by the server when a streamed body is relayed.
_RESPONSE_DROP = _HOP_BY_HOP | {"content-length"}
#: What a WebSocket handshake forwards: the session and where it came from.
_WEBSOCKET_KEEP = frozenset({"cookie", "authorization", "user-agent", "accept-language"})


@dataclass(frozen=True)
class Route:
    """Where one ``/api/...`` request goes."""

    service: str
    url: str  # the upstream URL, path and query included


def resolve(
    path: str, query: str, upstreams: Mapping[str, str], *, websocket: bool = False
) -> Route | None:
    """The upstream for ``/api/<service>/...``; ``None`` for an unknown service.

    Services keep their ``/api/<service>`` prefix, so the path is passed unchanged.
    A WebSocket route gets the ``ws``/``wss`` scheme of its ``http``/``https`` base.
    """
    parts = path.split("/", 3)
    if len(parts) < 3 or parts[0] != "" or parts[1] != "api" or parts[2] not in upstreams:
        return None
    if ".." in path.split("/"):
        return None
    base = urlsplit(upstreams[parts[2]])
    scheme = base.scheme
    if websocket:
        scheme = {"http": "ws", "https": "wss"}.get(scheme, scheme)
    prefix = base.path.rstrip("/")
    return Route(parts[2], urlunsplit((scheme, base.netloc, prefix + path, query, "")))


def request_headers(
    headers: Iterable[tuple[str, str]], *, client: str | None, host: str | None, scheme: str
) -> list[tuple[str, str]]:
    """The client's headers minus hop-by-hop ones, plus ``X-Forwarded-*``."""
    out: list[tuple[str, str]] = []
    forwarded_for: list[str] = []
    for name, value in headers:
        lower = name.lower()
        if lower in _REQUEST_DROP or lower.startswith("x-forwarded-"):
            if lower == "x-forwarded-for":
                forwarded_for.append(value)
            continue
        out.append((name, value))
    if client:
        forwarded_for.append(client)
    if forwarded_for:
        out.append(("X-Forwarded-For", ", ".join(forwarded_for)))
    if host:
        out.append(("X-Forwarded-Host", host))
    out.append(("X-Forwarded-Proto", scheme))
    return out


def response_headers(headers: Iterable[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """The service's response headers to relay (every ``Set-Cookie`` kept)."""
    return [(k, v) for k, v in headers if k.decode("latin-1").lower() not in _RESPONSE_DROP]


def websocket_headers(
    headers: Iterable[tuple[str, str]], *, client: str | None
) -> list[tuple[str, str]]:
    """The handshake headers passed to the upstream WebSocket (the session, not the rest)."""
    out = [(n, v) for n, v in headers if n.lower() in _WEBSOCKET_KEEP]
    if client:
        out.append(("X-Forwarded-For", client))
    return out


def close_code_for_status(status: int) -> int:
    """The close code the browser gets when the upstream refuses the handshake.

    4000 + the HTTP status (4401 not logged in, 4403 forbidden), the convention for
    application close codes; 1011 for anything else.
    """
    return 4000 + status if 400 <= status < 500 else 1011


def relayable_close_code(code: int | None) -> int:
    """A close code that may be sent in a Close frame (1005/1006/1015 are reserved)."""
    if code is None or code in (1005, 1006, 1015) or not (1000 <= code <= 4999):
        return 1000 if code in (None, 1005) else 1011
    return code
