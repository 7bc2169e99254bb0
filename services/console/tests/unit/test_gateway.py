"""The gateway relaying to a stand-in service over real loopback sockets (HTTP and WebSocket)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI, Request, Response, WebSocket
from fastapi.responses import StreamingResponse
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from switchboard_console.bootstrap import build_app
from switchboard_console.settings import ConsoleSettings
from switchboard_runtime.testing import wait_until

pytestmark = pytest.mark.asyncio(loop_scope="session")


def stand_in_service() -> FastAPI:
    """Answers like a service: echoes what it was sent, sets cookies, streams, speaks WS."""
    app = FastAPI()

    @app.api_route("/api/booking/echo", methods=["GET", "POST"])
    async def echo(request: Request) -> dict[str, object]:
        return {
            "method": request.method,
            "query": str(request.url.query),
            "body": (await request.body()).decode(),
            "cookie": request.headers.get("cookie"),
            "authorization": request.headers.get("authorization"),
            "forwarded_for": request.headers.get("x-forwarded-for"),
        }

    @app.post("/api/booking/auth/login")
    async def login(response: Response) -> dict[str, str]:
        response.set_cookie("sb_session", "secret-of-anna", httponly=True)
        response.set_cookie("other", "2")
        return {"ok": "yes"}

    @app.get("/api/analytics/calls")
    async def csv() -> StreamingResponse:
        async def rows() -> AsyncIterator[str]:
            yield "call_id\r\n"
            for i in range(1000):
                yield f"c-{i}\r\n"

        return StreamingResponse(rows(), media_type="text/csv")

    @app.websocket("/api/notify/ws")
    async def ws(websocket: WebSocket) -> None:
        if websocket.cookies.get("sb_session") != "good":
            await websocket.close(code=4401)
            return
        await websocket.accept()
        await websocket.send_text('{"type":"hello"}')
        while True:
            text = await websocket.receive_text()
            if text == "bye":
                await websocket.close(code=4408, reason="idle")
                return
            await websocket.send_text(f"echo:{text}")

    return app


@contextlib.asynccontextmanager
async def serving(app: FastAPI, *, proxy_headers: bool = True) -> AsyncIterator[str]:
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host="127.0.0.1",
            port=0,
            log_config=None,
            ws="websockets-sansio",
            proxy_headers=proxy_headers,
        )
    )
    task = asyncio.create_task(server.serve())

    async def started() -> bool | None:
        return server.started or None

    await wait_until(started, timeout=10, message="server started")
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


@contextlib.asynccontextmanager
async def gateway(tmp_path: Path, upstream: str, **overrides: Any) -> AsyncIterator[str]:
    (tmp_path / "index.html").write_text("<!doctype html><title>console</title>")
    base = f"http://{upstream}"
    settings = ConsoleSettings(
        static_dir=tmp_path,
        booking_url=base,
        analytics_url=base,
        notify_url=base,
        telephony_url="http://127.0.0.1:9",  # nothing listens there
        log_json=False,
        **overrides,
    )
    # As `switchboard-console serve` runs it: forwarded headers are the app's to judge.
    async with serving(build_app(settings), proxy_headers=False) as address:
        yield address


async def test_http_is_relayed_with_body_query_and_session(tmp_path: Path) -> None:
    async with (
        serving(stand_in_service()) as upstream,
        gateway(tmp_path, upstream) as console,
        httpx.AsyncClient(base_url=f"http://{console}") as client,
    ):
        answer = await client.post(
            "/api/booking/echo?a=1&a=2",
            content=b'{"x": 1}',
            headers={"Cookie": "sb_session=tok", "Authorization": "Bearer tok"},
        )
        assert answer.status_code == 200
        assert answer.json() == {
            "method": "POST",
            "query": "a=1&a=2",
            "body": '{"x": 1}',
            "cookie": "sb_session=tok",
            "authorization": "Bearer tok",
            "forwarded_for": "127.0.0.1",
        }
        streamed = await client.get("/api/analytics/calls")
        assert streamed.text.splitlines()[:2] == ["call_id", "c-0"]
        assert len(streamed.text.splitlines()) == 1001


async def test_one_browsers_cookie_never_reaches_another(tmp_path: Path) -> None:
    async with (
        serving(stand_in_service()) as upstream,
        gateway(tmp_path, upstream) as console,
        httpx.AsyncClient(base_url=f"http://{console}") as anna,
        httpx.AsyncClient(base_url=f"http://{console}") as stranger,
    ):
        login = await anna.post("/api/booking/auth/login")
        assert login.headers.get_list("set-cookie")[0].startswith("sb_session=secret-of-anna")
        assert len(login.headers.get_list("set-cookie")) == 2
        seen = await stranger.get("/api/booking/echo")
        assert seen.json()["cookie"] is None


async def test_unknown_service_404_and_a_service_down_502(tmp_path: Path) -> None:
    async with (
        serving(stand_in_service()) as upstream,
        gateway(tmp_path, upstream) as console,
        httpx.AsyncClient(base_url=f"http://{console}") as client,
    ):
        assert (await client.get("/api/nothing/here")).status_code == 404
        down = await client.post("/api/telephony/pbx/events", content=b"[]")
        assert down.status_code == 502
        assert down.json() == {"detail": "the telephony service is unavailable"}
        page = await client.get("/calls?x=1")
        assert page.status_code == 200 and "<title>console</title>" in page.text
        assert (await client.get("/readyz")).status_code == 200


async def test_websocket_is_relayed_both_ways_with_close_codes(tmp_path: Path) -> None:
    async with serving(stand_in_service()) as upstream, gateway(tmp_path, upstream) as console:
        url = f"ws://{console}/api/notify/ws"
        async with connect(url, additional_headers={"Cookie": "sb_session=good"}) as ws:
            assert await ws.recv() == '{"type":"hello"}'
            await ws.send("take")
            assert await ws.recv() == "echo:take"
            await ws.send("bye")
            with pytest.raises(ConnectionClosed):
                await ws.recv()
            assert (ws.close_code, ws.close_reason) == (4408, "idle")

        # The stand-in refuses the handshake (Starlette answers a close before accept with
        # HTTP 403): the browser's socket closes with 4000 + that status.
        async with connect(url, additional_headers={"Cookie": "sb_session=bad"}) as refused:
            with pytest.raises(ConnectionClosed):
                await refused.recv()
            assert refused.close_code == 4403


# --- browser hardening ------------------------------------------------------------------------

POLICY = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "img-src": ["'self'", "data:"],
    "media-src": ["'self'"],
    "object-src": ["'none'"],
    "base-uri": ["'self'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
}


def directives(policy: str) -> dict[str, list[str]]:
    """A Content-Security-Policy header as directive → sources."""
    parts = (p.split() for p in policy.split(";") if p.strip())
    return {name: sources for name, *sources in parts}


async def test_every_answer_carries_the_security_headers(tmp_path: Path) -> None:
    async with (
        serving(stand_in_service()) as upstream,
        gateway(tmp_path, upstream) as console,
        httpx.AsyncClient(base_url=f"http://{console}") as client,
    ):
        answers = {
            "page": await client.get("/calls"),
            "relayed": await client.post("/api/booking/auth/login"),
            "streamed": await client.get("/api/analytics/calls"),
            "unknown service": await client.get("/api/nothing/here"),
            "missing asset": await client.get("/assets/gone.js"),
            "service down": await client.get("/api/telephony/dids"),
        }
        statuses = {name: a.status_code for name, a in answers.items()}
        assert statuses == {
            "page": 200,
            "relayed": 200,
            "streamed": 200,
            "unknown service": 404,
            "missing asset": 404,
            "service down": 502,
        }
        for name, answer in answers.items():
            assert directives(answer.headers["content-security-policy"]) == {
                **POLICY,
                "connect-src": ["'self'", f"ws://{console}"],
            }, name
            assert answer.headers["x-content-type-options"] == "nosniff", name
            assert answer.headers["x-frame-options"] == "DENY", name
            assert answer.headers["referrer-policy"] == "same-origin", name
            # Plain HTTP: no HSTS, and the session cookie is not Secure.
            assert "strict-transport-security" not in answer.headers, name
        assert len(answers["relayed"].headers.get_list("set-cookie")) == 2


async def test_hsts_only_when_a_trusted_proxy_says_tls(tmp_path: Path) -> None:
    says_tls = {"X-Forwarded-Proto": "https", "Host": "switchboard.example"}
    async with serving(stand_in_service()) as upstream:
        async with (
            gateway(tmp_path, upstream) as console,
            httpx.AsyncClient(base_url=f"http://{console}") as client,
        ):
            # Nobody is trusted by default: a client's own claim of TLS changes nothing.
            claimed = await client.get("/", headers=says_tls)
            assert "strict-transport-security" not in claimed.headers
            assert "ws://switchboard.example" in claimed.headers["content-security-policy"]
            echoed = await client.get("/api/booking/echo", headers=says_tls)
            assert echoed.json()["forwarded_for"] == "127.0.0.1"
        async with (
            gateway(tmp_path, upstream, trusted_proxies=["127.0.0.0/8"]) as console,
            httpx.AsyncClient(base_url=f"http://{console}") as client,
        ):
            page = await client.get("/", headers=says_tls)
            assert page.headers["strict-transport-security"] == "max-age=31536000"
            assert directives(page.headers["content-security-policy"])["connect-src"] == [
                "'self'",
                "wss://switchboard.example",
            ]
            relayed = await client.get("/api/booking/echo", headers=says_tls)
            assert relayed.headers["strict-transport-security"] == "max-age=31536000"
            # Without the proxy's word the same gateway answers plain HTTP as such.
            plain = await client.get("/")
            assert "strict-transport-security" not in plain.headers


async def test_a_host_header_cannot_write_into_the_policy(tmp_path: Path) -> None:
    async with (
        serving(stand_in_service()) as upstream,
        gateway(tmp_path, upstream) as console,
        httpx.AsyncClient(base_url=f"http://{console}") as client,
    ):
        answer = await client.get("/", headers={"Host": "evil.example; script-src *"})
        assert directives(answer.headers["content-security-policy"]) == {
            **POLICY,
            "connect-src": ["'self'"],
        }
