"""Services served for real in a test: uvicorn on a free port, WebSocket clients, an event
feed that publishes contract events the way their producers do.

``start_server`` runs an app (``build_app(settings)`` of any service) in the test's event
loop on a free port of 127.0.0.1, so several replicas of one service, or several services,
can run side by side; ``WsClient`` is a console tab's WebSocket (it answers the server's
pings and keeps every message); ``EventFeed`` publishes envelopes onto this run's topics.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import uvicorn
import websockets
from aiokafka import AIOKafkaProducer

from switchboard_contracts import Event, make_envelope, message_key, topic_for
from switchboard_runtime.testing.waiting import wait_until

__all__ = ["EventFeed", "LiveServer", "WsClient", "start_server", "stop_server"]


@dataclass
class LiveServer:
    """One app served by uvicorn on 127.0.0.1."""

    port: int
    server: uvicorn.Server
    task: asyncio.Task[None]
    app: Any

    @property
    def http(self) -> str:
        """The server's base URL."""
        return f"http://127.0.0.1:{self.port}"

    def websocket(self, path: str) -> str:
        """The ``ws://`` URL of ``path`` on this server."""
        return f"ws://127.0.0.1:{self.port}{path}"


async def start_server(app: Any, *, timeout: float = 60) -> LiveServer:
    """Serve ``app`` (its lifespan included) on a free port; returns once it accepts."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app, log_config=None, access_log=False, lifespan="on", timeout_graceful_shutdown=5
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))

    async def started() -> bool:
        if task.done():
            task.result()  # raise what stopped it
            raise RuntimeError("server exited during start")
        return server.started

    await wait_until(started, timeout=timeout, message="server started")
    return LiveServer(port=port, server=server, task=task, app=app)


async def stop_server(live: LiveServer) -> None:
    """Shut a server down (closing its WebSockets) and wait for it."""
    live.server.should_exit = True
    with contextlib.suppress(Exception):
        await asyncio.wait_for(live.task, timeout=30)


class EventFeed:
    """Publishes events the way their producers would (envelope, topic, key)."""

    def __init__(self, producer: AIOKafkaProducer, prefix: str):
        self._producer = producer
        self._prefix = prefix

    async def send(self, *events: Event, producer: str = "test") -> None:
        """Publish ``events`` in order and wait for the broker's acknowledgements."""
        for event in events:
            envelope = make_envelope(event, producer=producer, occurred_at=datetime.now(UTC))
            await self._producer.send_and_wait(
                self._prefix + topic_for(event.event_type),
                envelope.to_bytes(),
                key=message_key(event).encode(),
            )


@dataclass
class WsClient:
    """A console tab: a real WebSocket client that answers pings and keeps what it got."""

    url: str
    token: str
    label: str = ""
    messages: list[dict[str, Any]] = field(default_factory=list)
    raw: list[str] = field(default_factory=list)
    ws: Any = None
    reader: asyncio.Task[None] | None = None
    close_code: int | None = None

    async def open(self, *, wait_resumed: bool = True, query: str = "") -> WsClient:
        """Connect (token in the query string) and wait for the replay to finish."""
        self.ws = await websockets.connect(f"{self.url}?token={self.token}{query}")
        self.reader = asyncio.create_task(self._read())
        if wait_resumed:
            await self.wait_for(lambda m: m["type"] == "resumed", message="resumed")
        return self

    async def _read(self) -> None:
        try:
            async for raw in self.ws:
                self.raw.append(raw)
                message = json.loads(raw)
                self.messages.append(message)
                if message["type"] == "ping":
                    await self.ws.send(json.dumps({"type": "pong"}))
        except websockets.ConnectionClosed:
            pass
        finally:
            self.close_code = self.ws.close_code

    async def send(self, message: dict[str, Any]) -> None:
        """Send one JSON message."""
        await self.ws.send(json.dumps(message))

    async def wait_for(
        self,
        predicate: Callable[[dict[str, Any]], bool],
        *,
        timeout: float = 30,
        message: str = "message",
    ) -> dict[str, Any]:
        """The first message matching ``predicate`` (waiting for it to arrive)."""

        async def probe() -> dict[str, Any] | None:
            return next((m for m in self.messages if predicate(m)), None)

        return await wait_until(probe, timeout=timeout, message=f"{self.label}: {message}")

    def about(self, call_id: str, kind: str | None = None) -> list[dict[str, Any]]:
        """Every message about ``call_id`` (of type ``kind`` if given)."""
        return [
            m
            for m in self.messages
            if m.get("call_id") == call_id and (kind is None or m["type"] == kind)
        ]

    async def close(self) -> None:
        """Disconnect."""
        if self.ws is not None:
            await self.ws.close()
        if self.reader is not None:
            with contextlib.suppress(Exception):
                await self.reader
