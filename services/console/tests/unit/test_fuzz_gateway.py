"""The gateway relays a path exactly as the client sent it, whatever it encodes.

An encoded control character used to be decoded into the upstream URL, which the HTTP
client refuses (a 500); an encoded "?" or "/" would have become a query or another
resource of the service. Checked over real sockets against a stand-in service that echoes
the path it received.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi import FastAPI, Request

from switchboard_console.bootstrap import build_app
from switchboard_console.settings import ConsoleSettings
from switchboard_runtime.testing import wait_until

pytestmark = pytest.mark.asyncio(loop_scope="session")


def echo_service() -> FastAPI:
    """Answers every booking path with the raw path and query it received."""
    app = FastAPI()

    @app.api_route("/api/booking/{rest:path}", methods=["GET", "POST"])
    async def echo(request: Request) -> dict[str, str]:
        return {
            "raw_path": request.scope["raw_path"].decode("latin-1"),
            "query": request.url.query,
        }

    return app


@contextlib.asynccontextmanager
async def serving(app: FastAPI) -> AsyncIterator[str]:
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_config=None))
    task = asyncio.create_task(server.serve())

    async def started() -> bool | None:
        return server.started or None

    await wait_until(started, timeout=10, message="server started")
    try:
        yield f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
    finally:
        server.should_exit = True
        await task


SENT = [
    "/api/booking/clients/%08",  # a control character
    "/api/booking/clients/%1F/notifications",
    "/api/booking/clients/a%3Fb",  # an encoded "?" is part of the id, not a query
    "/api/booking/clients/a%23b",  # an encoded "#" is not a fragment
    "/api/booking/clients/a%2Fb",  # an encoded "/" is not another resource
    "/api/booking/clients/%D0%90%D0%BD%D0%BD%D0%B0",  # UTF-8 ("Анна")
    "/api/booking/clients/%00",
]


async def test_encoded_paths_reach_the_service_as_sent(tmp_path: Path) -> None:
    (tmp_path / "index.html").write_text("<!doctype html><title>console</title>")
    async with serving(echo_service()) as upstream:
        settings = ConsoleSettings(static_dir=tmp_path, booking_url=upstream, log_json=False)
        async with (
            serving(build_app(settings)) as console,
            httpx.AsyncClient(base_url=console) as client,
        ):
            for path in SENT:
                response = await client.get(httpx.URL(console + path + "?q=1"))
                assert response.status_code == 200, (path, response.text)
                assert response.json() == {"raw_path": path, "query": "q=1"}
            # A path typed in another script arrives percent-encoded as UTF-8.
            raw = await client.get(httpx.URL(console + "/api/booking/clients/Анна"))
            assert raw.json()["raw_path"] == "/api/booking/clients/%D0%90%D0%BD%D0%BD%D0%B0"
