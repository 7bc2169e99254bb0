"""Real notify replicas (uvicorn servers on free ports), real consoles, real Kafka input.

``replicas`` starts three notify servers in this process, one after the other (the first
migrates the database), each built by ``build_app`` with the same topic prefix, database
suffix, Redis prefix and consumer group — three pods of one deployment. ``Console`` is the
runtime's WebSocket test client (it answers the server's pings and keeps every message it
got); ``Feed`` produces envelopes onto this run's topics.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest_asyncio
from aiokafka import AIOKafkaProducer
from aiokafka.partitioner import DefaultPartitioner

from switchboard_contracts import OperatorChanged
from switchboard_runtime.auth import Principal, issue_token
from switchboard_runtime.kafka import DEFAULT_PARTITIONS
from switchboard_runtime.testing import wait_until
from switchboard_runtime.testing.live import (
    EventFeed,
    LiveServer,
    WsClient,
    start_server,
    stop_server,
)

#: Short heartbeats so that the idle-session test runs in seconds; consoles answer pings.
HEARTBEAT_SECONDS = 0.5
IDLE_TIMEOUT_SECONDS = 4.0
#: The one browser origin the replicas accept (clients that send no Origin are not browsers).
CONSOLE_ORIGIN = "https://console.clinic.test"


class Replica(LiveServer):
    """One running notify server."""

    @property
    def ws(self) -> str:
        return self.websocket("/api/notify/ws")


async def start_replica(settings: Any) -> Replica:
    """Serve notify's ``build_app(settings)`` on a free port of 127.0.0.1."""
    from switchboard_notify.bootstrap import build_app

    live = await start_server(build_app(settings))
    return Replica(port=live.port, server=live.server, task=live.task, app=live.app)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def replicas(settings_env: dict[str, str]) -> AsyncIterator[list[Replica]]:
    """Three notify replicas of one deployment."""
    from switchboard_notify.settings import NotifySettings

    started: list[Replica] = []
    try:
        for _ in range(3):
            settings = NotifySettings(
                # Long enough that no test here sees a pop-up settled as unknown by the
                # bound before the identification it sends (test_identification_bound does).
                identification_timeout_seconds=60,
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
            await stop_server(replica)


@pytest_asyncio.fixture(loop_scope="session")
async def feed(settings_env: dict[str, str], infra: Any) -> AsyncIterator[EventFeed]:
    """A producer of envelopes onto this run's topics."""
    producer = AIOKafkaProducer(bootstrap_servers=infra.kafka_bootstrap_servers, acks="all")
    await producer.start()
    try:
        yield EventFeed(producer, settings_env["TOPIC_PREFIX"])
    finally:
        await producer.stop()


Feed = EventFeed


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


Console = WsClient


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
