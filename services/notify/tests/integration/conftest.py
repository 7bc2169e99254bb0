"""Real notify replicas (uvicorn servers on free ports), real consoles, real Kafka input.

``replicas`` starts three notify servers in this process, one after the other (the first
migrates the database), each built by ``build_app`` with the same topic prefix, database
suffix, Redis prefix and consumer group — three pods of one deployment. ``Console`` is a
WebSocket client (the ``websockets`` library) that answers the server's pings and keeps
every message it got; ``Feed`` produces envelopes onto this run's topics.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest_asyncio
import uvicorn
import websockets
from aiokafka import AIOKafkaProducer
from aiokafka.partitioner import DefaultPartitioner

from switchboard_contracts import Event, OperatorChanged, make_envelope, message_key, topic_for
from switchboard_runtime.auth import Principal, issue_token
from switchboard_runtime.kafka import DEFAULT_PARTITIONS
from switchboard_runtime.testing import wait_until

#: Short heartbeats so that the idle-session test runs in seconds; consoles answer pings.
HEARTBEAT_SECONDS = 0.5
IDLE_TIMEOUT_SECONDS = 4.0
#: The one browser origin the replicas accept (clients that send no Origin are not browsers).
CONSOLE_ORIGIN = "https://console.clinic.test"


@dataclass
class Replica:
    """One running notify server."""

    port: int
    server: uvicorn.Server
    task: asyncio.Task[None]
    app: Any

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}/api/notify/ws"


async def start_replica(settings: Any) -> Replica:
    """Serve ``build_app(settings)`` with uvicorn on a free port of 127.0.0.1."""
    from switchboard_notify.bootstrap import build_app

    app = build_app(settings)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app,
        log_config=None,
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=5,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))

    async def started() -> bool:
        if task.done():
            task.result()  # raise what stopped it
            raise RuntimeError("notify replica exited during start")
        return server.started

    await wait_until(started, timeout=60, message="notify replica started")
    return Replica(port=port, server=server, task=task, app=app)


async def stop_replica(replica: Replica) -> None:
    """Shut a replica down (closing its WebSockets) and wait for it."""
    replica.server.should_exit = True
    with contextlib.suppress(Exception):
        await asyncio.wait_for(replica.task, timeout=30)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def replicas(settings_env: dict[str, str]) -> AsyncIterator[list[Replica]]:
    """Three notify replicas of one deployment."""
    from switchboard_notify.settings import NotifySettings

    started: list[Replica] = []
    try:
        for _ in range(3):
            settings = NotifySettings(
                heartbeat_seconds=HEARTBEAT_SECONDS,
                idle_timeout_seconds=IDLE_TIMEOUT_SECONDS,
                allowed_origins=CONSOLE_ORIGIN,
            )
            started.append(await start_replica(settings))
        async with httpx.AsyncClient() as client:
            for replica in started:

                async def ready(r: Replica = replica) -> bool:
                    return (await client.get(f"{r.http}/readyz")).status_code == 200

                await wait_until(ready, timeout=30, message="replica ready")
        yield started
    finally:
        for replica in started:
            await stop_replica(replica)


@pytest_asyncio.fixture(loop_scope="session")
async def feed(settings_env: dict[str, str], infra: Any) -> AsyncIterator[Feed]:
    """A producer of envelopes onto this run's topics."""
    producer = AIOKafkaProducer(bootstrap_servers=infra.kafka_bootstrap_servers, acks="all")
    await producer.start()
    try:
        yield Feed(producer, settings_env["TOPIC_PREFIX"])
    finally:
        await producer.stop()


class Feed:
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


def secret() -> str:
    """The run's AUTH_SECRET as notify reads it."""
    from switchboard_notify.settings import NotifySettings

    return NotifySettings().auth_secret.get_secret_value()


def token_for(operator_id: str, name: str, extension: str | None, role: str = "admin") -> str:
    """A signed session token, as booking's login would issue it."""
    return issue_token(
        Principal(
            operator_id=operator_id,
            name=name,
            role=role,  # type: ignore[arg-type]
            call_center_id="cc-1",
            extension=extension,
        ),
        secret(),
    )


@dataclass
class Operator:
    """A test operator: directory entry and token."""

    operator_id: str
    name: str
    extension: str | None
    token_extension: str | None = None
    active: bool = True

    @property
    def token(self) -> str:
        return token_for(self.operator_id, self.name, self.token_extension or self.extension)

    def changed(self) -> OperatorChanged:
        return OperatorChanged(
            operator_id=self.operator_id,
            name=self.name,
            role="admin",
            call_center_id="cc-1",
            extension=self.extension,
            active=self.active,
        )


def unique(prefix: str) -> str:
    """A short id unique to this test."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def unique_beside(call_id: str, prefix: str = "call") -> str:
    """A unique call id whose events share ``call_id``'s partition (the producer's default
    partitioner over the services' topic partitions), so notify handles them after the
    events of ``call_id`` sent before them: what a test uses as a marker."""
    partitioner = DefaultPartitioner()
    partitions = list(range(DEFAULT_PARTITIONS))
    wanted = partitioner(call_id.encode(), partitions, partitions)
    while True:
        candidate = unique(prefix)
        if partitioner(candidate.encode(), partitions, partitions) == wanted:
            return candidate


def unique_extension() -> str:
    """An extension number no other test uses."""
    return str(100_000 + uuid.uuid4().int % 900_000)


async def register_operators(feed: Feed, replica: Replica, operators: list[Operator]) -> None:
    """Publish the operators' OperatorChanged and wait until notify's directory has them."""
    await feed.send(*(op.changed() for op in operators), producer="booking")
    async with httpx.AsyncClient(base_url=replica.http) as client:
        for op in operators:

            async def known(op: Operator = op) -> bool:
                response = await client.get(
                    "/api/notify/me", headers={"Authorization": f"Bearer {op.token}"}
                )
                if not op.active:
                    return response.status_code == 403
                body = response.json()
                return body.get("extensions_source") == "directory" and body["extensions"] == (
                    [op.extension] if op.extension else []
                )

            await wait_until(known, timeout=60, message=f"directory knows {op.operator_id}")


@dataclass
class Console:
    """A console tab: a real WebSocket client that answers pings and keeps what it got."""

    url: str
    token: str
    label: str = ""
    messages: list[dict[str, Any]] = field(default_factory=list)
    raw: list[str] = field(default_factory=list)
    ws: Any = None
    reader: asyncio.Task[None] | None = None
    close_code: int | None = None

    async def open(self, *, wait_resumed: bool = True, query: str = "") -> Console:
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


@pytest_asyncio.fixture(loop_scope="session")
async def consoles() -> AsyncIterator[Callable[..., Console]]:
    """A factory of consoles, all closed at the end of the test."""
    made: list[Console] = []

    def make(replica: Replica, operator: Operator, label: str = "") -> Console:
        console = Console(replica.ws, operator.token, label or operator.operator_id)
        made.append(console)
        return console

    yield make
    for console in made:
        with contextlib.suppress(Exception):
            await console.close()
