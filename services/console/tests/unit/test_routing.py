"""The gateway's pure rules: where a path goes, which headers pass."""

from __future__ import annotations

from pathlib import Path

import pytest

from switchboard_console.adapters.static import StaticBundle
from switchboard_console.domain.routing import (
    close_code_for_status,
    relayable_close_code,
    request_headers,
    resolve,
    response_headers,
    websocket_headers,
)

UPSTREAMS = {
    "booking": "http://127.0.0.1:8002",
    "crm": "http://crm.internal:8003/",
    "notify": "https://notify.internal",
}


def test_api_paths_go_to_their_service_with_path_and_query_unchanged() -> None:
    route = resolve("/api/booking/clients", "name=Olga&limit=5", UPSTREAMS)
    assert route is not None
    assert (route.service, route.url) == (
        "booking",
        "http://127.0.0.1:8002/api/booking/clients?name=Olga&limit=5",
    )
    crm = resolve("/api/crm/identify", "phone=%2B7916", UPSTREAMS)
    assert crm is not None and crm.url == "http://crm.internal:8003/api/crm/identify?phone=%2B7916"


def test_websockets_get_the_ws_scheme_of_their_base() -> None:
    route = resolve("/api/notify/ws", "", UPSTREAMS, websocket=True)
    assert route is not None and route.url == "wss://notify.internal/api/notify/ws"


@pytest.mark.parametrize(
    "path", ["/api/unknown/x", "/api", "/api/", "/other/booking", "/api/booking/../crm/identify"]
)
def test_unknown_or_escaping_paths_have_no_route(path: str) -> None:
    assert resolve(path, "", UPSTREAMS) is None


def test_request_headers_drop_hop_by_hop_and_add_forwarding() -> None:
    headers = request_headers(
        [
            ("Host", "console.example"),
            ("Connection", "keep-alive"),
            ("Cookie", "sb_session=abc"),
            ("Authorization", "Bearer t"),
            ("X-Forwarded-For", "10.0.0.1"),
            ("Content-Length", "12"),
            ("Content-Type", "application/json"),
        ],
        client="127.0.0.1",
        host="console.example",
        scheme="https",
    )
    assert headers == [
        ("Cookie", "sb_session=abc"),
        ("Authorization", "Bearer t"),
        ("Content-Type", "application/json"),
        ("X-Forwarded-For", "10.0.0.1, 127.0.0.1"),
        ("X-Forwarded-Host", "console.example"),
        ("X-Forwarded-Proto", "https"),
    ]


def test_response_headers_keep_every_set_cookie() -> None:
    kept = response_headers(
        [
            (b"set-cookie", b"a=1"),
            (b"set-cookie", b"b=2"),
            (b"transfer-encoding", b"chunked"),
            (b"content-length", b"10"),
            (b"content-type", b"text/csv"),
        ]
    )
    assert kept == [
        (b"set-cookie", b"a=1"),
        (b"set-cookie", b"b=2"),
        (b"content-type", b"text/csv"),
    ]


def test_websocket_handshake_forwards_the_session_only() -> None:
    assert websocket_headers(
        [("Cookie", "sb_session=x"), ("Origin", "http://evil"), ("Sec-WebSocket-Key", "k")],
        client="127.0.0.1",
    ) == [("Cookie", "sb_session=x"), ("X-Forwarded-For", "127.0.0.1")]


def test_close_codes() -> None:
    assert close_code_for_status(401) == 4401
    assert close_code_for_status(403) == 4403
    assert close_code_for_status(500) == 1011
    assert relayable_close_code(None) == 1000
    assert relayable_close_code(1005) == 1000
    assert relayable_close_code(1006) == 1011
    assert relayable_close_code(4408) == 4408


def test_static_bundle_serves_files_and_falls_back_to_index(tmp_path: Path) -> None:
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_text("<!doctype html><title>console</title>")
    (tmp_path / "assets" / "app-123.js").write_text("console.log(1)")
    (tmp_path.parent / "secret.txt").write_text("no")
    bundle = StaticBundle(tmp_path)
    asset = bundle.response("assets/app-123.js")
    assert asset.headers["cache-control"].endswith("immutable")
    spa = bundle.response("clients/42")
    assert spa.headers["cache-control"] == "no-cache"
    assert str(getattr(spa, "path", "")).endswith("index.html")
    assert bundle.response("assets/missing.js").status_code == 404
    escaped = bundle.response("../secret.txt")
    assert str(getattr(escaped, "path", "")).endswith("index.html")


def test_missing_bundle_says_how_to_build_it(tmp_path: Path) -> None:
    response = StaticBundle(tmp_path / "nothing").response("")
    assert response.status_code == 503
    assert b"make console-build" in response.body
